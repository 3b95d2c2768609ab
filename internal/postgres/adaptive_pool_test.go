package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// adaptiveStudy publishes an adaptive pool of n towers: K per participant,
// R_min and R_max answers per item, a budget of answers in all.
func adaptiveStudy(t *testing.T, store *postgres.Store, n, k, rmin, rmax, budget int) study.Study {
	t.Helper()
	ctx := context.Background()
	setID, _, err := store.ImportSet(ctx, tinySet(n))
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "adaptive", Title: "Adaptive pool", Domain: task.Tower, SetID: setID, Design: study.Pool,
		ItemsPerParticipant: k, ResponsesPerItem: rmin, MaxResponsesPerItem: rmax, AnswerBudget: budget,
		Places: 10000, TimeLimitMinutes: 30, ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE",
		Pay: study.Pay{BaseMinor: 100, Currency: "GBP"}, Status: study.Draft,
	}
	if err := st.CheckAdaptive(n); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if err := store.SetStudyStatus(ctx, st.ID, study.Published); err != nil {
		t.Fatal(err)
	}
	if st, err = store.StudyByID(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if !st.Adaptive() || st.MaxResponsesPerItem != rmax || st.AnswerBudget != budget {
		t.Fatalf("stored study %+v is not the adaptive pool made", st)
	}
	return st
}

