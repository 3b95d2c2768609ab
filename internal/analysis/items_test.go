package analysis

import (
	"fmt"
	"math"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

func TestHumanItemAnswers(t *testing.T) {
	items := []Item{{ID: "a", Task: task.Tower, Size: 2, Truth: Yes}, {ID: "chk", Task: task.Tower, Size: 2, Truth: Yes, AttentionCheck: true}, {ID: "b", Task: task.Tower, Size: 3, Truth: No}}
	m := NewMatrix(items)
	for i, ans := range [][]Answer{{Yes, Yes, No}, {No, Yes, No}, {Yes, Missing, Yes}} {
		o := m.AddObserver(Observer{ID: fmt.Sprint(i), Kind: Human})
		copy(m.Observers[o].Answers, ans)
	}
	ex := m.AddObserver(Observer{ID: "rejected", Kind: Human, Excluded: true})
	copy(m.Observers[ex].Answers, []Answer{No, No, Yes})
	mo := m.AddObserver(Observer{ID: "m", Kind: Model, Model: "m"})
	copy(m.Observers[mo].Answers, []Answer{No, No, Yes})
	got := HumanItemAnswers(m)
	want := []ItemAnswers{{Item: items[0], N: 3, Yes: 2, Correct: 2}, {Item: items[2], N: 3, Yes: 1, Correct: 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if p := got[0].PYes(); math.Abs(p-2.0/3) > 1e-15 {
		t.Errorf("p_yes %v", p)
	}
}

func TestCompareSoft(t *testing.T) {
	// Human P(Yes) = model P(Yes) exactly on 20 items: r = 1, no difference,
	// each bin's pooled share of Yes is its model mean.
	var items []ItemAnswers
	model := map[string]float64{}
	for i := range 20 {
		id := fmt.Sprint("i", i)
		yes := i % 11 // 0..10 of 10 answers
		items = append(items, ItemAnswers{Item: Item{ID: id}, N: 10, Yes: min(yes, 10)})
		model[id] = float64(min(yes, 10)) / 10
	}
	items = append(items, ItemAnswers{Item: Item{ID: "one"}, N: 1, Yes: 1}, ItemAnswers{Item: Item{ID: "nomodel"}, N: 5, Yes: 2})
	model["one"] = 0
	c := CompareSoft(items, model)
	if c.Items != 20 || math.Abs(c.Pearson-1) > 1e-12 || c.MeanAbsDiff != 0 || !(c.Lo > 0.99) {
		t.Errorf("identical: %+v", c)
	}
	if len(c.Bins) != 10 {
		t.Fatalf("%d bins", len(c.Bins))
	}
	for _, b := range c.Bins {
		if b.Items > 0 && math.Abs(b.Human.P-b.ModelMean) > 1e-12 {
			t.Errorf("bin %v-%v: human %v, model %v", b.Lo, b.Hi, b.Human.P, b.ModelMean)
		}
	}
	// P(Yes) = 1 falls in the last bin, not an eleventh: i = 9 gives 0.9,
	// i = 10 gives 1.
	if c.Bins[9].Items != 2 {
		t.Errorf("last bin holds %d items, want 2", c.Bins[9].Items)
	}
	// Opposite: r = -1; the reference by hand for a small case.
	c = CompareSoft([]ItemAnswers{{Item: Item{ID: "a"}, N: 4, Yes: 4}, {Item: Item{ID: "b"}, N: 4, Yes: 2}, {Item: Item{ID: "c"}, N: 4, Yes: 0}},
		map[string]float64{"a": 0.1, "b": 0.5, "c": 0.9})
	if math.Abs(c.Pearson+1) > 1e-12 || !math.IsNaN(c.Lo) || math.Abs(c.MeanAbsDiff-(0.9+0+0.9)/3) > 1e-12 {
		t.Errorf("opposite: %+v", c)
	}
	if c := CompareSoft(nil, nil); c.Items != 0 || !math.IsNaN(c.Pearson) {
		t.Errorf("empty: %+v", c)
	}
}

func TestDisagreements(t *testing.T) {
	// P(X >= k) for Binomial(n, 1/2) by hand: 10 of 10 wrong is 1/1024.
	if p := binomialUpperTail(10, 10); math.Abs(p-1.0/1024) > 1e-15 {
		t.Errorf("tail(10, 10) = %v", p)
	}
	if p := binomialUpperTail(10, 8); math.Abs(p-56.0/1024) > 1e-14 {
		t.Errorf("tail(10, 8) = %v, want 56/1024", p)
	}
	if binomialUpperTail(5, 0) != 1 {
		t.Error("tail(5, 0) != 1")
	}
	// 24 items answered by 12 people: two people-fooling items (11 and 12 of
	// 12 wrong), one borderline (9 of 12, p = 0.073), the rest mostly right.
	var items []ItemAnswers
	for i := range 24 {
		a := ItemAnswers{Item: Item{ID: fmt.Sprintf("t%02d", i)}, N: 12, Correct: 10}
		switch i {
		case 7:
			a.Correct = 1
		case 20:
			a.Correct = 0
		case 23:
			a.Correct = 3
		}
		items = append(items, a)
	}
	items = append(items, ItemAnswers{Item: Item{ID: "unanswered"}})
	d := Disagreements(items, 0.05)
	if len(d) != 24 || d[0].Item.ID != "t20" || d[1].Item.ID != "t07" {
		t.Fatalf("order: %d items, first %s, %s", len(d), d[0].Item.ID, d[1].Item.ID)
	}
	// BH by hand: p(12/12) = 1/4096, p(11/12) = 13/4096; q = p m / rank.
	if q := d[0].Q; math.Abs(q/(24.0/4096)-1) > 1e-9 || !d[0].Found {
		t.Errorf("first q %v, want %v", q, 24.0/4096)
	}
	if q := d[1].Q; math.Abs(q/(13.0*24/4096/2)-1) > 1e-9 || !d[1].Found {
		t.Errorf("second q %v, want %v", q, 13.0*24/4096/2)
	}
	if d[2].Item.ID != "t23" || d[2].Found || d[2].Wrong != 9 {
		t.Errorf("borderline item %+v found", d[2])
	}
	for i := 1; i < len(d); i++ {
		if d[i].Q < d[i-1].Q {
			t.Errorf("adjusted p falls at %d: %v < %v", i, d[i].Q, d[i-1].Q)
		}
	}
}
