package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// poolStudy creates a draft pool study on n towers, K per participant and R
// answers per item, and publishes it, which makes its slots.
func poolStudy(t testing.TB, store *postgres.Store, n, k, r int) study.Study {
	t.Helper()
	ctx := context.Background()
	setID, _, err := store.ImportSet(ctx, tinySet(n))
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "pool", Title: "Pool", Domain: task.Tower, SetID: setID, Design: study.Pool,
		ItemsPerParticipant: k, ResponsesPerItem: r, Places: 10000, TimeLimitMinutes: 30,
		ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE",
		Pay:    study.Pay{BaseMinor: 100, PerCorrectMinor: 5, MaxBonusMinor: 100, Currency: "GBP"},
		Status: study.Draft,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if err := store.SetStudyStatus(ctx, st.ID, study.Published); err != nil {
		t.Fatal(err)
	}
	st.Status = study.Published
	return st
}

// tinySet is pgtest.TowerSet with a few bytes for each image: the pool
// tests and benchmarks never look at the pictures, and 10,000 real PNGs take
// minutes to encode.
func tinySet(n int) postgres.SetImport {
	in := pgtest.TowerSet("pool-set", min(n, 2))
	item := in.Items[0]
	in.Items = in.Items[:0]
	for i := range n {
		it := item
		it.ExtID, it.File, it.Image = fmt.Sprintf("t%05d", i+1), fmt.Sprintf("images/t%05d.png", i+1), []byte{byte(i)}
		it.Answer = task.No
		if i%2 == 0 {
			it.Answer = task.Yes
		}
		in.Items = append(in.Items, it)
	}
	return in
}

