package study

import "math"

// ExpectedBonus is the mean bonus, in minor units, of a participant who
// answers items scored items, each right with probability accuracy
// independently: the sum of Bonus(k) over the binomial distribution of k,
// so that the cap is applied to each participant rather than to the mean
// (a cap below the mean's bonus would otherwise overstate the cost).
func (p Pay) ExpectedBonus(items int, accuracy float64) float64 {
	if items <= 0 || math.IsNaN(accuracy) {
		return 0
	}
	accuracy = min(1, max(0, accuracy))
	switch accuracy {
	case 0:
		return 0
	case 1:
		return float64(p.Bonus(items))
	}
	lp, lq := math.Log(accuracy), math.Log1p(-accuracy)
	var sum float64
	for k := 0; k <= items; k++ {
		lc, _ := math.Lgamma(float64(items + 1))
		lk, _ := math.Lgamma(float64(k + 1))
		lnk, _ := math.Lgamma(float64(items - k + 1))
		sum += math.Exp(lc-lk-lnk+float64(k)*lp+float64(items-k)*lq) * float64(p.Bonus(k))
	}
	return sum
}

// ExpectedCost is the expected pay of one participant in minor units: base
// pay and the expected bonus, rounded up to a whole minor unit.
func (p Pay) ExpectedCost(items int, accuracy float64) int64 {
	return p.BaseMinor + int64(math.Ceil(p.ExpectedBonus(items, accuracy)-1e-9))
}
