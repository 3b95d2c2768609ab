package pgtest

import (
	"context"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/synthset"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// PNG returns a 512x512 picture of a few stacked blocks on a grey floor,
// different for every i (synthset.PNG).
func PNG(i int) []byte { return synthset.PNG(i) }

// TowerSet is an in-memory set of n towers named name (synthset.TowerSet):
// item i (t01, t02, ...) has 2 + i%3 blocks, and the answer Yes when i is even.
func TowerSet(name string, n int) postgres.SetImport { return synthset.TowerSet(name, n) }

// NewStudy imports TowerSet(slug+"-set", n) and creates a published fixed
// study on it with 10 (minor units) per correct answer, at most 10 x (n-1).
func NewStudy(t testing.TB, store *postgres.Store, slug string, n int) study.Study {
	t.Helper()
	ctx := context.Background()
	setID, _, err := store.ImportSet(ctx, TowerSet(slug+"-set", n))
	if err != nil {
		t.Fatalf("pgtest: import: %v", err)
	}
	st := study.Study{
		Slug: slug, Title: "Test study " + slug, Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 100, TimeLimitMinutes: 30,
		ConsentText:      "You agree to take part in a test.\n\nSecond paragraph.",
		InstructionsText: "Answer every question.",
		Pay:              study.Pay{BaseMinor: 150, PerCorrectMinor: 10, MaxBonusMinor: int64(10 * (n - 1)), Currency: "GBP"},
		CompletionCode:   "TESTCODE1", Status: study.Published,
		MinViewMs: study.DefaultMinViewMs, TooFastMs: study.DefaultTooFastMs,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatalf("pgtest: create study: %v", err)
	}
	return st
}