// joinAll joins participants from..to-1 at once and returns who got in.
func joinAll(t *testing.T, store *postgres.Store, st study.Study, from, to int) []study.Participant {
	t.Helper()
	var mu sync.Mutex
	var in []study.Participant
	var wg sync.WaitGroup
	for i := from; i < to; i++ {
		wg.Go(func() {
			p, err := store.Join(context.Background(), st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("tok", i)))
			switch {
			case err == nil:
				mu.Lock()
				in = append(in, p)
				mu.Unlock()
			case problem.Code(err) == problem.EGONE:
			default:
				t.Errorf("join %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return in
}

// answerN answers a participant's first n trials (correctly).
func answerN(t *testing.T, store *postgres.Store, p study.Participant, n int) {
	t.Helper()
	ctx := context.Background()
	if err := store.Consent(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveDemographics(ctx, p.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	for pos := 1; pos <= n; pos++ {
		if _, err := store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Answer(ctx, p.ID, pos, truth(t, store, p, pos), nil); err != nil {
			t.Fatalf("answer %d of %s: %v", pos, p.PID, err)
		}
	}
}

// checkBound checks the invariants straight from the tables: no item has
// more than R answers that count (of participants who finished), every
// answer of a participant still at work or finished holds a slot, and every
// held slot matches a trial of its participant.
func checkBound(t *testing.T, store *postgres.Store, st study.Study) {
	t.Helper()
	ctx := context.Background()
	q := func(what, sql string) {
		var n int
		if err := store.Pool().QueryRow(ctx, sql, st.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s: %d", what, n)
		}
	}
	q("items with more than R answers that count", `SELECT count(*) FROM (
		SELECT t.stimulus_id FROM responses r JOIN trials t USING (participant_id, position)
		JOIN participants p ON p.id = t.participant_id WHERE p.study_id = $1 AND p.status IN ('completed', 'approved')
		GROUP BY t.stimulus_id HAVING count(*) > (SELECT responses_per_item FROM studies WHERE id = $1)) x`)
	q("answered trials without a held slot", `SELECT count(*) FROM responses r JOIN trials t USING (participant_id, position)
		JOIN participants p ON p.id = t.participant_id
		WHERE p.study_id = $1 AND p.status IN ('started', 'completed', 'approved') AND NOT t.is_attention_check AND NOT EXISTS (SELECT 1 FROM pool_slots ps
			WHERE ps.participant_id = t.participant_id AND ps.stimulus_id = t.stimulus_id)`)
	q("held slots without a trial", `SELECT count(*) FROM pool_slots ps WHERE ps.study_id = $1
		AND ps.participant_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM trials t
			WHERE t.participant_id = ps.participant_id AND t.stimulus_id = ps.stimulus_id)`)
	q("started participants whose trials lack slots", `SELECT count(*) FROM trials t JOIN participants p ON p.id = t.participant_id
		WHERE p.study_id = $1 AND p.status = 'started' AND NOT t.is_attention_check AND NOT EXISTS (SELECT 1 FROM pool_slots ps
			WHERE ps.participant_id = t.participant_id AND ps.stimulus_id = t.stimulus_id)`)
}

// TestPoolConcurrentJoins: 200 participants join a pool of 60 items x R=2 at
// once, with K=5: exactly 24 fit. Then some return, time out or are rejected
// midway, all their items go back (answered ones too, since their answers do
// not count), later joins take exactly those, a finisher is rejected and a
// newcomer takes their items, and at the end every item has exactly R
// answers that count.
func TestPoolConcurrentJoins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const n, k, r = 60, 5, 2
	st := poolStudy(t, store, n, k, r)

	in := joinAll(t, store, st, 0, 200)
	if len(in) != n*r/k {
		t.Fatalf("%d participants got in, want %d", len(in), n*r/k)
	}
	for _, p := range in {
		if p.NTrials != k {
			t.Errorf("%s has %d trials, want %d", p.PID, p.NTrials, k)
		}
	}
	ps, err := store.PoolState(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Items != n || ps.Slots != n*r || ps.Held != n*r {
		t.Errorf("pool after the rush: %+v, want %d items, %d slots all held", ps, n, n*r)
	}
	checkBound(t, store, st)
	// A join after the pool is full gets the "no places left" error.
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(999)}, 1, hashOf("late")); problem.Code(err) != problem.EGONE {
		t.Errorf("join on a full pool: %v, want EGONE", err)
	}

	// in[0..2] return after 2 answers, in[3..4] time out after 1, in[5] is
	// rejected after 3; everyone else finishes.
	for i, p := range in {
		switch {
		case i < 3:
			answerN(t, store, p, 2)
			if err := store.ActOnParticipant(ctx, st.ID, p.ID, postgres.MarkReturned, ""); err != nil {
				t.Fatal(err)
			}
		case i < 5:
			answerN(t, store, p, 1)
			pgtest.StartedAgo(t, pool, 31*time.Minute, p.ID)
		case i == 5:
			answerN(t, store, p, 3)
			if err := store.ActOnParticipant(ctx, st.ID, p.ID, postgres.Reject, "did not read"); err != nil {
				t.Fatal(err)
			}
		default:
			answerN(t, store, p, k)
		}
	}
	swept, err := store.SweepTimeouts(ctx)
	if err != nil || swept != 2 {
		t.Fatalf("sweep: %d, %v; want 2", swept, err)
	}
	if again, err := store.SweepTimeouts(ctx); err != nil || again != 0 {
		t.Errorf("second sweep: %d, %v; want 0 (idempotent)", again, err)
	}
	// A timed-out participant can no longer answer.
	if _, err := store.Answer(ctx, in[3].ID, 2, task.Yes, nil); err == nil {
		t.Error("a timed-out participant's answer was accepted")
	}
	freed := 6 * k
	if ps, _ = store.PoolState(ctx, st); ps.Held != n*r-freed {
		t.Errorf("held after returns: %d, want %d", ps.Held, n*r-freed)
	}
	checkBound(t, store, st)

	// 100 more join at once and take exactly the freed slots.
	late := joinAll(t, store, st, 200, 300)
	want := (freed + k - 1) / k
	if len(late) != want {
		t.Fatalf("%d late participants got in, want %d", len(late), want)
	}
	got := 0
	for _, p := range late {
		got += p.NTrials
		answerN(t, store, p, p.NTrials)
	}
	if got != freed {
		t.Errorf("late participants hold %d items, want the %d freed", got, freed)
	}
	checkBound(t, store, st)

	// A finisher rejected afterwards gives their items back too, and the
	// next participant answers them again.
	if err := store.ActOnParticipant(ctx, st.ID, in[6].ID, postgres.Reject, "answered at random"); err != nil {
		t.Fatal(err)
	}
	if ps, _ = store.PoolState(ctx, st); ps.Held != n*r-k || ps.Answered != n*r-k || ps.ByAnswers[r-1] != k {
		t.Errorf("after rejecting a finisher: %+v; want %d slots free and %d items one answer short", ps, k, k)
	}
	again, err := store.Join(ctx, st, prolific.Params{PID: pid(400)}, 400, hashOf("again"))
	if err != nil || again.NTrials != k {
		t.Fatalf("join after the rejection: %+v, %v", again, err)
	}
	answerN(t, store, again, k)
	checkBound(t, store, st)

	ps, _ = store.PoolState(ctx, st)
	if ps.Answered != n*r || ps.ByAnswers[r] != n {
		t.Errorf("at the end: %+v; want every item with exactly %d answers that count", ps, r)
	}
	var total int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM responses`).Scan(&total)
	if left := 3*2 + 2*1 + 3 + k; total != n*r+left {
		t.Errorf("%d answers stored, want %d that count and the %d of those who left", total, n*r, left)
	}
	var items strings.Builder
	if err := store.WriteItemCountsCSV(ctx, st.ID, &items); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(items.String()), "\n")
	if len(lines) != 1+n || lines[0] != "stimulus_id,size,correct_answer,slots,held,answers,correct,yes" {
		t.Fatalf("items CSV: %d lines, header %q", len(lines), lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if f[3] != "2" || f[4] != "2" || f[5] != "2" || f[6] != "2" { // everyone answered correctly
			t.Errorf("items CSV line %q: want 2 slots, held, answered and correct", l)
		}
	}
}

// A fixed-design study is untouched by the pool: no slots, every item.
func TestFixedHasNoSlots(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "fixed", 6)
	p, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("a"))
	if err != nil || p.NTrials != 6 {
		t.Fatalf("join: %+v, %v", p, err)
	}
	var slots int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM pool_slots`).Scan(&slots)
	if slots != 0 {
		t.Errorf("%d slots for a fixed study", slots)
	}
}

func TestActionsAndSweepRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := poolStudy(t, store, 20, 4, 1)
	ps := joinAll(t, store, st, 0, 3)
	if len(ps) != 3 {
		t.Fatalf("%d joined", len(ps))
	}
	a, b := ps[0], ps[1]
	for _, tc := range []struct {
		name   string
		p      study.Participant
		act    postgres.Action
		reason string
		code   string
	}{
		{"approve a started participant", a, postgres.Approve, "", problem.ECONFLICT},
		{"reject without a reason", a, postgres.Reject, "", problem.EINVALID},
		{"unknown action", a, postgres.Action("delete"), "", problem.EINVALID},
		{"participant of another study", study.Participant{ID: uuid.New()}, postgres.MarkReturned, "", problem.ENOTFOUND},
		{"return", a, postgres.MarkReturned, "", ""},
		{"return twice", a, postgres.MarkReturned, "", problem.ECONFLICT},
	} {
		err := store.ActOnParticipant(ctx, st.ID, tc.p.ID, tc.act, tc.reason)
		if problem.Code(err) != tc.code {
			t.Errorf("%s: %v, want code %q", tc.name, err, tc.code)
		}
	}
	answerN(t, store, b, 4)
	if err := store.ActOnParticipant(ctx, st.ID, b.ID, postgres.Approve, ""); err != nil {
		t.Errorf("approve a completed participant: %v", err)
	}
	// A completed participant past the time limit is not timed out.
	pgtest.StartedAgo(t, pool, 2*time.Hour)
	if n, err := store.SweepTimeouts(ctx); err != nil || n != 1 {
		t.Errorf("sweep: %d, %v; want only the one started participant", n, err)
	}
}

// Declining consent returns the participant and frees their slots at once;
// someone who already consented cannot decline.
func TestDeclineConsent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const n, k = 8, 4
	st := poolStudy(t, store, n, k, 1)
	ps := joinAll(t, store, st, 0, 2)
	if len(ps) != 2 {
		t.Fatalf("%d joined, want 2 (the pool holds %d items of %d)", len(ps), n, k)
	}
	a, b := ps[0], ps[1]
	if err := store.Consent(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if err := store.DeclineConsent(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	status := func(p study.Participant) (s string, held int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM pool_slots WHERE participant_id = $1)
			FROM participants WHERE id = $1`, p.ID).Scan(&s, &held); err != nil {
			t.Fatal(err)
		}
		return s, held
	}
	if s, held := status(a); s != "returned" || held != 0 {
		t.Errorf("after declining: %s holding %d slots, want returned holding none", s, held)
	}
	if s, held := status(b); s != "started" || held != k {
		t.Errorf("a consented participant's decline: %s holding %d slots, want started holding %d", s, held, k)
	}
	c, err := store.Join(ctx, st, prolific.Params{PID: pid(9)}, 9, hashOf("c"))
	if err != nil || c.NTrials != k {
		t.Fatalf("join after the decline: %+v, %v; want the %d freed items", c, err, k)
	}
	checkBound(t, store, st)
}
