package postgres_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
)

// parseCSV reads a model output CSV as the import command does.
func parseCSV(t *testing.T, text string) []modelout.Row {
	t.Helper()
	rows, err := modelout.Parse(strings.NewReader(text), modelout.Options{Name: "runs.csv"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return rows
}

// storedPYes reads back P(Yes) of every output of a run, by manifest id.
func storedPYes(t *testing.T, store *postgres.Store, model string, seed int64) map[string]float64 {
	t.Helper()
	rows, err := store.Pool().Query(context.Background(), `
		SELECT s.ext_id, COALESCE(o.p_yes, 'NaN') FROM model_outputs o
		JOIN model_runs r ON r.id = o.run_id JOIN stimuli s ON s.id = o.stimulus_id
		WHERE r.model = $1 AND r.seed = $2`, model, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var id string
		var p float64
		if err := rows.Scan(&id, &p); err != nil {
			t.Fatal(err)
		}
		out[id] = p
	}
	return out
}

func countRuns(t *testing.T, store *postgres.Store) (runs, outputs int) {
	t.Helper()
	err := store.Pool().QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM model_runs), (SELECT count(*) FROM model_outputs)`).Scan(&runs, &outputs)
	if err != nil {
		t.Fatal(err)
	}
	return runs, outputs
}

func TestImportModelOutputs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	if _, _, err := store.ImportSet(ctx, pgtest.TowerSet("mset", 4)); err != nil {
		t.Fatal(err)
	}
	// Two seeds in one file; t04 of seed 2 has neither label among its tokens.
	two := parseCSV(t, `model,condition,seed,stimulus_id,logprob_yes,logprob_no
qwen,,1,t01,-0.1053605,-2.3025851
qwen,,1,t02,-2.3025851,-0.1053605
qwen,,2,t01,-0.6931472,-0.6931472
qwen,,2,t04,,
`)

	t.Run("OK", func(t *testing.T) {
		sum, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "mset", SourceFile: "runs.csv", Rows: two})
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Runs) != 2 || sum.Runs[0].Outputs != 2 || sum.Runs[1].Outputs != 2 || sum.Replaced != 0 {
			t.Fatalf("summary %+v, want two runs of two outputs", sum)
		}
		// Seed 2: t01 is a tie (no answer), t04 has no label at all (flagged, no answer).
		if r := sum.Runs[1]; r.Seed != 2 || r.NoAnswer != 2 || r.Flagged != 1 {
			t.Errorf("seed 2: %+v, want 2 without an answer, 1 flagged", r)
		}
		got := storedPYes(t, store, "qwen", 1)
		// softmax(-0.105, -2.303) = 0.9/(0.9+0.1) = 0.9.
		if math.Abs(got["t01"]-0.9) > 1e-6 || math.Abs(got["t02"]-0.1) > 1e-6 {
			t.Errorf("stored P(Yes) %v, want t01 0.9 and t02 0.1", got)
		}
		if p := storedPYes(t, store, "qwen", 2)["t04"]; !math.IsNaN(p) {
			t.Errorf("no-answer row stored P(Yes) %v, want NULL", p)
		}
		list, err := store.ModelRuns(ctx, "mset")
		if err != nil || len(list) != 2 || list[0].SourceFile != "runs.csv" || list[1].Flagged != 1 {
			t.Fatalf("ModelRuns = %+v, %v", list, err)
		}
	})

	t.Run("ErrConflictWithoutReplace", func(t *testing.T) {
		// A file with a new run (seed 3) and one already stored (seed 1):
		// refused whole, so seed 3 is not stored either.
		rows := parseCSV(t, "model,seed,stimulus_id,p_yes\nqwen,3,t01,0.2\nqwen,1,t01,0.3\n")
		_, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "mset", Rows: rows})
		if problem.Code(err) != problem.ECONFLICT || !strings.Contains(err.Error(), "seed 1") {
			t.Fatalf("err = %v, want a conflict naming seed 1", err)
		}
		if runs, outputs := countRuns(t, store); runs != 2 || outputs != 4 {
			t.Errorf("after a refused import: %d runs, %d outputs; want 2 and 4 as before", runs, outputs)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		rows := parseCSV(t, "model,seed,stimulus_id,p_yes\nqwen,1,t03,0.2\n")
		sum, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "mset", Rows: rows, Replace: true})
		if err != nil || sum.Replaced != 1 {
			t.Fatalf("replace: %+v, %v", sum, err)
		}
		got := storedPYes(t, store, "qwen", 1)
		if len(got) != 1 || got["t03"] != 0.2 {
			t.Errorf("after replacing seed 1: %v, want only t03 = 0.2 (the old outputs gone)", got)
		}
		if got := storedPYes(t, store, "qwen", 2); len(got) != 2 {
			t.Errorf("seed 2 was touched: %v", got)
		}
	})

	t.Run("ErrLineAndField", func(t *testing.T) {
		// Stimuli not in the set on lines 3 and 4: both named, nothing
		// stored, even though line 2 is fine.
		rows := parseCSV(t, "model,seed,stimulus_id,p_yes\nnew,1,t01,0.2\nnew,1,t99,0.3\nnew,1,x,0.4\n")
		_, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "mset", SourceFile: "bad.csv", Rows: rows})
		var errs *problem.Lines
		if !errors.As(err, &errs) || len(errs.List) != 2 {
			t.Fatalf("err = %v, want two line errors", err)
		}
		if e := errs.List[0]; e.Line != 3 || e.Field != "stimulus_id" || !strings.Contains(e.Msg, "t99") || e.File != "bad.csv" {
			t.Errorf("first error %+v, want bad.csv line 3, stimulus_id, naming t99", e)
		}
		if e := errs.List[1]; e.Line != 4 || !strings.Contains(e.Msg, `"x"`) {
			t.Errorf("second error %+v, want line 4 naming x", e)
		}
		if runs, _ := countRuns(t, store); runs != 2 {
			t.Errorf("%d runs after a failed import, want 2", runs)
		}
	})

	t.Run("ErrTooLong", func(t *testing.T) {
		rows := parseCSV(t, "model,condition,stimulus_id,p_yes\nm,"+strings.Repeat("c", 201)+",t01,0.2\n")
		_, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "mset", Rows: rows})
		var errs *problem.Lines
		if !errors.As(err, &errs) || errs.List[0].Field != "condition" || errs.List[0].Line != 2 {
			t.Errorf("err = %v, want line 2, condition", err)
		}
	})

	t.Run("ErrUnknownSet", func(t *testing.T) {
		_, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "nope", Rows: two})
		if problem.Code(err) != problem.ENOTFOUND {
			t.Errorf("err = %v, want not found", err)
		}
	})
}

// The OpenAI batch output shipped with modelout (tokens " Yes", "yes", "No."
// and a line without either label) imports as it is.
func TestImportBatchOutputFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	in := pgtest.TowerSet("gpt", 5)
	for i, id := range []string{"tower-0001", "tower-0002", "pyramid-0001", "pyramid-0002", "pyramid-0003"} {
		in.Items[i].ExtID = id
	}
	if _, _, err := store.ImportSet(ctx, in); err != nil {
		t.Fatal(err)
	}
	rows := parseBatchFile(t, "../modelout/testdata/batch_output.jsonl", "gpt-4o")
	sum, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "gpt", SourceFile: "batch_output.jsonl", Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Runs) != 1 || sum.Runs[0].Model != "gpt-4o" || sum.Runs[0].Outputs != len(rows) || sum.Runs[0].Flagged == 0 {
		t.Fatalf("summary %+v: want one gpt-4o run with every row and some flagged", sum)
	}
}

func parseBatchFile(t *testing.T, path, model string) []modelout.Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := modelout.Parse(f, modelout.Options{Name: path, Format: modelout.BatchOutput, Model: model})
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return rows
}
