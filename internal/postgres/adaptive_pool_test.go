package postgres_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
		var demanded *string
		if err := store.Pool().QueryRow(ctx, `SELECT s.ext_id, t.instructed_answer FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&ext, &demanded); err != nil {
			t.Fatal(err)
		}
		a := answer(ext)
		if demanded != nil {
			a = *demanded // an instructed check, answered as it asks
		}
		if _, err := store.Answer(ctx, p.ID, pos, a, nil); err != nil {
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

	start := time.Now()
	in := joinAll(t, store, st, 1000, 1200)
	t.Logf("200 concurrent joins on the adaptive pool: %v", time.Since(start).Round(time.Millisecond))
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

// TestExtraAnswersFollowStudy holds the claim's SQL order equal to
// study.Disagreement: an adaptive pool of 12 items (R_min 1, R_max 4, K 3)
// is answered at random, one participant at a time; before each join in the
// extra phase the test works out from the tables, with the Go rule, which
// items the join must get (highest p(1-p), then fewest answers held, then
// lowest id, among items with their first R_min held and a slot free), and
// the join gets exactly those. Each participant also gets two instructed
// checks on their own pictures, answered as they ask: those answers are no
// judgement of the picture and count for no item.
func TestExtraAnswersFollowStudy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	const n, k, rmin, rmax = 12, 3, 1, 4
	st := adaptiveStudy(t, store, n, k, rmin, rmax, n*rmax)
	if _, err := pool.Exec(ctx, `UPDATE studies SET instructed_checks = 2 WHERE id = $1`, st.ID); err != nil {
		t.Fatal(err)
	}
	st.InstructedChecks = 2
	rng := rand.New(rand.NewPCG(18, 3))
	randomly := func(string) string { return []string{task.Yes, task.No}[rng.IntN(2)] }
	for i := range n * rmin / k {
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("first", i)))
		if err != nil {
			t.Fatal(err)
		}
		answerAs(t, store, p, randomly)
	}
	type item struct {
		id           uuid.UUID
		yes, n, held int
		free         bool
	}
	checked := 0
	for i := 100; i < 112; i++ {
		rows, err := pool.Query(ctx, `
			SELECT ps.stimulus_id, count(ps.participant_id), bool_or(ps.participant_id IS NULL),
				(SELECT count(*) FROM trials t JOIN responses r USING (participant_id, position) JOIN participants p ON p.id = t.participant_id
				 WHERE p.study_id = $1 AND p.status IN ('completed', 'approved') AND t.stimulus_id = ps.stimulus_id AND t.instructed_answer IS NULL),
				(SELECT count(*) FROM trials t JOIN responses r USING (participant_id, position) JOIN participants p ON p.id = t.participant_id
				 WHERE p.study_id = $1 AND p.status IN ('completed', 'approved') AND t.stimulus_id = ps.stimulus_id AND t.instructed_answer IS NULL
				   AND r.answer = 'Yes')
			FROM pool_slots ps WHERE ps.study_id = $1 GROUP BY ps.stimulus_id`, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		var items []item
		for rows.Next() {
			var it item
			if err := rows.Scan(&it.id, &it.held, &it.free, &it.n, &it.yes); err != nil {
				t.Fatal(err)
			}
			if it.free {
				items = append(items, it)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(items, func(a, b item) int {
			return cmp.Or(cmp.Compare(study.Disagreement(b.yes, b.n), study.Disagreement(a.yes, a.n)),
				cmp.Compare(a.held, b.held), bytes.Compare(a.id[:], b.id[:]))
		})
		var want []uuid.UUID
		for _, it := range items[:min(k, len(items))] {
			want = append(want, it.id)
		}
		p, err := store.Join(ctx, st, prolific.Params{PID: pid(i)}, int64(i), hashOf(fmt.Sprint("extra", i)))
		if len(want) == 0 {
			if problem.Code(err) != problem.EGONE {
				t.Fatalf("join with no extra slot left: %v", err)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows, err = pool.Query(ctx, `SELECT stimulus_id FROM trials WHERE participant_id = $1 AND instructed_answer IS NULL`, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		slices.SortFunc(want, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
		if !slices.Equal(got, want) {
			t.Fatalf("join %d got items %v, the rule says %v", i, got, want)
		}
		checked++
		answerAs(t, store, p, randomly)
	}
	if checked < 5 {
		t.Errorf("only %d joins checked", checked)
	}
}
