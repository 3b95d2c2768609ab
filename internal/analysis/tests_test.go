package analysis

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// answersOf builds correctness vectors: truth all Yes, right = Yes.
func answersOf(right []bool) []Answer {
	out := make([]Answer, len(right))
	for i, r := range right {
		out[i] = No
		if r {
			out[i] = Yes
		}
	}
	return out
}

func TestMcNemar(t *testing.T) {
	// Worked by hand: b = 10, c = 2 discordant items of n = 100. Under H0 each
	// of the 12 is a fair coin: P(X <= 2) = (C(12,0) + C(12,1) + C(12,2)) / 2^12
	// = (1 + 12 + 66) / 4096 = 79/4096, two-sided p = 158/4096 = 0.0385742188.
	var a, b []bool
	for i := range 100 {
		a = append(a, i < 10 || i >= 12) // wrong on 10, 11
		b = append(b, i >= 10)           // wrong on 0..9
	}
	truth := answersOf(make([]bool, 100))
	for i := range truth {
		truth[i] = Yes
	}
	got := McNemarTest(answersOf(a), answersOf(b), truth)
	if got.N != 100 || got.B != 10 || got.C != 2 || !near(got.Diff, 0.08, 1e-12) || !near(got.P, 158.0/4096, 1e-12) {
		t.Errorf("McNemar %+v, want n 100, b 10, c 2, diff 0.08, p %v", got, 158.0/4096)
	}
	// Cross-check against exact enumeration: every sign pattern of the m
	// discordant items is equally likely; p is the share as extreme as the
	// observed split.
	for _, bc := range [][2]int{{10, 2}, {3, 3}, {0, 5}, {7, 1}, {0, 0}, {9, 8}} {
		b, c := bc[0], bc[1]
		m := b + c
		extreme := 0
		for mask := range 1 << m {
			x := bits.OnesCount(uint(mask))
			if min(x, m-x) <= min(b, c) {
				extreme++
			}
		}
		want := float64(extreme) / float64(int(1)<<m)
		if got := mcNemarCounts(100, b, c); !near(got.P, want, 1e-12) {
			t.Errorf("b %d c %d: p %v, enumeration %v", b, c, got.P, want)
		}
	}
}

