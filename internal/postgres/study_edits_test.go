package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// Two experimenters open the same draft; the first saves, and the second's
// save, made from the older form, is refused with what the first changed
// and who changed it, and changes nothing.
func TestEditStudyStale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "stale", 4)
	if _, err := pool.Exec(ctx, `UPDATE studies SET status = $2 WHERE id = $1`, st.ID, string(study.Draft)); err != nil {
		t.Fatal(err)
	}
	st.Status = study.Draft
	if st.Version != 1 {
		t.Fatalf("a new study has version %d, want 1", st.Version)
	}
	a, b := st, st
	a.Places = 80
	saved, err := store.EditStudy(ctx, postgres.StudyEdit{Study: a, Version: 1, Actor: "ann@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if saved.Version != 2 || saved.Places != 80 {
		t.Fatalf("after the first save: version %d, places %d", saved.Version, saved.Places)
	}
	b.Title = "Bob's title"
	_, err = store.EditStudy(ctx, postgres.StudyEdit{Study: b, Version: 1, Actor: "bob@example.org"})
	if !postgres.IsStale(err) {
		t.Fatalf("a save from version 1 after version 2: %v, want a stale refusal", err)
	}
	msg := problem.Message(err)
	for _, want := range []string{"ann@example.org", "places 100 → 80", "not saved"} {
		if !strings.Contains(msg, want) {
			t.Errorf("stale message %q does not say %q", msg, want)
		}
	}
	now, err := store.StudyByID(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Title != st.Title || now.Places != 80 || now.Version != 2 {
		t.Errorf("after the refused save: title %q, places %d, version %d", now.Title, now.Places, now.Version)
	}
	// The same save from the new version goes through, and both are logged.
	if _, err := store.EditStudy(ctx, postgres.StudyEdit{Study: func() study.Study { c := now; c.Title = "Bob's title"; return c }(), Version: 2, Actor: "bob@example.org"}); err != nil {
		t.Fatal(err)
	}
	log, err := store.StudyChanges(ctx, st.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Actor != "bob@example.org" || !strings.Contains(log[0].What, "title") || log[1].What != "places 100 → 80" {
		t.Errorf("log = %+v", log)
	}
	// A save that changes nothing leaves the version alone.
	again, err := store.StudyByID(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if same, err := store.EditStudy(ctx, postgres.StudyEdit{Study: again, Version: again.Version, Actor: "x"}); err != nil || same.Version != again.Version {
		t.Errorf("an empty save: version %d, %v; want %d", same.Version, err, again.Version)
	}
}

// A published study changes places (up, and down to no fewer than taken),
// its time limit and its texts while it runs; participants keep the texts
// they joined under. Anything else is refused, naming the field.
func TestEditRunningStudy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "running", 4)
	early, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("early"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 3; i++ {
		if _, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("p", i))); err != nil {
			t.Fatal(err)
		}
	}
	edit := func(change func(*study.Study)) (study.Study, error) {
		cur, err := store.StudyByID(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		next := cur
		change(&next)
		return store.EditStudy(ctx, postgres.StudyEdit{Study: next, Version: cur.Version, Actor: "ann@example.org"})
	}

	if _, err := edit(func(s *study.Study) { s.Places = 2 }); problem.Code(err) != problem.ECONFLICT ||
		!strings.Contains(problem.Message(err), "below the 3 people") {
		t.Errorf("places below the 3 taken: %v", err)
	}
	if _, err := edit(func(s *study.Study) { s.Places = 3 }); err != nil {
		t.Errorf("places down to the 3 taken: %v", err)
	}
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(4)}, 4, hashOf("p4")); problem.Code(err) != problem.EGONE {
		t.Errorf("a fourth join at 3 places: %v, want refused", err)
	}
	if _, err := edit(func(s *study.Study) { s.Places = 4 }); err != nil {
		t.Errorf("places up: %v", err)
	}
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(4)}, 4, hashOf("p4")); err != nil {
		t.Errorf("a fourth join at 4 places: %v", err)
	}
	if _, err := edit(func(s *study.Study) { s.TimeLimitMinutes = 45 }); err != nil {
		t.Errorf("time limit: %v", err)
	}
	if _, err := edit(func(s *study.Study) { s.Pay.PerCorrectMinor = 99 }); problem.Code(err) != problem.ECONFLICT ||
		!strings.Contains(problem.Message(err), "pay") {
		t.Errorf("pay of a running study: %v, want refused naming pay", err)
	}
	newText, err := edit(func(s *study.Study) { s.ConsentText = "New consent, typo fixed." })
	if err != nil {
		t.Fatal(err)
	}
	if newText.TextVersion != 2 {
		t.Errorf("text version after a text change: %d, want 2", newText.TextVersion)
	}
	late, err := store.Join(ctx, st, prolific.Params{PID: pid(9)}, 9, hashOf("late"))
	if problem.Code(err) != problem.EGONE {
		t.Fatalf("join at full places: %v", err)
	}
	if _, err := edit(func(s *study.Study) { s.Places = 10 }); err != nil {
		t.Fatal(err)
	}
	if late, err = store.Join(ctx, st, prolific.Params{PID: pid(9)}, 9, hashOf("late")); err != nil {
		t.Fatal(err)
	}
	_, pe, err := store.Session(ctx, st.Slug, hashOf("early"))
	if err != nil {
		t.Fatal(err)
	}
	stEarly, _, _ := store.Session(ctx, st.Slug, hashOf("early"))
	stLate, pl, err := store.Session(ctx, st.Slug, hashOf("late"))
	if err != nil {
		t.Fatal(err)
	}
	if pe.ID != early.ID || pe.TextVersion != 1 || stEarly.ConsentText != st.ConsentText {
		t.Errorf("the early participant: text version %d, consent %q; want 1 and the first text", pe.TextVersion, stEarly.ConsentText)
	}
	if pl.ID != late.ID || pl.TextVersion != 2 || stLate.ConsentText != "New consent, typo fixed." {
		t.Errorf("the late participant: text version %d, consent %q; want 2 and the new text", pl.TextVersion, stLate.ConsentText)
	}
	log, err := store.StudyChanges(ctx, st.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, c := range log {
		whats = append(whats, c.What)
	}
	all := strings.Join(whats, "\n")
	for _, want := range []string{"places 100 → 3", "places 3 → 4", "time limit 30 min → 45 min", "consent text changed"} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q:\n%s", want, all)
		}
	}

	// Closed: no edit; archive keeps the data; a draft copy; delete only drafts.
	if err := store.MoveStudy(ctx, st.ID, study.Closed, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := edit(func(s *study.Study) { s.Places = 11 }); problem.Code(err) != problem.ECONFLICT {
		t.Errorf("edit of a closed study: %v", err)
	}
	if err := store.DeleteStudy(ctx, st.ID); problem.Code(err) != problem.ECONFLICT {
		t.Errorf("delete of a closed study: %v", err)
	}
	if err := store.ArchiveStudy(ctx, st.ID, true, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	arch, err := store.StudyByID(ctx, st.ID)
	if err != nil || arch.ArchivedAt == nil {
		t.Fatalf("archived: %v %v", arch.ArchivedAt, err)
	}
	cp, err := store.DuplicateStudy(ctx, st.ID, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Status != study.Draft || cp.Slug != "running-copy" || cp.Places != 10 || cp.ConsentText != "New consent, typo fixed." || cp.ArchivedAt != nil {
		t.Errorf("copy: %+v", cp)
	}
	cp2, err := store.DuplicateStudy(ctx, st.ID, "bob@example.org")
	if err != nil || cp2.Slug != "running-copy-2" {
		t.Errorf("second copy: %q %v", cp2.Slug, err)
	}
	if err := store.DeleteStudy(ctx, cp2.ID); err != nil {
		t.Errorf("delete a draft: %v", err)
	}
	if _, err := store.StudyByID(ctx, cp2.ID); problem.Code(err) != problem.ENOTFOUND {
		t.Errorf("the deleted draft: %v", err)
	}
	var answersKept int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM participants WHERE study_id = $1`, st.ID).Scan(&answersKept); err != nil || answersKept != 5 {
		t.Errorf("participants of the archived study: %d %v, want 5", answersKept, err)
	}
}

// TestPlacesLowerWhileJoining: 500 people join a 600-place study while an
// experimenter lowers places to 20 more than were taken a moment ago. The
// lowering never goes below those taken (when more joins committed first it
// is refused and tried again with the new count), and once it succeeds
// exactly the new places are admitted: the participants holding a place are
// exactly the places, and every shard is within its cap, the caps adding up
// to places. Raising again admits exactly
// the new places.
func TestPlacesLowerWhileJoining(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "lower", 3)
	// The experimenter's requests come through a pool of their own, as from
	// another server process: not queued behind the joins for a connection.
	adminPool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adminPool.Close)
	admin := postgres.NewStore(adminPool)
	pgtest.SetPlaces(t, pool, st.ID, 600)
	st.Places = 600
	// A first wave takes 200 places; then a second wave of 600 (more than
	// are left) starts, and the places are lowered while it runs. Demand
	// always exceeds the places, so whatever the timing the places end full:
	// exactly as many admitted as the lowered number.
	const first, people = 200, 800
	if in := joinAll(t, store, st, 0, first); len(in) != first {
		t.Fatalf("first wave: %d of %d admitted", len(in), first)
	}
	var admitted, refused atomic.Int64
	admitted.Add(first)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := first; i < people; i++ {
		wg.Go(func() {
			<-start
			_, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("low", i)))
			switch {
			case err == nil:
				admitted.Add(1)
			case problem.Code(err) == problem.EGONE:
				refused.Add(1)
			default:
				t.Errorf("join %d: %v", i, err)
			}
		})
	}
	close(start)
	var lowered, tries int
	for tries = 0; ; tries++ {
		taken, err := admin.PlacesTaken(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := admin.StudyByID(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		next := cur
		next.Places = taken + 20 + 20*tries // more room each time joins overtake the count
		if next.Places >= 600 {
			t.Fatalf("the second wave filled the study before the places could be lowered (%d tries)", tries)
		}
		_, err = admin.EditStudy(ctx, postgres.StudyEdit{Study: next, Version: cur.Version, Actor: "lowerer"})
		if err == nil {
			lowered = next.Places
			break
		}
		if problem.Code(err) != problem.ECONFLICT {
			t.Fatal(err)
		}
	}
	wg.Wait()
	t.Logf("lowered to %d after %d refused tries; %d admitted, %d refused", lowered, tries, admitted.Load(), refused.Load())
	check := func(want int) {
		t.Helper()
		var holding, used, caps, places, over int
		if err := pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM participants WHERE study_id = $1 AND place_shard IS NOT NULL),
			(SELECT sum(used) FROM study_place_shards WHERE study_id = $1),
			(SELECT sum(cap) FROM study_place_shards WHERE study_id = $1),
			(SELECT places FROM studies WHERE id = $1),
			(SELECT count(*) FROM study_place_shards WHERE study_id = $1 AND used > cap)`, st.ID).
			Scan(&holding, &used, &caps, &places, &over); err != nil {
			t.Fatal(err)
		}
		if holding != want || used != want || places != want || caps != want || over != 0 {
			t.Errorf("%d holding a place, %d counted, places %d, caps add up to %d, %d shards over; want %d", holding, used, places, caps, over, want)
		}
	}
	if int(admitted.Load()) != lowered || lowered <= first || lowered >= 600 {
		t.Errorf("%d admitted, places lowered to %d", admitted.Load(), lowered)
	}
	check(lowered)

	// Raise by 10: of 20 more, exactly 10 get in.
	cur, err := store.StudyByID(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	next := cur
	next.Places = lowered + 10
	if _, err := store.EditStudy(ctx, postgres.StudyEdit{Study: next, Version: cur.Version, Actor: "raiser"}); err != nil {
		t.Fatal(err)
	}
	if in := joinAll(t, store, st, people, people+20); len(in) != 10 {
		t.Errorf("after raising by 10, %d of 20 got in", len(in))
	}
	check(lowered + 10)
}

// A pool study whose every slot is answered by people who finished moves to
// complete by itself (once, logged); before that it stays published.
func TestPoolCompletes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := poolStudy(t, store, 4, 2, 1)
	in := joinAll(t, store, st, 0, 2)
	if len(in) != 2 {
		t.Fatalf("%d joined", len(in))
	}
	answerN(t, store, in[0], 2)
	answerN(t, store, in[1], 1)
	if n, err := store.CompleteAnsweredPools(ctx, uuid.Nil); err != nil || n != 0 {
		t.Fatalf("with one slot still held: %d moved, %v", n, err)
	}
	answerN2 := func(p study.Participant, pos int) {
		if _, err := store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Answer(ctx, p.ID, pos, truth(t, store, p, pos), nil); err != nil {
			t.Fatal(err)
		}
	}
	answerN2(in[1], 2)
	if n, err := store.CompleteAnsweredPools(ctx, st.ID); err != nil || n != 1 {
		t.Fatalf("every slot answered: %d moved, %v", n, err)
	}
	if n, err := store.CompleteAnsweredPools(ctx, uuid.Nil); err != nil || n != 0 {
		t.Fatalf("again: %d moved, %v", n, err)
	}
	now, err := store.StudyByID(ctx, st.ID)
	if err != nil || now.Status != study.Complete {
		t.Fatalf("status %q, %v; want complete", now.Status, err)
	}
	if _, err := store.Join(ctx, now, prolific.Params{PID: pid(99)}, 99, hashOf("late")); problem.Code(err) != problem.EGONE {
		t.Errorf("a join to a complete study: %v", err)
	}
	log, err := store.StudyChanges(ctx, st.ID, 5)
	if err != nil || len(log) == 0 || !strings.Contains(log[0].What, "every slot is answered") {
		t.Errorf("log %+v %v", log, err)
	}
	if err := store.ArchiveStudy(ctx, st.ID, true, "ann"); err != nil {
		t.Errorf("archive a complete study: %v", err)
	}
}
