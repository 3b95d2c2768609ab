package analysis

import (
	"math"
	"slices"
)

// The two parts of a task's items for a condition with trained sizes.
const (
	SplitIn  = "in_distribution" // sizes the condition was trained on
	SplitOut = "held_out"        // the task's other sizes
)

// SplitPart is a model condition's results on one part of a task's items:
// those of the sizes it was trained on, or the rest, with people's accuracy
// on the same items beside it.
type SplitPart struct {
	Split         string   `json:"split"` // SplitIn or SplitOut
	Sizes         []int    `json:"sizes"`
	Items         int      `json:"items"`
	HumanAccuracy Accuracy `json:"human_accuracy"`
	Accuracy      Accuracy `json:"accuracy"`
	// ModelHuman is the mean error consistency with people on these items
	// (bootstrapped over people); ModelTruth Cohen's kappa with the truth
	// (bootstrapped over the part's items).
	ModelHuman       Estimate    `json:"model_human"`
	ModelHumanChance KappaChance `json:"model_human_chance"`
	ModelTruth       Estimate    `json:"model_truth"`
}

// splitOf names the part a size belongs to.
func splitOf(trained bool) string {
	if trained {
		return SplitIn
	}
	return SplitOut
}

// splitSpec is a part with the units of its model-human mean.
type splitSpec struct {
	part  SplitPart
	units []float64
}

// splitPart computes what needs no bootstrap for one part of a task's items.
func splitPart(all []Item, name string, items []int, runs, humans []run, nItems int) splitSpec {
	mask := newBitset(nItems)
	sp := SplitPart{Split: name, Items: len(items)}
	for _, j := range items {
		mask.set(j)
		if !slices.Contains(sp.Sizes, all[j].Size) {
			sp.Sizes = append(sp.Sizes, all[j].Size)
		}
	}
	slices.Sort(sp.Sizes)
	sp.HumanAccuracy = pooledAccuracy(humans, mask)
	sp.Accuracy = pooledAccuracy(runs, mask)
	units, chance := modelHumanUnits(runs, humans, mask)
	sp.ModelHumanChance = chance
	sp.ModelHuman, sp.ModelTruth = undefinedEstimate(), undefinedEstimate()
	return splitSpec{part: sp, units: units}
}

// modelHumanUnits are the units of a model's mean error consistency with
// people on mask: per person who answered an item of it, the kappa averaged
// over the model's seeds (NaN when every seed's is undefined); and the mean
// against chance.
func modelHumanUnits(runs, humans []run, mask bitset) ([]float64, KappaChance) {
	var mh []float64
	var acc chanceAcc
	pcs := make([]pairChance, len(runs))
	for _, h := range humans {
		var s float64
		var n, answered int
		for i, r := range runs {
			nn, r1, r2, same := countsBits(r.bits, h.bits, mask)
			k := errorConsistencyCounts(nn, r1, r2, same)
			pcs[i] = pairChance{}
			if k.N > 0 {
				answered++
			}
			if k.Defined {
				s += k.Value
				n++
				pcs[i] = chanceOfCounts(nn, r1, r2, same)
			}
		}
		acc.addSeeds(pcs)
		if n > 0 {
			mh = append(mh, s/float64(n))
		} else if answered > 0 {
			mh = append(mh, math.NaN())
		}
	}
	return mh, acc.result()
}
