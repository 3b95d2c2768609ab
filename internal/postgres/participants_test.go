package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func pid(i int) string { return fmt.Sprintf("%024x", 0xfeed00+i) }

// joined is a participant of a fresh study of n towers, past consent and
// demographics.
func joined(t *testing.T, n int) (*postgres.Store, study.Study, study.Participant) {
	t.Helper()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "s", n)
	p, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 99, hashOf("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Consent(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveDemographics(ctx, p.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	return store, st, p
}

// truth reads the correct answer of a trial straight from the tables.
func truth(t *testing.T, store *postgres.Store, p study.Participant, pos int) string {
	t.Helper()
	var a string
	if err := store.Pool().QueryRow(context.Background(), `SELECT s.answer FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
		WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func flip(a string) string {
	if a == task.Yes {
		return task.No
	}
	return task.Yes
}

func TestJoin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("OrderFromSeed", func(t *testing.T) {
		t.Parallel()
		store, st, p := joined(t, 9)
		rows, err := store.Pool().Query(ctx, `SELECT s.ext_id FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 ORDER BY t.position`, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			got = append(got, id)
		}
		var want []string
		for _, j := range study.Order(99, 9) {
			want = append(want, fmt.Sprintf("t%02d", j+1))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || p.NTrials != 9 || st.ID != p.StudyID {
			t.Fatalf("trials %v, want %v from seed 99", got, want)
		}
	})
	t.Run("Resume", func(t *testing.T) {
		t.Parallel()
		store, st, p := joined(t, 3)
		again, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 12345, hashOf("tok2"))
		if err != nil || again.ID != p.ID || again.Seed != 99 {
			t.Fatalf("second join = %v (seed %d), %v; want the same participant, seed 99", again.ID, again.Seed, err)
		}
		if _, q, err := store.Session(ctx, st.Slug, hashOf("tok")); err != nil || q.ID != p.ID {
			t.Fatalf("first token no longer works: %v", err)
		}
	})
	t.Run("ResumeTakesNoPlace", func(t *testing.T) {
		t.Parallel()
		// A participant already there who opens the link again (another
		// browser) is resumed and holds their one place: on a full study,
		// and on a paused or published one with places free, where the
		// first attempt's claim must not stay counted.
		store, st, p := joined(t, 3)
		for _, c := range []struct {
			places int
			status study.Status
		}{{1, study.Paused}, {5, study.Paused}, {5, study.Published}, {1, study.Published}} {
			pgtest.SetPlaces(t, store.Pool(), st.ID, c.places)
			pgtest.SetStudyStatus(t, store.Pool(), st.ID, c.status)
			for k := range 2 {
				again, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 5, hashOf(fmt.Sprint("tok", c.places, c.status, k)))
				if err != nil || again.ID != p.ID {
					t.Fatalf("resume on a %s study of %d places = %v, %v; want %v", c.status, c.places, again.ID, err, p.ID)
				}
				if used := placesUsed(t, store, st.ID); used != 1 {
					t.Fatalf("places used after resume %d on a %s study of %d places: %d, want 1", k+1, c.status, c.places, used)
				}
			}
		}
	})
	t.Run("ConcurrentFirstOpens", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		st := pgtest.NewStudy(t, store, "c", 4)
		var wg sync.WaitGroup
		ids := make([]uuid.UUID, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				p, err := store.Join(ctx, st, prolific.Params{PID: pid(7)}, int64(i), hashOf(fmt.Sprint("t", i)))
				ids[i], errs[i] = p.ID, err
			})
		}
		wg.Wait()
		for i := range 20 {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("join %d = %v, %v; want %v", i, ids[i], errs[i], ids[0])
			}
		}
		var n, trials int
		_ = pool.QueryRow(ctx, `SELECT count(*), (SELECT count(*) FROM trials) FROM participants`).Scan(&n, &trials)
		if n != 1 || trials != 4 {
			t.Fatalf("%d participants with %d trials, want 1 with 4", n, trials)
		}
		if used := placesUsed(t, store, st.ID); used != 1 {
			t.Fatalf("places used after 20 openings of one link: %d, want 1", used)
		}
	})
	t.Run("ErrPlacesTaken", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		st := pgtest.NewStudy(t, store, "p", 2)
		st.Places = 1
		pgtest.SetPlaces(t, pool, st.ID, 1)
		if _, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("a")); err != nil {
			t.Fatal(err)
		}
		_, err := store.Join(ctx, st, prolific.Params{PID: pid(2)}, 1, hashOf("b"))
		if problem.Code(err) != problem.EGONE {
			t.Fatalf("second participant on one place: %v, want EGONE", err)
		}
	})
	t.Run("ErrNotPublished", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		st := pgtest.NewStudy(t, store, "d", 2)
		pgtest.SetStudyStatus(t, pool, st.ID, study.Paused)
		if _, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("a")); problem.Code(err) != problem.EGONE {
			t.Fatalf("join on a paused study: %v, want EGONE", err)
		}
	})
	t.Run("ErrSessionOfOtherStudy", func(t *testing.T) {
		t.Parallel()
		store, _, _ := joined(t, 2)
		if _, _, err := store.Session(ctx, "other", hashOf("tok")); problem.Code(err) != problem.EUNAUTHORIZED {
			t.Fatalf("token used on another study: %v, want EUNAUTHORIZED", err)
		}
	})
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rt := 700
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 4)
		for pos := 1; pos <= 4; pos++ {
			if _, err := store.ShowTrial(ctx, p, pos); err != nil {
				t.Fatal(err)
			}
			a := truth(t, store, p, pos)
			if pos == 2 {
				a = flip(a)
			}
			r, err := store.Answer(ctx, p.ID, pos, a, &rt)
			if err != nil {
				t.Fatalf("answer %d: %v", pos, err)
			}
			if r.Correct != (pos != 2) || r.Completed != (pos == 4) || *r.BrowserRTMs != 700 || r.ServerRTMs < 0 {
				t.Fatalf("answer %d = %+v", pos, r)
			}
		}
		var status string
		var bonus int64
		var nc int
		_ = store.Pool().QueryRow(ctx, `SELECT status, bonus_minor, n_correct FROM participants WHERE id = $1`, p.ID).Scan(&status, &bonus, &nc)
		if status != "completed" || nc != 3 || bonus != 30 {
			t.Fatalf("after the last answer: %s, %d correct, bonus %d; want completed, 3, 30", status, nc, bonus)
		}
	})
	t.Run("BonusCapped", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 3)
		if _, err := store.Pool().Exec(ctx, `UPDATE studies SET max_bonus_minor = 25`); err != nil {
			t.Fatal(err)
		}
		for pos := 1; pos <= 3; pos++ {
			_, _ = store.ShowTrial(ctx, p, pos)
			if _, err := store.Answer(ctx, p.ID, pos, truth(t, store, p, pos), nil); err != nil {
				t.Fatal(err)
			}
		}
		var bonus int64
		_ = store.Pool().QueryRow(ctx, `SELECT bonus_minor FROM participants WHERE id = $1`, p.ID).Scan(&bonus)
		if bonus != 25 {
			t.Fatalf("bonus %d, want the cap 25", bonus)
		}
	})
	t.Run("AttentionChecksEarnNothing", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		st := pgtest.NewStudy(t, store, "a", 4)
		var check uuid.UUID
		_ = pool.QueryRow(ctx, `SELECT id FROM stimuli WHERE ext_id = 't01'`).Scan(&check)
		if _, err := pool.Exec(ctx, `UPDATE studies SET attention_check_ids = ARRAY[$1::uuid]`, check); err != nil {
			t.Fatal(err)
		}
		st.AttentionCheckIDs = []uuid.UUID{check}
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 5, hashOf("x"))
		if err != nil {
			t.Fatal(err)
		}
		var checks int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM trials WHERE participant_id = $1 AND is_attention_check AND stimulus_id = $2`, p.ID, check).Scan(&checks)
		if p.NTrials != 4 || checks != 1 {
			t.Fatalf("%d trials, %d attention checks; want 4 and 1", p.NTrials, checks)
		}
		_ = store.Consent(ctx, p.ID)
		_ = store.SaveDemographics(ctx, p.ID, nil, "")
		for pos := 1; pos <= 4; pos++ {
			_, _ = store.ShowTrial(ctx, p, pos)
			if _, err := store.Answer(ctx, p.ID, pos, truth(t, store, p, pos), nil); err != nil {
				t.Fatal(err)
			}
		}
		var bonus int64
		_ = pool.QueryRow(ctx, `SELECT bonus_minor FROM participants WHERE id = $1`, p.ID).Scan(&bonus)
		if bonus != 30 {
			t.Fatalf("bonus %d, want 30 (3 counted items x 10; the check earns nothing)", bonus)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 3)
		_, _ = store.ShowTrial(ctx, p, 1)
		first, err := store.Answer(ctx, p.ID, 1, task.Yes, &rt)
		if err != nil {
			t.Fatal(err)
		}
		other := 5
		again, err := store.Answer(ctx, p.ID, 1, task.No, &other)
		if err != nil || again.Answer != task.Yes || *again.BrowserRTMs != 700 || again.Correct != first.Correct {
			t.Fatalf("second answer to 1 = %+v, %v; want the stored Yes unchanged", again, err)
		}
		var n int
		_ = store.Pool().QueryRow(ctx, `SELECT count(*) FROM responses`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d responses, want 1", n)
		}
	})
	t.Run("ConcurrentDuplicates", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 3)
		_, _ = store.ShowTrial(ctx, p, 1)
		var wg sync.WaitGroup
		answers := make([]string, 16)
		for i := range 16 {
			wg.Go(func() {
				a := task.Yes
				if i%2 == 1 {
					a = task.No
				}
				r, err := store.Answer(ctx, p.ID, 1, a, nil)
				if err != nil {
					t.Error(err)
				}
				answers[i] = r.Answer
			})
		}
		wg.Wait()
		for _, a := range answers {
			if a != answers[0] {
				t.Fatalf("concurrent answers returned %v; every one must return the one stored", answers)
			}
		}
		var n, answered int
		_ = store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM responses), n_answered FROM participants`).Scan(&n, &answered)
		if n != 1 || answered != 1 {
			t.Fatalf("%d responses, n_answered %d; want 1, 1", n, answered)
		}
	})
	t.Run("ErrOutOfOrder", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 4)
		_, _ = store.ShowTrial(ctx, p, 1)
		for _, pos := range []int{2, 3, 5, 0, -1} {
			if _, err := store.Answer(ctx, p.ID, pos, task.Yes, nil); problem.Code(err) != problem.ECONFLICT {
				t.Fatalf("answer to %d before 1: %v, want ECONFLICT", pos, err)
			}
		}
		var n int
		_ = store.Pool().QueryRow(ctx, `SELECT count(*) FROM responses`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d responses after refused answers, want 0", n)
		}
	})
	t.Run("ErrNotShown", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 2)
		if _, err := store.Answer(ctx, p.ID, 1, task.Yes, nil); problem.Code(err) != problem.ECONFLICT {
			t.Fatalf("answer to a trial never shown: %v, want ECONFLICT", err)
		}
	})
	t.Run("ErrInactive", func(t *testing.T) {
		t.Parallel()
		store, _, p := joined(t, 2)
		_, _ = store.ShowTrial(ctx, p, 1)
		pgtest.SetParticipantStatus(t, store.Pool(), study.Returned, p.ID)
		if _, err := store.Answer(ctx, p.ID, 1, task.Yes, nil); problem.Code(err) != problem.EGONE {
			t.Fatalf("answer after return: %v, want EGONE", err)
		}
	})
	t.Run("ErrTimeUp", func(t *testing.T) {
		t.Parallel()
		store, st, p := joined(t, 2)
		_, _ = store.ShowTrial(ctx, p, 1)
		// One second inside the limit the answer counts; past it, before any
		// sweep, and after the sweep, it is refused as time up.
		limit := time.Duration(st.TimeLimitMinutes) * time.Minute
		pgtest.StartedAgo(t, store.Pool(), limit-time.Second, p.ID)
		if _, err := store.Answer(ctx, p.ID, 1, task.Yes, nil); err != nil {
			t.Fatalf("answer just inside the limit: %v", err)
		}
		_, _ = store.ShowTrial(ctx, p, 2)
		pgtest.StartedAgo(t, store.Pool(), limit+time.Second, p.ID)
		if _, err := store.Answer(ctx, p.ID, 2, task.Yes, nil); problem.Code(err) != problem.ETIMEUP {
			t.Fatalf("answer past the limit, before the sweep: %v, want ETIMEUP", err)
		}
		if n, err := store.SweepTimeouts(ctx); n != 1 || err != nil {
			t.Fatalf("sweep: %d, %v", n, err)
		}
		if _, err := store.Answer(ctx, p.ID, 2, task.Yes, nil); problem.Code(err) != problem.ETIMEUP {
			t.Fatalf("answer after the sweep: %v, want ETIMEUP", err)
		}
		// The answer given in time is still returned as stored.
		if r, err := store.Answer(ctx, p.ID, 1, task.No, nil); err != nil || r.Answer != task.Yes {
			t.Fatalf("replay of the answer in time: %+v, %v", r, err)
		}
		var n int
		_ = store.Pool().QueryRow(ctx, `SELECT count(*) FROM responses`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d responses, want only the one in time", n)
		}
	})
	t.Run("ErrOtherParticipantsTrial", func(t *testing.T) {
		t.Parallel()
		store, st, p := joined(t, 2)
		other, err := store.Join(ctx, st, prolific.Params{PID: pid(2)}, 3, hashOf("other"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = store.ShowTrial(ctx, p, 1)
		// The other participant never saw a trial; p's shown trial is not theirs.
		if _, err := store.Answer(ctx, other.ID, 1, task.Yes, nil); problem.Code(err) != problem.ECONFLICT {
			t.Fatalf("answer by a participant whose trial was not shown: %v", err)
		}
	})
}

func TestImportSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("Idempotent", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		in := pgtest.TowerSet("towers", 5)
		id1, created1, err1 := store.ImportSet(ctx, in)
		id2, created2, err2 := store.ImportSet(ctx, in)
		if err1 != nil || err2 != nil || !created1 || created2 || id1 != id2 {
			t.Fatalf("imports: (%v %v %v), (%v %v %v)", id1, created1, err1, id2, created2, err2)
		}
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM stimuli`).Scan(&n)
		if n != 5 {
			t.Fatalf("%d stimuli, want 5", n)
		}
	})
	t.Run("ErrDifferentContent", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		if _, _, err := store.ImportSet(ctx, pgtest.TowerSet("towers", 5)); err != nil {
			t.Fatal(err)
		}
		changed := pgtest.TowerSet("towers", 5)
		changed.Items[2].Answer = flip(changed.Items[2].Answer)
		if _, _, err := store.ImportSet(ctx, changed); problem.Code(err) != problem.ECONFLICT {
			t.Fatalf("import of changed content: %v, want ECONFLICT", err)
		}
	})
	t.Run("ErrAllOrNothing", func(t *testing.T) {
		t.Parallel()
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		in := pgtest.TowerSet("dup", 4)
		in.Items[3].ExtID = in.Items[0].ExtID
		if _, _, err := store.ImportSet(ctx, in); problem.Code(err) != problem.EINVALID {
			t.Fatalf("import with a duplicate id: %v, want EINVALID", err)
		}
		var sets, items int
		_ = pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM stimulus_sets), (SELECT count(*) FROM stimuli)`).Scan(&sets, &items)
		if sets != 0 || items != 0 {
			t.Fatalf("a failed import left %d sets and %d stimuli", sets, items)
		}
	})
	t.Run("FromFolder", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "mini")
		_ = os.MkdirAll(filepath.Join(dir, "images"), 0o755)
		manifest := "id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\n" +
			"p1,pyramid,6,3,2,Yes,test,pair1,images/p1.png\n" +
			"p1r,pyramid-removed,5,3,2,No,test,pair1,images/p1r.png\n"
		scenes := `{"id":"p1","domain":"pyramid","blocks":[],"red":0,"answer":"Yes"}` + "\n" +
			`{"id":"p1r","domain":"pyramid-removed","blocks":[],"red":null,"answer":"No"}` + "\n"
		_ = os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(manifest), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "scenes.jsonl"), []byte(scenes), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "images", "p1.png"), pgtest.PNG(1), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "images", "p1r.png"), pgtest.PNG(2), 0o644)
		set, err := stimulus.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		in, err := postgres.ReadSet(set)
		if err != nil {
			t.Fatal(err)
		}
		_, pool := pgtest.New(t)
		store := postgres.NewStore(pool)
		if _, _, err := store.ImportSet(ctx, in); err != nil {
			t.Fatal(err)
		}
		var size, redRow int
		var img []byte
		var ct, sceneDomain string
		err = pool.QueryRow(ctx, `SELECT size, red_row, image, content_type, scene->>'domain' FROM stimuli WHERE ext_id = 'p1r'`).
			Scan(&size, &redRow, &img, &ct, &sceneDomain)
		if err != nil || size != 3 || redRow != 2 || !bytes.Equal(img, pgtest.PNG(2)) || ct != "image/png" || sceneDomain != "pyramid-removed" {
			t.Fatalf("stored p1r: size %d red_row %d ct %q scene %q err %v", size, redRow, ct, sceneDomain, err)
		}
	})
}

// The bonus the answer statement stores (SQL LEAST) is study.Pay.Bonus of
// the correct answers, attention checks not counted, over several pay rules.
func TestStoredBonusIsPayBonus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("bonus-set", 6))
	if err != nil {
		t.Fatal(err)
	}
	check, err := store.StimulusIDs(ctx, setID, []string{"t06"})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		correct         int // of the 5 items; the attention check is always answered right
		perCorrect, max int64
	}{
		{3, 10, 100}, // under the cap
		{5, 10, 40},  // capped
		{4, 10, 40},  // exactly at the cap
		{0, 10, 100}, // nothing right
		{5, 0, 100},  // no bonus per answer
		{5, 25, 0},   // no bonus at all
		{2, 7, 13},   // capped at an odd amount
	} {
		st := study.Study{
			Slug: fmt.Sprintf("bonus%d", i), Title: "Bonus", Domain: task.Tower, SetID: setID, Design: study.Fixed,
			ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, AttentionCheckIDs: check,
			ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE", Status: study.Published,
			Pay: study.Pay{BaseMinor: 100, PerCorrectMinor: c.perCorrect, MaxBonusMinor: c.max, Currency: "GBP"},
		}
		if err := store.CreateStudy(ctx, &st); err != nil {
			t.Fatal(err)
		}
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(100 + i)}, int64(i), hashOf(st.Slug))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Consent(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.SaveDemographics(ctx, p.ID, nil, ""); err != nil {
			t.Fatal(err)
		}
		right := 0
		for pos := 1; pos <= p.NTrials; pos++ {
			if _, err := store.ShowTrial(ctx, p, pos); err != nil {
				t.Fatal(err)
			}
			var isCheck bool
			if err := pool.QueryRow(ctx, `SELECT is_attention_check FROM trials WHERE participant_id = $1 AND position = $2`,
				p.ID, pos).Scan(&isCheck); err != nil {
				t.Fatal(err)
			}
			a := truth(t, store, p, pos)
			if !isCheck {
				if right == c.correct {
					a = flip(a)
				} else {
					right++
				}
			}
			if _, err := store.Answer(ctx, p.ID, pos, a, nil); err != nil {
				t.Fatal(err)
			}
		}
		var stored int64
		if err := pool.QueryRow(ctx, `SELECT bonus_minor FROM participants WHERE id = $1`, p.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if want := st.Pay.Bonus(c.correct); stored != want || right != c.correct {
			t.Errorf("%d correct at %d each, at most %d: stored bonus %d, Pay.Bonus %d (%d answered right)",
				c.correct, c.perCorrect, c.max, stored, want, right)
		}
	}
}

// TestJoinTimesOutLateFirst: on a full study whose place is held by a
// participant past the time limit, before the sweeper has run, a join times
// them out and takes the place (and their slots), keeping the count exact.
func TestJoinTimesOutLateFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, design := range []study.Design{study.Fixed, study.Pool} {
		t.Run(string(design), func(t *testing.T) {
			t.Parallel()
			_, pool := pgtest.New(t)
			store := postgres.NewStore(pool)
			st := pgtest.NewStudy(t, store, "late", 4)
			if design == study.Pool {
				st = poolStudy(t, store, 4, 2, 1)
			}
			pgtest.SetPlaces(t, pool, st.ID, 1)
			first, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("a"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.Join(ctx, st, prolific.Params{PID: pid(2)}, 2, hashOf("b")); problem.Code(err) != problem.EGONE {
				t.Fatalf("join to a full study: %v, want EGONE", err)
			}
			pgtest.StartedAgo(t, pool, time.Duration(st.TimeLimitMinutes+1)*time.Minute, first.ID)
			second, err := store.Join(ctx, st, prolific.Params{PID: pid(2)}, 2, hashOf("b"))
			if err != nil {
				t.Fatalf("join with the place held past the time limit: %v", err)
			}
			var status study.ParticipantStatus
			var used, held int
			if err := pool.QueryRow(ctx, `SELECT (SELECT status FROM participants WHERE id = $1),
				(SELECT sum(used) FROM study_place_shards WHERE study_id = $2),
				(SELECT count(*) FROM pool_slots WHERE participant_id = $3)`, first.ID, st.ID, second.ID).Scan(&status, &used, &held); err != nil {
				t.Fatal(err)
			}
			if status != study.TimedOut || used != 1 {
				t.Errorf("first participant %s, %d places used; want timed_out, 1", status, used)
			}
			if design == study.Pool && held != 2 {
				t.Errorf("the new participant holds %d slots, want 2", held)
			}
		})
	}
}

// placesUsed is the places a study's shards count as taken.
func placesUsed(t *testing.T, store *postgres.Store, studyID uuid.UUID) int {
	t.Helper()
	var used int
	if err := store.Pool().QueryRow(context.Background(), `SELECT sum(used) FROM study_place_shards WHERE study_id = $1`, studyID).Scan(&used); err != nil {
		t.Fatal(err)
	}
	return used
}
