package postgres_test

import (
	"context"
	"testing"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
)

// TestTrainedConditions: what a condition was trained on is recorded with
// its import (for every seed of it, on any set), kept by a later import
// that says nothing, changed by SetTrained, listed with the runs and
// carried into the analysis matrix.
func TestTrainedConditions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "trn", 4)
	tr, err := analysis.ParseTrained("tower:2-3")
	if err != nil {
		t.Fatal(err)
	}
	rows := parseCSV(t, "model,condition,seed,stimulus_id,p_yes\nm,ft,1,t01,0.9\nm,ft,2,t01,0.2\nm,,1,t01,0.7\n")
	sum, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "trn-set", Rows: rows, Trained: &tr})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Runs {
		if r.Trained != "tower:2-3" {
			t.Errorf("imported %s/%s seed %d trained %q", r.Model, r.Condition, r.Seed, r.Trained)
		}
	}
	// The base condition was in the same file, so it got the same record; fix it.
	if err := store.SetTrained(ctx, "m", "", nil); err != nil {
		t.Fatal(err)
	}
	// A later import without Trained keeps the record.
	again := parseCSV(t, "model,condition,seed,stimulus_id,p_yes\nm,ft,3,t02,0.9\n")
	if _, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "trn-set", Rows: again}); err != nil {
		t.Fatal(err)
	}
	list, err := store.ModelRuns(ctx, "trn-set")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		want := "tower:2-3"
		if r.Condition == "" {
			want = ""
		}
		if r.Trained != want {
			t.Errorf("run %s/%s seed %d: trained %q, want %q", r.Model, r.Condition, r.Seed, r.Trained, want)
		}
	}
	m, _, err := store.LoadMatrix(ctx, postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, o := range m.Observers {
		if o.Kind == analysis.Model && o.Condition == "ft" {
			found++
			if o.Trained.String() != "tower:2-3" {
				t.Errorf("matrix observer %s seed %d trained %q", o.Model, o.Seed, o.Trained)
			}
		}
	}
	if found != 3 {
		t.Errorf("%d seeds of m/ft in the matrix, want 3", found)
	}
	if err := store.SetTrained(ctx, "nobody", "", tr); problem.Code(err) != problem.ENOTFOUND {
		t.Errorf("SetTrained of a model never imported: %v, want ENOTFOUND", err)
	}
}
