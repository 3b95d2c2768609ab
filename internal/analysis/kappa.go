package analysis

import "math"

// Kappa is an agreement statistic that may be undefined: when the agreement
// expected by chance is 1 there is nothing to beat, and the value is neither 1
// nor 0. Undefined kappas are reported as such and left out of every mean.
type Kappa struct {
	Value    float64 // NaN unless Defined
	Defined  bool
	N        int     // items both observers answered
	Observed float64 // c_obs (error consistency) or p_o (Cohen)
	Expected float64 // c_exp or p_e
}

// chanceEps treats an expected agreement this close to 1 as 1; with counts the
// degenerate case is exact, so this only guards rates computed elsewhere.
const chanceEps = 1e-12

func newKappa(n int, obs, exp float64) Kappa {
	k := Kappa{N: n, Observed: obs, Expected: exp, Value: math.NaN()}
	if n > 0 && 1-exp > chanceEps {
		k.Value = (obs - exp) / (1 - exp)
		k.Defined = true
	}
	return k
}

// ErrorConsistencyRates is the error consistency of two observers whose
// accuracies on the same n trials are p1 and p2 and who were both right or both
// wrong on a share cObs of them: kappa = (c_obs - c_exp) / (1 - c_exp) with
// c_exp = p1 p2 + (1-p1)(1-p2).
func ErrorConsistencyRates(n int, p1, p2, cObs float64) Kappa {
	return newKappa(n, cObs, p1*p2+(1-p1)*(1-p2))
}

// ErrorConsistency compares two observers' correctness on the items both
// answered (Missing on either side drops the item).
func ErrorConsistency(a, b, truth []Answer) Kappa {
	var c counts4
	for i := range truth {
		if a[i] == Missing || b[i] == Missing || truth[i] == Missing {
			continue
		}
		c.add(a[i] == truth[i], b[i] == truth[i])
	}
	return c.kappa()
}

// counts4 are the counts an error consistency needs: items both answered,
// each one's right answers, items both right or both wrong.
type counts4 struct{ n, r1, r2, same int }

func (c *counts4) add(right1, right2 bool) {
	c.n++
	if right1 {
		c.r1++
	}
	if right2 {
		c.r2++
	}
	if right1 == right2 {
		c.same++
	}
}

func (c counts4) kappa() Kappa { return errorConsistencyCounts(c.n, c.r1, c.r2, c.same) }

func errorConsistencyCounts(n, right1, right2, same int) Kappa {
	if n == 0 {
		return newKappa(0, math.NaN(), math.NaN())
	}
	nf := float64(n)
	return ErrorConsistencyRates(n, float64(right1)/nf, float64(right2)/nf, float64(same)/nf)
}

// CohenKappa is Cohen's kappa on the answers themselves over the items both
// answered, chance being each observer's own rate of Yes. Against the ground
// truth this is the meaningful measure: error consistency with an observer who
// is never wrong is 0 by construction.
func CohenKappa(a, b []Answer) Kappa {
	var t table
	for i := range a {
		t.add(a[i], b[i])
	}
	return t.kappa()
}

// table is a 2x2 contingency table of answers, index 0 = Yes, 1 = No.
type table [2][2]int

func (t *table) add(a, b Answer) {
	if a == Missing || b == Missing {
		return
	}
	t[int(a-Yes)][int(b-Yes)]++
}

func (t *table) kappa() Kappa {
	n := t[0][0] + t[0][1] + t[1][0] + t[1][1]
	if n == 0 {
		return newKappa(0, math.NaN(), math.NaN())
	}
	nf := float64(n)
	yesA := float64(t[0][0]+t[0][1]) / nf
	yesB := float64(t[0][0]+t[1][0]) / nf
	po := float64(t[0][0]+t[1][1]) / nf
	pe := yesA*yesB + (1-yesA)*(1-yesB)
	return newKappa(n, po, pe)
}
