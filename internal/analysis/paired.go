package analysis

import (
	"math"
)

// PairedDifference is the mean of a[i] - b[i] over the pairs where both are
// defined (not NaN), with a bootstrap interval that resamples the pairs, so
// that both sides of a pair are always drawn together: the paired bootstrap.
// Pairs are items for a difference in accuracy and people for a difference
// in mean kappa to humans. name keys the bootstrap's random stream (see
// streamKey), so the same name, seed and data give the same interval.
func PairedDifference(a, b []float64, resamples int, seed uint64, name string) Estimate {
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	var d []float64
	undefined := 0
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			undefined++
			continue
		}
		d = append(d, a[i]-b[i])
	}
	var est Estimate
	jb, fin := meanEstimate(d, undefined, resamples, func(e Estimate) { est = e })
	if jb != nil {
		jb.key = streamKey("paired", name)
		runJobs([]*job{jb}, seed, 0)
	}
	fin()
	return est
}

// AccuracyDifference compares two observers' accuracy on the same items:
// McNemar's exact test and the paired bootstrap interval of the difference
// (first minus second) over the items both answered.
func AccuracyDifference(a, b, truth []Answer, resamples int, seed uint64, name string) (McNemar, Estimate) {
	ra := make([]float64, len(truth))
	rb := make([]float64, len(truth))
	for i := range truth {
		if a[i] == Missing || b[i] == Missing || truth[i] == Missing {
			ra[i], rb[i] = math.NaN(), math.NaN()
			continue
		}
		if a[i] == truth[i] {
			ra[i] = 1
		}
		if b[i] == truth[i] {
			rb[i] = 1
		}
	}
	e := PairedDifference(ra, rb, resamples, seed, name)
	e.Undefined = 0 // items either side left unanswered are not kappas
	return McNemarTest(a, b, truth), e
}

// peopleJob is the bootstrap over people of a mean over pairs of people:
// each resample draws n people with replacement and averages the kappa of
// every pair of distinct drawn people (a person drawn twice is not paired
// with themself), each pair weighted by how often both were drawn. edges are
// the pairs with a defined kappa.
func peopleJob(n int, edges []personPair, resamples int) *job {
	return &job{resamples: resamples, fill: func(d *drawer, from, to int, out []float64) {
		w := make([]float64, n)
		drawn := make([]uint32, n)
		for r := from; r < to; r++ {
			clear(w)
			d.indices(uint32(n), drawn)
			for _, i := range drawn {
				w[i]++
			}
			var s, ws float64
			for _, e := range edges {
				if x := w[e.a] * w[e.b]; x > 0 {
					s += x * e.kappa
					ws += x
				}
			}
			out[r] = math.NaN()
			if ws > 0 {
				out[r] = s / ws
			}
		}
	}}
}

// personPair is the defined kappa of people a < b.
type personPair struct {
	a, b  int32
	kappa float64
}

// peopleEstimate prepares the bootstrap over people of the mean of the pairs'
// kappas; the point estimate is the plain mean over pairs, as for the
// bootstrap over pairs, so the two intervals differ only in what they resample.
func peopleEstimate(n int, edges []personPair, undefined, resamples int, set func(Estimate)) (*job, func()) {
	if len(edges) == 0 {
		e := undefinedEstimate()
		e.Undefined = undefined
		return nil, func() { set(e) }
	}
	var s float64
	for _, e := range edges {
		s += e.kappa
	}
	mean := s / float64(len(edges))
	jb := peopleJob(n, edges, resamples)
	return jb, func() { set(percentileEstimate(mean, len(edges), undefined, jb.out)) }
}
