package analysis

import (
	"math"
	"slices"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

func TestParseTrained(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"none", ""},
		{"tower:2-4", "tower:2-4"},
		{" Tower : 4,2,3 ", "tower:2-4"},
		{"tower:2-4,7;pyramid", "tower:2-4,7;pyramid"},
		{"pyramid;tower:3;tower:2", "tower:2-3;pyramid"},
		{"tower:2;tower", "tower"},
		{"pyramid-removed:3-5", "pyramid-removed:3-5"},
	} {
		got, err := ParseTrained(c.in)
		if err != nil {
			t.Errorf("ParseTrained(%q): %v", c.in, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("ParseTrained(%q) = %q, want %q", c.in, got.String(), c.want)
		}
	}
	for _, bad := range []string{"towers:2-4", "tower:", "tower:4-2", "tower:0", "tower:x", "tower:2-1000", "cube"} {
		if _, err := ParseTrained(bad); err == nil {
			t.Errorf("ParseTrained(%q) accepted", bad)
		}
	}
	tr, _ := ParseTrained("tower:2-4;pyramid")
	if !tr.Has(task.Tower, 3) || tr.Has(task.Tower, 5) || !tr.Has(task.Pyramid, 9) || tr.Touches(task.PyramidRemoved) {
		t.Errorf("Has/Touches wrong for %s", tr)
	}
}

// TestTrainedSplit: the in-distribution part of a condition is the analysis
// of the trained sizes alone, the held-out part that of the others; each
// size's row says which part it is in, and a condition without trained
// sizes is not split.
func TestTrainedSplit(t *testing.T) {
	m := randomMatrix(15, 60, 2, 5)
	tr, err := ParseTrained("tower:2-4")
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Observers {
		if m.Observers[i].Model == "model0" {
			m.Observers[i].Trained = tr
		}
	}
	opt := Options{Resamples: 200, Seed: 3}
	rep, err := Analyze(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rep.Groups {
		for _, mr := range g.Models {
			if mr.Model != "model0" {
				if mr.Split != nil || mr.Parts != nil || mr.Trained != "" {
					t.Errorf("size %d: untrained %s split: %+v", g.Size, mr.Model, mr)
				}
				continue
			}
			if mr.Trained != "tower:2-4" {
				t.Errorf("trained %q", mr.Trained)
			}
			if g.Size != 0 {
				want := SplitOut
				if g.Size <= 4 {
					want = SplitIn
				}
				if mr.Split == nil || *mr.Split != want {
					t.Errorf("size %d: split %v, want %s", g.Size, mr.Split, want)
				}
				continue
			}
			if len(mr.Parts) != 2 {
				t.Fatalf("all sizes: %d parts", len(mr.Parts))
			}
			for _, p := range mr.Parts {
				in := p.Split == SplitIn
				sub := subMatrix(m, func(it Item) bool { return (it.Size <= 4) == in }, func(Observer) bool { return true })
				srep, err := Analyze(sub, opt)
				if err != nil {
					t.Fatal(err)
				}
				sg := srep.Groups[len(srep.Groups)-1]
				sm := sg.Models[slices.IndexFunc(sg.Models, func(r ModelResult) bool { return r.Model == "model0" })]
				wantSizes := []int{5, 6, 7}
				if in {
					wantSizes = []int{2, 3, 4}
				}
				if !slices.Equal(p.Sizes, wantSizes) || p.Items != sg.Items {
					t.Errorf("%s: sizes %v items %d, want %v %d", p.Split, p.Sizes, p.Items, wantSizes, sg.Items)
				}
				if p.Accuracy != sm.Accuracy || p.HumanAccuracy != sg.HumanAccuracy {
					t.Errorf("%s: accuracy %+v people %+v, alone %+v %+v", p.Split, p.Accuracy, p.HumanAccuracy, sm.Accuracy, sg.HumanAccuracy)
				}
				// Same people in the same order: the same draws, the same interval.
				if !sameEstimate(p.ModelHuman, sm.ModelHuman) {
					t.Errorf("%s: model-human %+v, alone %+v", p.Split, p.ModelHuman, sm.ModelHuman)
				}
				if math.Abs(p.ModelTruth.Mean-sm.ModelTruth.Mean) > 1e-12 || !p.ModelTruth.Defined {
					t.Errorf("%s: model-truth %+v, alone %+v", p.Split, p.ModelTruth, sm.ModelTruth)
				}
				if p.ModelHumanChance != sm.ModelHumanChance {
					t.Errorf("%s: chance %+v, alone %+v", p.Split, p.ModelHumanChance, sm.ModelHumanChance)
				}
			}
		}
	}
}

// TestTrainedSeedsAgree: seeds of one condition trained on different sizes
// are a mistake in the data, refused.
func TestTrainedSeedsAgree(t *testing.T) {
	m := randomMatrix(3, 12, 0, 1)
	a, _ := ParseTrained("tower:2-4")
	m.AddObserver(Observer{ID: "s1", Kind: Model, Model: "M", Seed: 1, Trained: a})
	m.AddObserver(Observer{ID: "s2", Kind: Model, Model: "M", Seed: 2})
	if _, err := Analyze(m, Options{Resamples: 10}); err == nil {
		t.Error("seeds trained on different sizes were accepted")
	}
}