func TestKappaRange(t *testing.T) {
	// Worked by hand: n = 10 trials, k1 = 7 and k2 = 6 right, both right on 6.
	// c_obs = (10 - 13 + 12)/10 = 0.9, c_exp = 0.7*0.6 + 0.3*0.4 = 0.54,
	// kappa = 0.36/0.46 = 18/23. The both-right count a lies in [3, 6]:
	// kappa_min at a = 3 is (0.3 - 0.54)/0.46 = -12/23, kappa_max at a = 6 is
	// 18/23. Independent observers: P(a) = C(7,a) C(3,6-a) / C(10,6) =
	// 35, 105, 63, 7 (/210) for a = 3..6; only a = 6 is as unlikely as the
	// observed, so p = 7/210 = 1/30.
	r := KappaRangeCounts(10, 7, 6, 6)
	if !near(r.Kappa.Value, 18.0/23, 1e-12) || !near(r.Min, -12.0/23, 1e-12) || !near(r.Max, 18.0/23, 1e-12) || !near(r.P, 1.0/30, 1e-12) {
		t.Errorf("range %+v, want kappa %v in [%v, %v], p %v", r, 18.0/23, -12.0/23, 18.0/23, 1.0/30)
	}
	// DESIGN.md's reference vector: N = 100, p1 = 0.84, p2 = 0.93, c_obs = 0.89
	// (a = 83). c_obs lies in [|0.84 + 0.93 - 1|, 1 - |0.84 - 0.93|] =
	// [0.77, 0.91]; c_exp = 0.7924; kappa_min = -0.0224/0.2076, kappa_max =
	// 0.1176/0.2076. p computed independently with Python's exact integers
	// (math.comb): sum of C(84,a) C(16,93-a)/C(100,93) over a = 83, 84 =
	// 4.273680472292818e-05 (a = 82 is more likely than a = 83).
	r = KappaRangeCounts(100, 84, 93, 83)
	if !near(r.Kappa.Value, 0.470135, 5e-7) || !near(r.Min, -0.0224/0.2076, 1e-12) || !near(r.Max, 0.1176/0.2076, 1e-12) ||
		!near(r.P, 4.273680472292818e-05, 1e-12) {
		t.Errorf("reference vector: %+v", r)
	}
	lo, hi, ok := KappaBoundsRates(0.84, 0.93)
	if !ok || !near(lo, r.Min, 1e-12) || !near(hi, r.Max, 1e-12) {
		t.Errorf("rate bounds %v %v %v", lo, hi, ok)
	}
	if _, _, ok := KappaBoundsRates(1, 1); ok {
		t.Error("both at 100%: bounds must be undefined")
	}
	if r := KappaRangeCounts(10, 10, 10, 10); r.Kappa.Defined || !math.IsNaN(r.P) || !math.IsNaN(r.Min) {
		t.Errorf("both perfect: %+v, want undefined", r)
	}

	// Cross-check by exact enumeration: every placement of k1 right trials and
	// k2 right trials among n (independent observers) gives the distribution
	// of a; the p-value and the bounds follow from it alone.
	for _, c := range [][3]int{{10, 7, 6}, {8, 4, 4}, {9, 2, 8}, {7, 5, 3}} {
		n, k1, k2 := c[0], c[1], c[2]
		count := map[int]int{}
		total := 0
		for m1 := range 1 << n {
			if bits.OnesCount(uint(m1)) != k1 {
				continue
			}
			for m2 := range 1 << n {
				if bits.OnesCount(uint(m2)) != k2 {
					continue
				}
				count[bits.OnesCount(uint(m1&m2))]++
				total++
			}
		}
		lo, hi := n, 0
		for a := range count {
			lo, hi = min(lo, a), max(hi, a)
		}
		for a := range count {
			var p float64
			for _, nb := range count {
				if nb <= count[a] {
					p += float64(nb) / float64(total)
				}
			}
			r := KappaRangeCounts(n, k1, k2, a)
			if !near(r.P, p, 1e-9) {
				t.Errorf("n %d k %d %d a %d: p %v, enumeration %v", n, k1, k2, a, r.P, p)
			}
			if !near(r.Min, KappaRangeCounts(n, k1, k2, lo).Kappa.Value, 1e-12) || !near(r.Max, KappaRangeCounts(n, k1, k2, hi).Kappa.Value, 1e-12) {
				t.Errorf("n %d k %d %d: bounds %v %v, enumeration a in [%d, %d]", n, k1, k2, r.Min, r.Max, lo, hi)
			}
			if r.Kappa.Value < r.Min-1e-12 || r.Kappa.Value > r.Max+1e-12 {
				t.Errorf("kappa %v outside [%v, %v]", r.Kappa.Value, r.Min, r.Max)
			}
		}
		// Independent observers average kappa 0: E[a] = k1 k2 / n gives c_exp.
		var mean float64
		for a, na := range count {
			mean += float64(na) / float64(total) * KappaRangeCounts(n, k1, k2, a).Kappa.Value
		}
		if !near(mean, 0, 1e-12) {
			t.Errorf("n %d k %d %d: mean kappa of independent observers %v, want 0", n, k1, k2, mean)
		}
	}
}

func TestPairedDifference(t *testing.T) {
	// 100 items, the first observer right where the second is wrong on 10,
	// the reverse on 2: d = +1 x 10, -1 x 2, 0 x 88, mean 0.08. The bootstrap
	// distribution of a mean of n resampled d has variance var(d)/n with the
	// plug-in var(d) = 12/100 - 0.08^2 = 0.1136: sd 0.0337046. The percentile
	// interval is then close to 0.08 -+ 1.96 sd = [0.0139, 0.1461] (the means
	// move in steps of 0.01).
	a := make([]Answer, 100)
	b := make([]Answer, 100)
	truth := make([]Answer, 100)
	for i := range truth {
		truth[i], a[i], b[i] = Yes, Yes, Yes
		switch {
		case i < 10:
			b[i] = No
		case i < 12:
			a[i] = No
		case i < 30:
			a[i], b[i] = No, No
		}
	}
	mc, e := AccuracyDifference(a, b, truth, 20000, 1, "test")
	if mc.B != 10 || mc.C != 2 || !near(e.Mean, 0.08, 1e-12) || e.N != 100 || e.Resamples != 20000 {
		t.Fatalf("McNemar %+v, estimate %+v", mc, e)
	}
	if !near(e.Lo, 0.0139, 0.011) || !near(e.Hi, 0.1461, 0.011) {
		t.Errorf("interval [%v, %v], want about [0.0139, 0.1461]", e.Lo, e.Hi)
	}
	again := PairedDifference([]float64{1, 1, 0}, []float64{0, 1, 1}, 5000, 1, "x")
	// d = (1, 0, -1): a mean of -1 or 1 each has probability 1/27 > 2.5%, so
	// the exact bootstrap percentiles are -1 and 1.
	if again.Mean != 0 || again.Lo != -1 || again.Hi != 1 {
		t.Errorf("three pairs: %+v", again)
	}
	nan := PairedDifference([]float64{1, math.NaN()}, []float64{0, 0}, 100, 1, "y")
	if nan.N != 1 || nan.Undefined != 1 || nan.Mean != 1 {
		t.Errorf("NaN pairs are left out: %+v", nan)
	}
	if seeded := PairedDifference([]float64{1, 0, 1, 1}, []float64{0, 0, 1, 0}, 1000, 7, "z"); seeded != PairedDifference([]float64{1, 0, 1, 1}, []float64{0, 0, 1, 0}, 1000, 7, "z") {
		t.Error("the same seed must give the same interval")
	}
}

