package analysis

import (
	"encoding/json"
	"math"
)

// KappaChance puts a mean error consistency beside what its pairs'
// accuracies allow and what independent observers would give (Klein et al.
// 2025): Min and Max are the means over the averaged units of each pair's
// kappa_min and kappa_max (KappaRangeCounts), and P is the two-sided p-value
// of the mean against observers who err independently with the same
// accuracies.
//
// Under independence each pair's count of trials both got right is
// hypergeometric, so its kappa has mean exactly 0 and a known variance; the
// kappas of different pairs are uncorrelated even when they share a person
// (given one person's right trials, the other's are a uniform draw), so the
// mean's variance is the sum of the pairs' over the count squared and Z is
// normal for many pairs. A single pair gets the exact hypergeometric p-value
// instead. A model's kappa with a person averaged over seeds counts as one
// unit whose standard deviation is taken as the mean of the seeds' (as if
// the seeds erred on the same trials): that overstates the variance, so P is
// conservative there.
type KappaChance struct {
	Min, Max float64 // NaN when no unit is defined
	Z, P     float64 // NaN when no unit is defined; 0 and 1 when every kappa is fixed by its accuracies
	Units    int     // defined units averaged
}

// MarshalJSON writes undefined values as null.
func (c KappaChance) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min   jnum `json:"kappa_min"`
		Max   jnum `json:"kappa_max"`
		Z     jnum `json:"z"`
		P     jnum `json:"p_independent"`
		Units int  `json:"units"`
	}{jnum(c.Min), jnum(c.Max), jnum(c.Z), jnum(c.P), c.Units})
}

// pairChance is one pair's kappa with its bounds and its null standard deviation.
type pairChance struct {
	kappa, min, max, sd float64
	// n, k1, k2, both are the pair's counts, kept for the exact p-value,
	// which only a mean of one single pair prints: computing it for every
	// pair (a sum of hypergeometric terms) once cost more than the rest of
	// the serial part of an analysis.
	n, k1, k2, both int
	ok              bool // the kappa is defined
}

// exactP is the exact two-sided p-value of this pair alone.
func (pc pairChance) exactP() float64 { return KappaRangeCounts(pc.n, pc.k1, pc.k2, pc.both).P }

// chanceOfCounts is pairChance for n trials, k1 and k2 right, same agreeing.
func chanceOfCounts(n, k1, k2, same int) pairChance {
	both := (same - n + k1 + k2) / 2
	r := kappaRangeOnly(n, k1, k2, both)
	if !r.Kappa.Defined {
		return pairChance{}
	}
	pc := pairChance{kappa: r.Kappa.Value, min: r.Min, max: r.Max, n: n, k1: k1, k2: k2, both: both, ok: true}
	if n > 1 {
		nf := float64(n)
		varA := float64(k1) * float64(k2) * float64(n-k1) * float64(n-k2) / (nf * nf * (nf - 1))
		// kappa = (c_obs - c_exp) / (1 - c_exp) and c_obs = (n - k1 - k2 + 2a) / n.
		pc.sd = 2 / nf * math.Sqrt(varA) / (1 - r.Kappa.Expected)
	}
	return pc
}

// chanceAcc sums the units of a mean.
type chanceAcc struct {
	kappa, min, max, variance float64
	units                     int
	single                    pairChance // the only unit, when there is one single pair
	singlePair                bool
}

// addPair adds one pair as a unit.
func (a *chanceAcc) addPair(pc pairChance) {
	if !pc.ok {
		return
	}
	a.units++
	a.single, a.singlePair = pc, a.units == 1
	a.kappa += pc.kappa
	a.min += pc.min
	a.max += pc.max
	a.variance += pc.sd * pc.sd
}

// addSeeds adds one person's kappas with every seed of a model as one unit,
// their mean (the undefined ones left out, as the report's mean does).
func (a *chanceAcc) addSeeds(pcs []pairChance) {
	var k, lo, hi, sd float64
	var n int
	for _, pc := range pcs {
		if pc.ok {
			k, lo, hi, sd, n = k+pc.kappa, lo+pc.min, hi+pc.max, sd+pc.sd, n+1
		}
	}
	switch {
	case n == 0:
		return
	case n == 1 && len(pcs) == 1:
		a.addPair(pcs[0])
		return
	}
	f := float64(n)
	a.units++
	a.singlePair = false
	a.kappa += k / f
	a.min += lo / f
	a.max += hi / f
	a.variance += (sd / f) * (sd / f)
}

func (a *chanceAcc) result() KappaChance {
	c := KappaChance{Min: math.NaN(), Max: math.NaN(), Z: math.NaN(), P: math.NaN(), Units: a.units}
	if a.units == 0 {
		return c
	}
	u := float64(a.units)
	c.Min, c.Max = a.min/u, a.max/u
	if a.units == 1 && a.singlePair {
		c.P = a.single.exactP()
	}
	if a.variance == 0 {
		// Every pair's kappa is fixed by its accuracies (an observer always
		// right, say): it is 0 whatever the trials, which says nothing.
		c.Z, c.P = 0, 1
		return c
	}
	c.Z = a.kappa / math.Sqrt(a.variance)
	if !(a.units == 1 && a.singlePair) {
		c.P = math.Erfc(math.Abs(c.Z) / math.Sqrt2)
	}
	return c
}
