package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// PNG returns a small solid-colour PNG that differs for every i.
func PNG(i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	c := color.RGBA{uint8(40 + 37*i), uint8(200 - 23*i), uint8(90 + 11*i), 255}
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // encoding an in-memory RGBA cannot fail
	}
	return b.Bytes()
}

// TowerSet is an in-memory set of n towers named name: item i (t01, t02, ...)
// has 2 + i%3 blocks, and the answer Yes when i is even.
func TowerSet(name string, n int) postgres.SetImport {
	in := postgres.SetImport{Name: name}
	for i := range n {
		answer := task.No
		if i%2 == 0 {
			answer = task.Yes
		}
		in.Items = append(in.Items, postgres.ItemImport{
			ExtID: fmt.Sprintf("t%02d", i+1), Domain: task.Tower, NBlocks: 2 + i%3, Size: 2 + i%3,
			Answer: answer, Split: "test", File: fmt.Sprintf("images/t%02d.png", i+1), Image: PNG(i),
		})
	}
	return in
}

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
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatalf("pgtest: create study: %v", err)
	}
	return st
}
