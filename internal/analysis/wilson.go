package analysis

import "math"

// Z95 is the two-sided 95% normal quantile the paper's intervals use.
const Z95 = 1.959964

// Accuracy is a share of correct answers with its Wilson score 95% interval.
type Accuracy struct {
	Correct, N int
	P          float64 // Correct/N; NaN when N = 0
	Lo, Hi     float64 // Wilson interval; NaN when N = 0
}

// NewAccuracy computes the share and Wilson interval of correct out of n.
func NewAccuracy(correct, n int) Accuracy {
	lo, hi := Wilson(correct, n, Z95)
	p := math.NaN()
	if n > 0 {
		p = float64(correct) / float64(n)
	}
	return Accuracy{Correct: correct, N: n, P: p, Lo: lo, Hi: hi}
}

// Wilson is the Wilson score interval for k successes in n trials at quantile z,
// clamped to [0, 1]; it is (NaN, NaN) when n = 0 because nothing is known.
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	// At k = 0 or k = n the formula gives the bound exactly in theory but
	// rounding can leave 1e-17 outside; clamp rather than print -0.000000.
	return math.Max(0, centre-half), math.Min(1, centre+half)
}
