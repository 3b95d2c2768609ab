package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// Saving the stopping rule a study already has, armed, changes and logs
// nothing; a new rule is logged once; saving the rule again after it fired
// arms it again (and is logged).
func TestSetStopRuleLogsChangesOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "rule", 4)
	logged := func() int {
		t.Helper()
		ch, err := store.StudyChanges(ctx, st.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(ch)
	}
	rule := study.StopRule{Measure: study.StopAccuracy, Width: 0.1}
	for i, c := range []struct {
		rule study.StopRule
		want int
	}{
		{study.StopRule{}, 0}, // off, as it was
		{rule, 1},
		{rule, 1},             // the same, armed
		{study.StopRule{}, 2}, // off again
		{study.StopRule{}, 2},
	} {
		if err := store.SetStopRule(ctx, st.ID, c.rule, "ada@example.org"); err != nil {
			t.Fatal(err)
		}
		if n := logged(); n != c.want {
			t.Errorf("save %d (%+v): %d changes logged, want %d", i, c.rule, n, c.want)
		}
	}
	if err := store.SetStopRule(ctx, st.ID, rule, "ada@example.org"); err != nil {
		t.Fatal(err)
	}
	if fired, err := store.FireStopRule(ctx, st.ID, rule, "narrow enough"); err != nil || !fired {
		t.Fatalf("fire: %v %v", fired, err)
	}
	before := logged()
	if err := store.SetStopRule(ctx, st.ID, rule, "ada@example.org"); err != nil {
		t.Fatal(err)
	}
	if n := logged(); n != before+1 {
		t.Errorf("re-arming a fired rule logged %d changes, want 1", n-before)
	}
}

// The live read leaves out instructed checks as LoadMatrix does: they repeat
// one of the person's item pictures but ask for a set answer, so fed to the
// live comparison they would stand for a second judgement of that item.
func TestLiveSinceLeavesOutInstructedChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("live-ic", 6))
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "live-ic", Title: "Live", Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, InstructedChecks: 2,
		ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE1", Status: study.Published,
		Pay: study.Pay{Currency: "GBP"},
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	p := answerTrials(t, store, st, 1, 8, func(string) string { return task.Yes })
	if p.NTrials != 8 {
		t.Fatalf("%d trials, want 6 items and 2 instructed checks", p.NTrials)
	}
	people, _, err := store.LiveSince(ctx, st.ID, time.Time{}, func(uuid.UUID) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 1 {
		t.Fatalf("%d people, want 1", len(people))
	}
	seen := map[string]bool{}
	for _, ext := range people[0].Items {
		if seen[ext] {
			t.Errorf("item %s read twice (an instructed check fed as a judgement)", ext)
		}
		seen[ext] = true
	}
	if len(people[0].Items) != 6 {
		t.Errorf("%d answers read, want the 6 items' (instructed checks left out)", len(people[0].Items))
	}
	m, _, err := store.LoadMatrix(ctx, postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Items); n != len(people[0].Items) {
		t.Errorf("the live read has %d items, the full read %d", len(people[0].Items), n)
	}
}