func TestPeopleBootstrap(t *testing.T) {
	// Three people, pair kappas 0.2 (0,1), 0.4 (0,2), 0.6 (1,2). Enumerating the
	// 27 equally likely draws of three people: 3 draw one person only (no pair:
	// undefined, dropped); 6 give 0.2 ({0,0,1}, {0,1,1}), 12 give 0.4 ({0,0,2},
	// {0,2,2} and the 6 orders of {0,1,2}, whose mean is (0.2+0.4+0.6)/3), 6
	// give 0.6. So 24/27 of resamples are defined, the 2.5% point is 0.2 and
	// the 97.5% point 0.6, and the point estimate is the mean over pairs, 0.4.
	edges := []personPair{{0, 1, 0.2}, {0, 2, 0.4}, {1, 2, 0.6}}
	var e Estimate
	jobs, fin := peopleJobs([]peopleSpec{{key: streamKey("people-test"), n: 3, edges: edges, set: func(x Estimate) { e = x }}}, 27000)
	runJobs(jobs, 3, 0)
	counts := map[float64]int{}
	for _, v := range jobs[0].out {
		counts[math.Round(v*10)/10]++
	}
	fin[0]()
	if !near(e.Mean, 0.4, 1e-12) || !near(e.Lo, 0.2, 1e-12) || !near(e.Hi, 0.6, 1e-12) {
		t.Errorf("estimate %+v, want 0.4 in [0.2, 0.6]", e)
	}
	if !near(float64(e.Resamples)/27000, 24.0/27, 0.01) {
		t.Errorf("%d of 27000 resamples defined, want about 24/27", e.Resamples)
	}
	for v, want := range map[float64]float64{0.2: 6.0 / 27, 0.4: 12.0 / 27, 0.6: 6.0 / 27} {
		if got := float64(counts[v]) / 27000; !near(got, want, 0.01) {
			t.Errorf("P(mean = %v) = %v, enumeration %v", v, got, want)
		}
	}
}