// answerAs makes p consent and answer every trial, item ext getting
// answer(ext).
func answerAs(t *testing.T, store *postgres.Store, p study.Participant, answer func(ext string) string) {
	t.Helper()
	ctx := context.Background()
	if err := store.Consent(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveDemographics(ctx, p.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	for pos := 1; pos <= p.NTrials; pos++ {
		if _, err := store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		var ext string
		if err := store.Pool().QueryRow(ctx, `SELECT s.ext_id FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Answer(ctx, p.ID, pos, answer(ext), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAdaptivePoolConcurrentJoins: an adaptive pool of 40 items, K = 4,
// R_min = 2, R_max = 5, a budget of 140 answers (60 extra). Twenty people
// give every item its first 2 answers: on 8 items they disagree (one Yes,
// one No), on the rest they agree. Then 200 people join at once: exactly 15
// get in (60 extra answers / 4), no item goes above R_max, the 60 extra
// answers are exactly the budget, and the 8 disagreed items are filled to
// R_max (24 extras) before any agreed item gets one. The first 2 answers
// of every item came before any extra one.
func TestAdaptivePoolConcurrentJoins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const n, k, rmin, rmax, budget = 40, 4, 2, 5, 140
	st := adaptiveStudy(t, store, n, k, rmin, rmax, budget)
	disagreed := map[string]bool{}
	for i := 1; i <= 8; i++ {
		disagreed[fmt.Sprintf("t%05d", 5*i)] = true
	}
	seen := map[string]int{}
	for i := range n * rmin / k {
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("first", i)))
		if err != nil {
			t.Fatal(err)
		}
		if p.NTrials != k {
			t.Fatalf("first-round participant %d has %d trials", i, p.NTrials)
		}
		answerAs(t, store, p, func(ext string) string {
			seen[ext]++
			if disagreed[ext] && seen[ext] == 2 {
				return task.No
			}
			return task.Yes
		})
	}
	for ext, c := range seen {
		if c != rmin {
			t.Fatalf("after the first round %s has %d answers, want %d", ext, c, rmin)
		}
	}

	in := joinAll(t, store, st, 1000, 1200)
	if want := (budget - n*rmin) / k; len(in) != want {
		t.Fatalf("%d of 200 got in, want %d", len(in), want)
	}
	for _, p := range in {
		if p.NTrials != k {
			t.Errorf("%s has %d trials, want %d", p.PID, p.NTrials, k)
		}
	}
	rows, err := pool.Query(ctx, `SELECT s.ext_id, count(ps.participant_id), count(ps.participant_id) FILTER (WHERE ps.replica > $2)
		FROM pool_slots ps JOIN stimuli s ON s.id = ps.stimulus_id WHERE ps.study_id = $1 GROUP BY s.ext_id`, st.ID, rmin)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	extras, agreedExtras := 0, 0
	for rows.Next() {
		var ext string
		var held, extra int
		if err := rows.Scan(&ext, &held, &extra); err != nil {
			t.Fatal(err)
		}
		if held > rmax {
			t.Errorf("%s holds %d answers, above R_max %d", ext, held, rmax)
		}
		if disagreed[ext] && held != rmax {
			t.Errorf("disagreed item %s holds %d answers, want R_max %d", ext, held, rmax)
		}
		if !disagreed[ext] {
			agreedExtras += extra
		}
		extras += extra
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if extras != budget-n*rmin {
		t.Errorf("%d extra answers held, want the budget's %d", extras, budget-n*rmin)
	}
	if want := budget - n*rmin - 8*(rmax-rmin); agreedExtras != want {
		t.Errorf("%d extra answers on agreed items, want %d (after the disagreed items are full)", agreedExtras, want)
	}
	// Each newcomer's items are distinct; a join past the budget is refused.
	var dup int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT participant_id FROM pool_slots WHERE study_id = $1 AND participant_id IS NOT NULL
		GROUP BY participant_id, stimulus_id HAVING count(*) > 1) x`, st.ID).Scan(&dup); err != nil || dup != 0 {
		t.Errorf("%d participants hold an item twice (%v)", dup, err)
	}
	if _, err := store.Join(ctx, st, prolific.Params{PID: pid(5000)}, 1, hashOf("late")); problem.Code(err) != problem.EGONE {
		t.Errorf("join past the budget: %v, want EGONE", err)
	}
	ps, err := store.PoolState(ctx, st)
	if err != nil || ps.Slots != budget || ps.Free != 0 || ps.Held != budget {
		t.Errorf("pool state %+v (%v): want the budget's %d slots, all held", ps, err, budget)
	}

	// When the newcomers finish, the pool is complete: every answer the
	// budget allows is in.
	for _, p := range in {
		answerAs(t, store, p, func(string) string { return task.Yes })
	}
	if moved, err := store.CompleteAnsweredPools(ctx, st.ID); err != nil || moved != 1 {
		t.Errorf("complete pools: %d, %v; want the adaptive pool complete", moved, err)
	}
}

// TestAdaptiveRules: the numbers of an adaptive pool, refused by field.
func TestAdaptiveRules(t *testing.T) {
	t.Parallel()
	base := study.Study{Design: study.Pool, ItemsPerParticipant: 4, ResponsesPerItem: 2, MaxResponsesPerItem: 5, AnswerBudget: 140, Places: 35}
	if err := base.CheckAdaptive(40); err != nil {
		t.Fatal(err)
	}
	if got := base.PoolPlaces(40); got != 35 {
		t.Errorf("places of an adaptive pool: %d, want ceil(140 / 4) = 35", got)
	}
	if base.SlotsPerItem() != 5 || base.ExtraAnswers(40) != 60 || base.PoolAnswers(100) != 140 || base.ExtraAnswers(100) != 0 {
		t.Errorf("slots %d, extras %d", base.SlotsPerItem(), base.ExtraAnswers(40))
	}
	for _, c := range []struct {
		rmax, budget int
		field        string
	}{{2, 140, "Most answers per item (R_max)"}, {5, 0, "Budget of answers"}, {5, 79, "Budget of answers"}} {
		st := base
		st.MaxResponsesPerItem, st.AnswerBudget = c.rmax, c.budget
		err := st.CheckAdaptive(40)
		if problem.Code(err) != problem.EINVALID || problem.Message(err)[:len(c.field)] != c.field {
			t.Errorf("R_max %d, budget %d: %v, want a refusal naming %s", c.rmax, c.budget, err, c.field)
		}
	}
}
