package analysis

import (
	"math"
	"testing"
)

// The worked numbers of Klein et al. 2025, "Quantifying Uncertainty in Error
// Consistency" (arXiv 2507.06645), as published in their repository
// (github.com/wichmann-lab/error_consistency: tests/test_utils.py,
// src/minimal_examples, src/significance_tests/examples.ipynb), reproduced
// with our functions. testdata/klein2025.py computes every value here
// independently (standard library only) and klein2025.txt holds its output.

// TestKleinKappaBounds: their kappa_max(0.8, 0.6) = 0.54545454545454 and the
// accuracy bounds of their kappaBoundsAccuracy.py, which are the accuracies
// a2 at which kappa_max(a1, a2) equals the given kappa.
func TestKleinKappaBounds(t *testing.T) {
	lo, hi, ok := KappaBoundsRates(0.8, 0.6)
	// kappa_min: c_obs = |0.8 + 0.6 - 1| = 0.4, c_exp = 0.56: -0.16/0.44.
	if !ok || !near(hi, 0.54545454545454, 1e-13) || !near(lo, -0.16/0.44, 1e-13) {
		t.Errorf("bounds(0.8, 0.6) = %v %v %v, want -0.363636 0.545455", lo, hi, ok)
	}
	// The counts give the same bounds: 10 trials, 8 and 6 right.
	if r := KappaRangeCounts(10, 8, 6, 5); !near(r.Max, 0.54545454545454, 1e-13) || !near(r.Min, lo, 1e-13) {
		t.Errorf("counts: %+v", r)
	}
	for _, c := range []struct{ a1, k, lo, hi float64 }{
		// their comments: [.75, .96], [.44, .87], [.25, .75]
		{0.9, 0.5, 0.75, 0.964285714285714},
		{0.7, 0.5, 0.4375, 0.875},
		{0.5, 0.5, 0.25, 0.75},
	} {
		for _, a2 := range []float64{c.lo, c.hi} {
			if _, hi, ok := KappaBoundsRates(c.a1, a2); !ok || !near(hi, c.k, 1e-12) {
				t.Errorf("kappa_max(%v, %v) = %v, want %v", c.a1, a2, hi, c.k)
			}
		}
		// inside the range the kappa is attainable, outside it is not
		if _, hi, _ := KappaBoundsRates(c.a1, (c.lo+c.hi)/2); hi <= c.k {
			t.Errorf("a1 %v: kappa_max inside the range %v <= %v", c.a1, hi, c.k)
		}
		if _, hi, _ := KappaBoundsRates(c.a1, c.lo-0.01); hi >= c.k {
			t.Errorf("a1 %v: kappa_max below the range %v >= %v", c.a1, hi, c.k)
		}
	}
}

// kleinP is the p-value of Klein et al.'s calculate_ec_pvalue in the limit
// of infinitely many draws: accuracies drawn from Beta(k, n - k), n
// independent trials each, p = P(|kappa| > |observed|) with undefined kappas
// never counting. The drawn counts are beta-binomial and the both-right count
// given them hypergeometric, so the limit is a finite sum.
func kleinP(n, k1, k2 int, kappa float64, ties bool) float64 {
	betaBinom := func(k int) []float64 {
		al, be := float64(k), float64(n-k)
		lb := lgamma(al) + lgamma(be) - lgamma(al+be)
		out := make([]float64, n+1)
		for x := range out {
			out[x] = math.Exp(logChoose(n, x) + lgamma(float64(x)+al) + lgamma(float64(n-x)+be) - lgamma(float64(n)+al+be) - lb)
		}
		return out
	}
	b1, b2 := betaBinom(k1), betaBinom(k2)
	x := math.Abs(kappa)
	var p float64
	for j1 := 0; j1 <= n; j1++ {
		for j2 := 0; j2 <= n; j2++ {
			for a := max(0, j1+j2-n); a <= min(j1, j2); a++ {
				k := errorConsistencyCounts(n, j1, j2, n-j1-j2+2*a)
				if !k.Defined {
					continue
				}
				v := math.Abs(k.Value)
				if v > x+1e-12 || ties && v >= x-1e-12 {
					p += b1[j1] * b2[j2] * math.Exp(logChoose(j1, a)+logChoose(n-j1, j2-a)-logChoose(n, j2))
				}
			}
		}
	}
	return p
}

func lgamma(x float64) float64 { v, _ := math.Lgamma(x); return v }

