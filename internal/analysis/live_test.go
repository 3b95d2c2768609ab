package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// liveSameEstimate compares two estimates bit for bit (NaN equal to NaN).
func liveSameEstimate(a, b Estimate) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	return eq(a.Mean, b.Mean) && eq(a.Lo, b.Lo) && eq(a.Hi, b.Hi) && a.Defined == b.Defined && a.N == b.N && a.Undefined == b.Undefined
}

// TestLiveEqualsAnalyze feeds a study's answers one at a time, in the
// shuffled order they might arrive in, to the live comparison, and after
// each checks its numbers against Analyze run from scratch on every answer
// so far: the same accuracy, mean kappas and bootstrap intervals.
func TestLiveEqualsAnalyze(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2))
	const nItems, nPeople = 16, 6
	items := make([]Item, nItems)
	for j := range items {
		items[j] = Item{ID: fmt.Sprintf("t%02d", j), Task: task.Tower, Size: 2 + j%4, Truth: []Answer{Yes, No}[j%2], AttentionCheck: j == 15}
	}
	var runs []Observer
	for i, mk := range []struct {
		model, cond string
		seed        int64
	}{{"vlm", "base", 1}, {"vlm", "base", 0}, {"other", "", 0}} {
		o := Observer{ID: fmt.Sprint("run", i), Kind: Model, Model: mk.model, Condition: mk.cond, Seed: mk.seed, Answers: make([]Answer, nItems)}
		for j := range items {
			o.Answers[j] = []Answer{Yes, No}[rng.IntN(2)]
			if j == 3 && i == 2 {
				o.Answers[j] = Missing
			}
		}
		runs = append(runs, o)
	}
	live, err := NewLive(items, runs)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		person, item int
		a            Answer
	}
	var all []answer
	for p := range nPeople {
		for j := range items {
			if p == 5 && j%3 == 0 {
				continue // one person leaves some out
			}
			a := items[j].Truth
			if rng.Float64() < 0.3 {
				a = Yes + No - a
			}
			if p == 4 {
				a = Yes // one person always says Yes
			}
			all = append(all, answer{p, j, a})
		}
	}
	rng.Shuffle(len(all), func(i, k int) { all[i], all[k] = all[k], all[i] })
	opt := Options{Resamples: 300, Seed: 7, Grouping: ByTask}
	matrix := NewMatrix(items)
	var order []int // people in the order of their first answer, as Live keeps them
	checked := 0
	for n, x := range all {
		if err := live.Answer(fmt.Sprint("p", x.person), items[x.item].ID, x.a); err != nil {
			t.Fatal(err)
		}
		obs := -1
		for i, p := range order {
			if p == x.person {
				obs = i
			}
		}
		if obs < 0 {
			order = append(order, x.person)
			obs = matrix.AddObserver(Observer{ID: fmt.Sprint("p", x.person), Kind: Human})
		}
		matrix.Observers[obs].Answers[x.item] = x.a
		if n%7 != 6 && n != len(all)-1 {
			continue // every seventh answer, and the last
		}
		checked++
		full := &Matrix{Items: items, Observers: append(append([]Observer{}, matrix.Observers...), runs...)}
		rep, err := Analyze(full, opt)
		if err != nil {
			t.Fatal(err)
		}
		g := rep.Groups[0]
		snap := live.Snapshot(opt)
		if snap.HumanAccuracy != g.HumanAccuracy && !(math.IsNaN(snap.HumanAccuracy.P) && g.HumanAccuracy.N == 0) {
			t.Fatalf("after %d answers: accuracy %+v, Analyze %+v", n+1, snap.HumanAccuracy, g.HumanAccuracy)
		}
		if !liveSameEstimate(snap.HumanHuman, g.HumanHuman) {
			t.Fatalf("after %d answers: human-human %+v, Analyze %+v", n+1, snap.HumanHuman, g.HumanHuman)
		}
		if len(snap.Models) != len(g.Models) {
			t.Fatalf("%d models, Analyze %d", len(snap.Models), len(g.Models))
		}
		for i, m := range snap.Models {
			if m.Model != g.Models[i].Model || m.Condition != g.Models[i].Condition || !liveSameEstimate(m.ModelHuman, g.Models[i].ModelHuman) {
				t.Fatalf("after %d answers: %s/%s %+v, Analyze %s/%s %+v", n+1, m.Model, m.Condition, m.ModelHuman, g.Models[i].Model, g.Models[i].Condition, g.Models[i].ModelHuman)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d checks", checked)
	}
	last := live.Snapshot(opt)
	if !last.HumanHuman.Defined || !last.Models[0].ModelHuman.Defined || last.People != nPeople {
		t.Errorf("final snapshot %+v", last)
	}
	if err := live.Answer("p0", items[0].ID, Yes); err == nil {
		t.Error("a second answer to the same item was taken")
	}
	if err := live.Answer("p0", "nope", Yes); err == nil {
		t.Error("an answer to an unknown item was taken")
	}
}
