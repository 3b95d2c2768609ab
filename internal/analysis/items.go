package analysis

import (
	"cmp"
	"math"
	"slices"
)

// ItemAnswers is what people answered to one item: how many answered, how
// many said Yes and how many were right.
type ItemAnswers struct {
	Item            Item
	N, Yes, Correct int
}

// PYes is the share of the item's answers that are Yes (NaN without answers).
func (a ItemAnswers) PYes() float64 {
	if a.N == 0 {
		return math.NaN()
	}
	return float64(a.Yes) / float64(a.N)
}

// HumanItemAnswers counts, for every item of m that is not an attention
// check, the answers of the people who count (excluded observers dropped),
// in the matrix's item order.
func HumanItemAnswers(m *Matrix) []ItemAnswers {
	var out []ItemAnswers
	for j, it := range m.Items {
		if it.AttentionCheck {
			continue
		}
		a := ItemAnswers{Item: it}
		for _, o := range m.Observers {
			if o.Kind != Human || o.Excluded {
				continue
			}
			switch o.Answers[j] {
			case Missing:
				continue
			case Yes:
				a.Yes++
			}
			a.N++
			if o.Answers[j] == it.Truth {
				a.Correct++
			}
		}
		out = append(out, a)
	}
	return out
}

// SoftComparison compares people's share of Yes on each item with a
// model's P(Yes) on it, over the items with at least MinSoftAnswers answers.
type SoftComparison struct {
	Items int `json:"items"`
	// Pearson is the correlation of the two over items, with a Fisher-z 95%
	// interval (NaN with fewer than four items or no spread).
	Pearson, Lo, Hi float64
	// MeanAbsDiff is the mean of |human P(Yes) - model P(Yes)|.
	MeanAbsDiff float64
	// Bins is the calibration curve: items grouped by the model's P(Yes) into
	// ten bins of width 0.1; each bin pools its items' human answers.
	Bins []CalibrationBin
}

// CalibrationBin is one bin of the calibration curve.
type CalibrationBin struct {
	Lo, Hi    float64 // the bin's range of model P(Yes); the last bin includes 1
	Items     int
	ModelMean float64  // mean model P(Yes) of its items (NaN when empty)
	Human     Accuracy // pooled human answers: Correct counts the Yes, with a Wilson interval
}

// MinSoftAnswers is the fewest answers an item needs for its share of Yes to
// count as a soft label.
const MinSoftAnswers = 2

// CompareSoft compares human soft labels with a model's P(Yes); modelPYes
// maps an item id to the model's P(Yes) (items without one are skipped).
func CompareSoft(items []ItemAnswers, modelPYes map[string]float64) SoftComparison {
	const bins = 10
	c := SoftComparison{Pearson: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), MeanAbsDiff: math.NaN()}
	yes, n := make([]int, bins), make([]int, bins)
	sumP, count := make([]float64, bins), make([]int, bins)
	var xs, ys []float64
	for _, a := range items {
		p, ok := modelPYes[a.Item.ID]
		if !ok || math.IsNaN(p) || a.N < MinSoftAnswers {
			continue
		}
		xs, ys = append(xs, p), append(ys, a.PYes())
		b := min(int(p*bins), bins-1)
		yes[b] += a.Yes
		n[b] += a.N
		sumP[b] += p
		count[b]++
	}
	c.Items = len(xs)
	for b := range bins {
		bin := CalibrationBin{Lo: float64(b) / bins, Hi: float64(b+1) / bins, Items: count[b], ModelMean: math.NaN(), Human: NewAccuracy(yes[b], n[b])}
		if count[b] > 0 {
			bin.ModelMean = sumP[b] / float64(count[b])
		}
		c.Bins = append(c.Bins, bin)
	}
	if len(xs) == 0 {
		return c
	}
	var mad float64
	for i := range xs {
		mad += math.Abs(xs[i] - ys[i])
	}
	c.MeanAbsDiff = mad / float64(len(xs))
	c.Pearson = pearson(xs, ys)
	if k := float64(len(xs)); k > 3 && !math.IsNaN(c.Pearson) {
		z, se := math.Atanh(max(-0.9999999, min(0.9999999, c.Pearson))), 1/math.Sqrt(k-3)
		c.Lo, c.Hi = math.Tanh(z-Z95*se), math.Tanh(z+Z95*se)
	}
	return c
}

// pearson is the correlation of xs and ys; NaN when either has no spread.
func pearson(xs, ys []float64) float64 {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Disagreement is one item's test of whether people answer it against the
// ground truth more often than chance.
type Disagreement struct {
	ItemAnswers
	Wrong int     // answers against the ground truth
	P     float64 // one-sided binomial P(X >= Wrong) with X ~ Binomial(N, 1/2)
	Q     float64 // Benjamini-Hochberg adjusted p (the false discovery rate at which it is found)
	Found bool    // Q <= the rate asked for
}

// Disagreements tests every answered item: H0 says a person is wrong on it
// with probability at most 1/2 (a coin toss between Yes and No), H1 more; the
// p-values are adjusted by Benjamini and Hochberg's step-up procedure over
// the items tested, and an item is found when its adjusted p is at most fdr.
// The result is sorted by p, then item id; items without answers are left out.
func Disagreements(items []ItemAnswers, fdr float64) []Disagreement {
	var out []Disagreement
	for _, a := range items {
		if a.N == 0 {
			continue
		}
		wrong := a.N - a.Correct
		out = append(out, Disagreement{ItemAnswers: a, Wrong: wrong, P: binomialUpperTail(a.N, wrong)})
	}
	slices.SortStableFunc(out, func(a, b Disagreement) int {
		return cmp.Or(cmp.Compare(a.P, b.P), cmp.Compare(a.Item.ID, b.Item.ID))
	})
	m := float64(len(out))
	q := 1.0
	for i := len(out) - 1; i >= 0; i-- {
		q = min(q, out[i].P*m/float64(i+1))
		out[i].Q = q
		out[i].Found = q <= fdr
	}
	return out
}

// binomialUpperTail is P(X >= k) for X ~ Binomial(n, 1/2), summed exactly in logs.
func binomialUpperTail(n, k int) float64 {
	if k <= 0 {
		return 1
	}
	if k > n {
		return 0
	}
	var s float64
	for i := k; i <= n; i++ {
		s += math.Exp(logChoose(n, i) - float64(n)*math.Ln2)
	}
	return min(1, s)
}
