package postgres_test

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// TestAnswersCSVFormulaCells: a manifest id is whatever a researcher's
// upload said; in answers.csv it must be data, not a formula.
func TestAnswersCSVFormulaCells(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	in := pgtest.TowerSet("formula-set", 2)
	in.Items[0].ExtID = `=HYPERLINK("http://evil.example/","open")`
	in.Items[1].ExtID = "-2+3"
	setID, _, err := store.ImportSet(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "formula", Title: "Formula", Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, ConsentText: "c", InstructionsText: "i",
		Pay: study.Pay{BaseMinor: 100, Currency: "GBP"}, CompletionCode: "CODE", Status: study.Published,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	p, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, hashOf("tok"))
	if err != nil {
		t.Fatal(err)
	}
	answerN(t, store, p, 2)
	var out strings.Builder
	if err := store.WriteAnswersCSV(ctx, st.ID, &out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	col := slices.Index(recs[0], "stimulus_id")
	for _, r := range recs[1:] {
		got[r[col]] = true
	}
	for _, want := range []string{`'=HYPERLINK("http://evil.example/","open")`, "'-2+3"} {
		if !got[want] {
			t.Errorf("answers.csv stimulus ids %v lack %q", got, want)
		}
	}
}