func TestCompareConditions(t *testing.T) {
	// Ten towers of size 2, truth alternating. The base model is right on
	// items 0-5; the tuned one (two seeds that agree) on every item but 2.
	// First = tuned, second = base: tuned right and base wrong on 6-9 (b = 4),
	// base right and tuned wrong on 2 (c = 1); accuracy 0.9 - 0.6 = 0.3;
	// McNemar p = 2 (C(5,0) + C(5,1)) / 2^5 = 12/32 = 0.375.
	items := make([]Item, 10)
	for j := range items {
		items[j] = Item{ID: strconv.Itoa(j), Task: task.Tower, Size: 2, Truth: Yes}
		if j%2 == 1 {
			items[j].Truth = No
		}
	}
	m := NewMatrix(items)
	answer := func(right func(j int) bool) []Answer {
		out := make([]Answer, len(items))
		for j, it := range items {
			out[j] = it.Truth
			if !right(j) {
				out[j] = Yes + No - it.Truth
			}
		}
		return out
	}
	base := m.AddObserver(Observer{ID: "b", Kind: Model, Model: "vlm"})
	m.Observers[base].Answers = answer(func(j int) bool { return j < 6 })
	for seed := range int64(2) {
		o := m.AddObserver(Observer{ID: "t", Kind: Model, Model: "vlm", Condition: "tuned", Seed: seed})
		m.Observers[o].Answers = answer(func(j int) bool { return j != 2 })
	}
	for h := range 4 {
		o := m.AddObserver(Observer{ID: "h" + strconv.Itoa(h), Kind: Human})
		m.Observers[o].Answers = answer(func(j int) bool { return (j+h)%3 != 0 })
	}
	cs, err := CompareConditions(m, ParseCondition("vlm:tuned"), ParseCondition("vlm"), Options{Resamples: 2000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 { // size 2 and the task over all sizes
		t.Fatalf("%d comparisons, want 2", len(cs))
	}
	c := cs[0]
	if c.McNemar.B != 4 || c.McNemar.C != 1 || !near(c.McNemar.P, 0.375, 1e-12) || !near(c.Accuracy.Mean, 0.3, 1e-12) {
		t.Errorf("accuracy comparison %+v %+v", c.McNemar, c.Accuracy)
	}
	// The kappa difference is the mean over people of their paired differences.
	truth := make([]Answer, len(items))
	for j := range items {
		truth[j] = items[j].Truth
	}
	var want float64
	n := 0
	for _, o := range m.Observers {
		if o.Kind != Human {
			continue
		}
		ka := ErrorConsistency(m.Observers[1].Answers, o.Answers, truth)
		kb := ErrorConsistency(m.Observers[0].Answers, o.Answers, truth)
		if ka.Defined && kb.Defined {
			want += ka.Value - kb.Value
			n++
		}
	}
	if c.ModelHuman.N != n || !near(c.ModelHuman.Mean, want/float64(n), 1e-12) {
		t.Errorf("kappa difference %+v, want mean %v over %d people", c.ModelHuman, want/float64(n), n)
	}
	if _, err := CompareConditions(m, ParseCondition("nope"), ParseCondition("vlm"), Options{}); err == nil {
		t.Error("an unknown condition must be refused")
	}
}

// TestPeopleLayoutsMatchReference: the bootstrap over people gives the same
// bits with the table of every pair and with the lists of partners, alone
// and beside up to seven other means, and the weighted mean of the plain
// loop over pairs (each pair weighted by how often both people were drawn)
// up to rounding; pairs without a kappa are left out of a mean's weights.
func TestPeopleLayoutsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{2, 3, 9, 40} {
		for _, w := range []int{1, 3, 8} {
			edges := make([][]personPair, w)
			for c := range edges {
				for a := range n {
					for b := a + 1; b < n; b++ {
						// Mean 1 has every pair, the others lose about a fifth.
						if c == 1 || r.IntN(5) > 0 {
							edges[c] = append(edges[c], personPair{int32(a), int32(b), r.Float64()*2 - 1})
						}
					}
				}
			}
			const resamples = 40
			run := func(fill func(d *drawer, from, to int, out []float64), width int) []float64 {
				out := make([]float64, resamples*width)
				fill(newDrawer(9, uint64(n)), 0, resamples, out)
				return out
			}
			stride := meanWidth
			if w == 1 {
				stride = 1
			}
			dense := run(densePeople(n, edges, stride, resamples), w)
			sparse := run(sparsePeople(n, edges, resamples), w)
			for c := range w {
				alone := run(densePeople(n, edges[c:c+1], 1, resamples), 1)
				for i := range resamples {
					x, y, z := dense[c*resamples+i], sparse[c*resamples+i], alone[i]
					if math.Float64bits(x) != math.Float64bits(y) || math.Float64bits(x) != math.Float64bits(z) {
						if !(math.IsNaN(x) && math.IsNaN(y) && math.IsNaN(z)) {
							t.Fatalf("n=%d w=%d mean %d resample %d: table %v, partners %v, alone %v", n, w, c, i, x, y, z)
						}
					}
				}
			}
			p := newPeopleDraw(n)
			d := newDrawer(9, uint64(n))
			for i := range resamples {
				p.draw(d)
				for c := range w {
					var s, ws float64
					for _, e := range edges[c] {
						x := float64(p.counts[e.a] * p.counts[e.b])
						s += x * e.kappa
						ws += x
					}
					got := dense[c*resamples+i]
					if ws == 0 {
						if !math.IsNaN(got) {
							t.Fatalf("n=%d w=%d mean %d resample %d: %v, want undefined", n, w, c, i, got)
						}
						continue
					}
					if !near(got, s/ws, 1e-12) {
						t.Fatalf("n=%d w=%d mean %d resample %d: %v, want %v", n, w, c, i, got, s/ws)
					}
				}
			}
		}
	}
}
