package export

import (
	"errors"
	"slices"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
)

// TestRequestCheck: both front ends' requests are read here, so every wrong
// field is refused with its name, and empty fields take the shared defaults.
func TestRequestCheck(t *testing.T) {
	ok := Request{Studies: []string{" towers ", ""}, Source: "every", Format: "csv"}
	c, err := ok.Check()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Studies, []string{"towers"}) || c.Options.ValidationFraction != DefaultValidation ||
		c.Options.Seed != DefaultSeed || c.Options.Ties != DropTies || c.Exclude != nil ||
		!slices.Equal(c.Options.Filter.Studies, c.Studies) {
		t.Errorf("defaults: %+v", c)
	}
	full := Request{Studies: []string{"a", "b"}, Source: "majority", Format: "trl", Ties: "coin", Val: "0.25", Seed: "7",
		Domains: []string{"tower"}, Sizes: []string{"2-3", "5"}, Splits: []string{"train"}, Exclude: "checks>=1"}
	c, err = full.Check()
	if err != nil {
		t.Fatal(err)
	}
	if c.Options.Seed != 7 || c.Options.ValidationFraction != 0.25 || c.Options.Ties != CoinTies ||
		!slices.Equal(c.Options.Filter.Sizes, []int{2, 3, 5}) || len(c.Options.Filter.Domains) != 1 ||
		!slices.Equal(c.Options.Filter.SetSplits, []string{"train"}) || c.Exclude == nil {
		t.Errorf("full: %+v", c)
	}
	for _, b := range []struct {
		name  string
		edit  func(*Request)
		field string
	}{
		{"neither", func(q *Request) { q.Studies = nil }, "study"},
		{"both", func(q *Request) { q.Set = "s" }, "study"},
		{"source", func(q *Request) { q.Source = "all" }, "source"},
		{"no source", func(q *Request) { q.Source = "" }, "source"},
		{"set without truth", func(q *Request) { q.Studies, q.Set = nil, "s" }, "set"},
		{"format", func(q *Request) { q.Format = "parquet" }, "format"},
		{"ties", func(q *Request) { q.Ties = "flip" }, "ties"},
		{"val 1", func(q *Request) { q.Val = "1" }, "val"},
		{"val NaN", func(q *Request) { q.Val = "NaN" }, "val"},
		{"seed", func(q *Request) { q.Seed = "-1" }, "seed"},
		{"seed 2^64", func(q *Request) { q.Seed = "18446744073709551616" }, "seed"},
		{"domain", func(q *Request) { q.Domains = []string{"cube"} }, "domain"},
		{"sizes", func(q *Request) { q.Sizes = []string{"99999999999"} }, "sizes"},
		{"exclude", func(q *Request) { q.Exclude = "checks>>1" }, "exclude"},
	} {
		t.Run(b.name, func(t *testing.T) {
			q := ok
			b.edit(&q)
			_, err := q.Check()
			var p *problem.Error
			if !errors.As(err, &p) || p.Code != problem.EINVALID || p.Field != b.field || p.Message == "" {
				t.Errorf("got %#v, want an EINVALID refusal of field %s", err, b.field)
			}
		})
	}
}