// TestKleinPValue: their test cases and examples, with their p-value (its
// limit, kleinP) beside ours. Where they differ, ours is the one that holds
// its level: see TestKleinPValueSize.
func TestKleinPValue(t *testing.T) {
	for _, c := range []struct {
		name           string
		n, k1, k2, a   int
		kappa          float64
		ours, klein    float64 // klein NaN: too many trials to sum here
		oursTol, klTol float64
	}{
		// tests/test_utils.py: error_consistency([1,1,1,0,0,0], [1,1,0,0,0,0])
		// is 0.6666666 with p < 0.05. Its limit is 0.019153; ours is 0.4:
		// given 3 and 2 right of 6, 3 of the C(6,2) = 15 placements of the
		// second's right trials give a = 2 (kappa 2/3) and 3 give a = 0
		// (kappa -2/3), 6/15 in all.
		{"test_utils 6 trials", 6, 3, 2, 2, 2.0 / 3, 0.4, 0.019153, 1e-12, 5e-7},
		// significance_tests/examples.ipynb: 10 trials, not significant.
		{"examples.ipynb 10 trials", 10, 7, 6, 5, 0.347826086956522, 0.5, 0.195468, 1e-12, 5e-7},
		// tests/test_utils.py: calculate_ec_pvalue(0.5, 50, 50, 100) < 1e-5
		// (kappa 0.5 needs a = 37.5; a = 37 gives 0.48).
		{"test_utils 50/50 of 100", 100, 50, 50, 37, 0.48, 2.81830439985576e-06, math.NaN(), 1e-17, 0},
		// tests/test_utils.py: calculate_ec_pvalue(0.001, 70, 70, 100) > 0.95.
		{"test_utils 70/70 of 100", 100, 70, 70, 49, 0, 1, math.NaN(), 1e-12, 0},
		// minimal_examples/MinimalExampleBootstrap.py's vectors: 84 and 93
		// right of 100, 83 both (DESIGN.md's reference pair).
		{"MinimalExampleBootstrap", 100, 84, 93, 83, 0.470134874759152, 4.2736804723e-05, math.NaN(), 1e-15, 0},
		// examples.ipynb: copy model kappa 0.1, accuracies 0.7 and 0.75,
		// 1000 trials: significant.
		{"examples.ipynb 1000 trials", 1000, 700, 750, 545, 0.1, 0.0018499780620747, math.NaN(), 1e-13, 0},
	} {
		r := KappaRangeCounts(c.n, c.k1, c.k2, c.a)
		if !near(r.Kappa.Value, c.kappa, 1e-12) || !near(r.P, c.ours, c.oursTol) {
			t.Errorf("%s: kappa %.15g p %.15g, want %.15g p %.15g", c.name, r.Kappa.Value, r.P, c.kappa, c.ours)
		}
		if !math.IsNaN(c.klein) {
			if got := kleinP(c.n, c.k1, c.k2, r.Kappa.Value, false); !near(got, c.klein, c.klTol) {
				t.Errorf("%s: their p %.7f, want %.6f", c.name, got, c.klein)
			}
		}
	}
	// Their assertions, on our p-values where both agree on the verdict.
	if r := KappaRangeCounts(100, 50, 50, 37); r.P >= 1e-5 {
		t.Errorf("50/50 of 100, kappa 0.48: p %v, their test wants < 1e-5", r.P)
	}
	if r := KappaRangeCounts(100, 70, 70, 49); r.P <= 0.95 {
		t.Errorf("70/70 of 100, kappa 0: p %v, their test wants > 0.95", r.P)
	}
}

// TestKleinPValueSize decides between the two definitions: for two observers
// who err independently with true accuracies q1 and q2, the chance that a
// p-value is at most 0.05 must not exceed 0.05. Summed exactly over every
// outcome of n trials, ours (exact, conditional on both counts) holds that;
// theirs (unconditional, strict inequality) rejects up to 18% at n = 6 and
// still about 6% at n = 30 (klein2025.txt).
func TestKleinPValueSize(t *testing.T) {
	binom := func(n, k int, q float64) float64 {
		return math.Exp(logChoose(n, k) + float64(k)*math.Log(q) + float64(n-k)*math.Log1p(-q))
	}
	size := func(n int, q1, q2 float64, p func(n, k1, k2, a int) float64) float64 {
		var rej float64
		for k1 := 1; k1 < n; k1++ {
			for k2 := 1; k2 < n; k2++ {
				w := binom(n, k1, q1) * binom(n, k2, q2)
				for a := max(0, k1+k2-n); a <= min(k1, k2); a++ {
					if p(n, k1, k2, a) <= 0.05*(1+1e-9) { // p = 1/20 exactly counts whatever the rounding
						rej += w * math.Exp(logChoose(k1, a)+logChoose(n-k1, k2-a)-logChoose(n, k2))
					}
				}
			}
		}
		return rej
	}
	ours := func(n, k1, k2, a int) float64 { return KappaRangeCounts(n, k1, k2, a).P }
	klein := func(n, k1, k2, a int) float64 {
		return kleinP(n, k1, k2, errorConsistencyCounts(n, k1, k2, n-k1-k2+2*a).Value, false)
	}
	for _, c := range []struct {
		n           int
		q1, q2      float64
		ours, klein float64 // klein2025.txt
	}{
		{6, 0.5, 0.5, 0, 0.176758},
		{10, 0.7, 0.6, 0.011254, 0.083590},
		{20, 0.8, 0.7, 0.015250, 0.060332},
	} {
		o := size(c.n, c.q1, c.q2, ours)
		if o > 0.05 || !near(o, c.ours, 5e-7) {
			t.Errorf("n %d q %v %v: our size %.6f, want %.6f <= 0.05", c.n, c.q1, c.q2, o, c.ours)
		}
		if k := size(c.n, c.q1, c.q2, klein); !near(k, c.klein, 5e-7) {
			t.Errorf("n %d q %v %v: their size %.6f, want %.6f", c.n, c.q1, c.q2, k, c.klein)
		}
	}
}
