package analysis

import (
	"math"
)

// This file holds the significance tests: McNemar's exact test for two
// observers' accuracies on the same items, and for an error consistency the
// range it can take given the two accuracies and its p-value against two
// independent observers with those accuracies.

// McNemar is McNemar's exact test of two observers answering the same items:
// only the discordant items count, B those the first got right and the
// second wrong, C the reverse; under equal accuracy each discordant item is a
// fair coin, and P is the two-sided binomial p-value min(1, 2 P(X <= min(B, C)))
// with X ~ Binomial(B + C, 1/2). With no discordant item P is 1.
type McNemar struct {
	N    int     // items both answered
	B, C int     // first right and second wrong; first wrong and second right
	Diff float64 // accuracy of the first minus that of the second, (B - C) / N
	P    float64
}

// McNemarTest compares two observers' correctness on the items both answered
// (a Missing answer on either side, or no truth, drops the item).
func McNemarTest(a, b, truth []Answer) McNemar {
	var t McNemar
	for i := range truth {
		if a[i] == Missing || b[i] == Missing || truth[i] == Missing {
			continue
		}
		t.N++
		ra, rb := a[i] == truth[i], b[i] == truth[i]
		switch {
		case ra && !rb:
			t.B++
		case rb && !ra:
			t.C++
		}
	}
	return mcNemarCounts(t.N, t.B, t.C)
}

func mcNemarCounts(n, b, c int) McNemar {
	t := McNemar{N: n, B: b, C: c, Diff: math.NaN(), P: 1}
	if n > 0 {
		t.Diff = float64(b-c) / float64(n)
	}
	m := b + c
	if m == 0 {
		return t
	}
	var tail float64
	for i := 0; i <= min(b, c); i++ {
		tail += math.Exp(logChoose(m, i) - float64(m)*math.Ln2)
	}
	t.P = min(1, 2*tail)
	return t
}

// logChoose is log C(n, k).
func logChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// KappaRange is what an error consistency can be given two accuracies on the
// same n trials, and how unusual the observed one is for two observers who
// err independently (Klein et al. 2025, "Quantifying Uncertainty in Error
// Consistency", arXiv 2507.06645, make both points: a kappa means little
// without its bounds and its chance distribution).
//
// With k1 and k2 trials right, the trials both got right, a, can only lie in
// [max(0, k1 + k2 - n), min(k1, k2)], and c_obs = (n - k1 - k2 + 2a) / n rises
// with a; so c_obs lies in [|p1 + p2 - 1|, 1 - |p1 - p2|] and kappa between
// Min and Max. These are Klein et al.'s kappa_min and kappa_max exactly
// (their kappa_max(0.8, 0.6) = 0.545454 is reproduced in klein_test.go).
//
// Two independent observers with these accuracies (every arrangement of
// their right trials equally likely) give a hypergeometric a,
// P(a) = C(k1, a) C(n - k1, k2 - a) / C(n, k2), whose mean gives c_exp exactly,
// i.e. kappa 0 on average. P is the two-sided p-value of the observed a under
// it: the probability of every a no more likely than the observed one (Fisher's
// exact test of the right/wrong 2x2 table, with R's relative tolerance 1e-7).
//
// Klein et al.'s code tests the same hypothesis differently: it draws both
// accuracies from Beta(k, n - k), simulates independent trials, and counts
// the draws whose |kappa| strictly exceeds the observed one. That p-value is
// approximate and, at few trials, too small: for observers who really err
// independently it falls to 0.05 or below in 18% of experiments of 6 trials
// and still about 6% at 30, where this one stays at or under 5% by
// construction (TestKleinPValueSize, testdata/klein2025.py). For a hundred
// trials and more the two agree closely (4.3e-5 here, 5.1e-5 theirs, for
// DESIGN.md's reference pair).
type KappaRange struct {
	Kappa    Kappa
	Min, Max float64 // attainable error consistency given the accuracies; NaN when undefined
	P        float64 // NaN when the kappa is undefined
}

// ErrorConsistencyRange is ErrorConsistency with its bounds and p-value.
func ErrorConsistencyRange(a, b, truth []Answer) KappaRange {
	var n, k1, k2, both int
	for i := range truth {
		if a[i] == Missing || b[i] == Missing || truth[i] == Missing {
			continue
		}
		r1, r2 := a[i] == truth[i], b[i] == truth[i]
		n++
		if r1 {
			k1++
		}
		if r2 {
			k2++
		}
		if r1 && r2 {
			both++
		}
	}
	return KappaRangeCounts(n, k1, k2, both)
}

// KappaRangeCounts is ErrorConsistencyRange from counts: n trials, k1 and k2
// right, both of them right on both trials.
func KappaRangeCounts(n, k1, k2, both int) KappaRange {
	r := kappaRangeOnly(n, k1, k2, both)
	if !r.Kappa.Defined {
		return r
	}
	lo, hi := max(0, k1+k2-n), min(k1, k2)
	logP := func(a int) float64 { return logChoose(k1, a) + logChoose(n-k1, k2-a) - logChoose(n, k2) }
	obs := logP(both)
	var p float64
	for a := lo; a <= hi; a++ {
		if lp := logP(a); lp <= obs+math.Log1p(1e-7) {
			p += math.Exp(lp)
		}
	}
	r.P = min(1, p)
	return r
}

// kappaRangeOnly is KappaRangeCounts without the p-value (P is NaN).
func kappaRangeOnly(n, k1, k2, both int) KappaRange {
	same := n - k1 - k2 + 2*both
	r := KappaRange{Kappa: errorConsistencyCounts(n, k1, k2, same), Min: math.NaN(), Max: math.NaN(), P: math.NaN()}
	if !r.Kappa.Defined {
		return r
	}
	lo, hi := max(0, k1+k2-n), min(k1, k2)
	kappaAt := func(a int) float64 {
		return errorConsistencyCounts(n, k1, k2, n-k1-k2+2*a).Value
	}
	r.Min, r.Max = kappaAt(lo), kappaAt(hi)
	return r
}

// KappaBoundsRates are the bounds of the error consistency of two observers
// with accuracies p1 and p2, for rates rather than counts (the limit of many
// trials): c_obs in [|p1 + p2 - 1|, 1 - |p1 - p2|]. ok is false when the
// kappa is undefined (both at 0 or both at 1).
func KappaBoundsRates(p1, p2 float64) (lo, hi float64, ok bool) {
	cexp := p1*p2 + (1-p1)*(1-p2)
	if 1-cexp <= chanceEps {
		return math.NaN(), math.NaN(), false
	}
	return (math.Abs(p1+p2-1) - cexp) / (1 - cexp), (1 - math.Abs(p1-p2) - cexp) / (1 - cexp), true
}
