package postgres_test

import (
	"context"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/study"
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
