package analysis

import "math"

// The bootstrap over people of a mean over pairs of people: each resample
// draws the n people with replacement, w_i times person i, and averages the
// kappa of every pair of distinct drawn people, a pair weighted by how often
// both were drawn (w_a w_b; a person drawn twice is not paired with
// themself). Only pairs with a defined kappa count: the resample's mean is
//
//	sum over a < b of w_a w_b kappa_ab / sum over defined a < b of w_a w_b,
//
// undefined when no defined pair was drawn.
//
// Every such mean over the same n people (the six sizes and all sizes of a
// task) is keyed by meanKey(task, MeasureHumanHumanPeople, n), so it draws
// the same people in every resample, and one pass over the drawn people
// serves up to meanWidth means: the kappas of a pair lie in one row of eight
// float64 (one cache line). A pass visits only the pairs of distinct drawn
// people, about 40% of the pairs (a person is left out of a resample with
// probability (1-1/n)^n, about 0.37), instead of every pair.
//
// Each mean's sum is taken in the same order whatever else shares its pass
// and whichever of the two layouts below holds it: person a ascending, the
// sum over b > a of w_b kappa_ab (b ascending) first, then times w_a. Terms
// with w = 0 or a pair without a kappa add an exact zero, so skipping them
// changes nothing; a mean gives the same bits alone, in company and in
// either layout.

// peopleSpec is one mean over pairs to bootstrap over people.
type peopleSpec struct {
	key       uint64 // meanKey(task, MeasureHumanHumanPeople, n)
	n         int    // people drawn in a resample
	edges     []personPair
	undefined int // pairs whose kappa is undefined
	set       func(Estimate)
}

// personPair is the defined kappa of people a < b.
type personPair struct {
	a, b  int32
	kappa float64
}

// densePeopleBytes bounds the table of every pair's row (n(n-1)/2 rows of
// eight float64: 32 MB is about 1,000 people); larger or sparse studies (a
// pool study where few pairs share an item) keep lists of each person's
// partners.
const densePeopleBytes = 32 << 20

// peopleJobs makes one job per run of up to meanWidth specs with the same
// key, and the functions that set each estimate once the jobs have run.
func peopleJobs(specs []peopleSpec, resamples int) ([]*job, []func()) {
	type pending struct {
		spec peopleSpec
		mean float64
	}
	var jobs []*job
	var finish []func()
	byKey := map[uint64][]pending{}
	var keys []uint64
	for _, sp := range specs {
		if len(sp.edges) == 0 {
			e := undefinedEstimate()
			e.Undefined = sp.undefined
			finish = append(finish, func() { sp.set(e) })
			continue
		}
		var s float64
		for _, e := range sp.edges {
			s += e.kappa
		}
		if _, ok := byKey[sp.key]; !ok {
			keys = append(keys, sp.key)
		}
		byKey[sp.key] = append(byKey[sp.key], pending{sp, s / float64(len(sp.edges))})
	}
	for _, k := range keys {
		group := byKey[k]
		for len(group) > 0 {
			batch := group[:min(meanWidth, len(group))]
			group = group[len(batch):]
			edges := make([][]personPair, len(batch))
			for b, p := range batch {
				edges[b] = p.spec.edges
			}
			jb := peopleJob(batch[0].spec.n, edges, resamples)
			jb.key = k
			jobs = append(jobs, jb)
			for b, p := range batch {
				finish = append(finish, func() {
					p.spec.set(percentileEstimate(p.mean, len(p.spec.edges), p.spec.undefined, jb.out[b*resamples:(b+1)*resamples]))
				})
			}
		}
	}
	return jobs, finish
}

// peopleJob bootstraps over n people the means of the pairs in edges[c]
// (at most meanWidth lists, each ordered by a, then b).
// out[c*resamples+r] is resample r of mean c.
func peopleJob(n int, edges [][]personPair, resamples int) *job {
	w := len(edges)
	pairs := n * (n - 1) / 2
	missing := 0
	for _, es := range edges {
		missing += pairs - len(es)
	}
	stride := meanWidth
	if w == 1 {
		stride = 1
	}
	var fill func(d *drawer, from, to int, out []float64)
	if missing <= pairs && pairs*stride*8 <= densePeopleBytes {
		fill = densePeople(n, edges, stride, resamples)
	} else {
		fill = sparsePeople(n, edges, resamples)
	}
	return &job{resamples: resamples, width: w, fill: fill}
}

// peopleDraw is one resample of people: how often each was drawn (counts),
// the distinct ones ascending (who) with their counts as float64 (times),
// and the sum of the squared counts.
type peopleDraw struct {
	drawn  []uint32
	counts []int32
	who    []int32
	times  []float64
	place  []int32 // place[i] = q where who[q] = i, for the drawn i
	sumSq  int
}

func newPeopleDraw(n int) *peopleDraw {
	return &peopleDraw{drawn: make([]uint32, n), counts: make([]int32, n), who: make([]int32, 0, n), times: make([]float64, 0, n), place: make([]int32, n)}
}

// draw draws the next resample from d.
func (p *peopleDraw) draw(d *drawer) {
	clear(p.counts)
	d.indices(uint32(len(p.counts)), p.drawn)
	for _, i := range p.drawn {
		p.counts[i]++
	}
	p.who, p.times, p.sumSq = p.who[:0], p.times[:0], 0
	for i, c := range p.counts {
		if c > 0 {
			p.place[i] = int32(len(p.who))
			p.who = append(p.who, int32(i))
			p.times = append(p.times, float64(c))
			p.sumSq += int(c) * int(c)
		}
	}
}

// densePeople holds every pair's row, zero where a pair has no defined kappa,
// and lists the pairs without one: a resample's weights are then the weight
// of all pairs of drawn people, (n^2 - sum w_i^2) / 2, less those pairs'.
func densePeople(n int, edges [][]personPair, stride, resamples int) func(d *drawer, from, to int, out []float64) {
	// Pair (a, b), a < b, is pair number pair[a] + b-a-1; its values start
	// at base[a] + b*stride, the rows of pairs being stored from the second
	// row on (an unused first row keeps base[0] from being negative).
	pair := make([]int, n)
	base := make([]int, n)
	for a := range n {
		if a > 0 {
			pair[a] = pair[a-1] + n - a
		}
		base[a] = (pair[a] - a) * stride
	}
	vals := make([]float64, (1+n*(n-1)/2)*stride)
	defined := make([]uint8, n*(n-1)/2) // bit c: the pair has a kappa in mean c
	for c, es := range edges {
		for _, e := range es {
			vals[base[e.a]+int(e.b)*stride+c] = e.kappa
			defined[pair[e.a]+int(e.b-e.a)-1] |= 1 << c
		}
	}
	type hole struct {
		a, b  int32
		means uint8 // bit c: no kappa in mean c
	}
	var holes []hole
	all := uint8(1<<len(edges) - 1)
	for a := range n {
		for b := a + 1; b < n; b++ {
			if m := all &^ defined[pair[a]+b-a-1]; m != 0 {
				holes = append(holes, hole{int32(a), int32(b), m})
			}
		}
	}
	w := len(edges)
	return func(d *drawer, from, to int, out []float64) {
		p := newPeopleDraw(n)
		for r := from; r < to; r++ {
			p.draw(d)
			var sums [meanWidth]float64
			if stride == 1 {
				sums[0] = densePairSum1(vals, base, p.who, p.times)
			} else {
				sums = densePairSum8(vals, base, p.who, p.times)
			}
			all := float64(n*n-p.sumSq) / 2
			var weights [meanWidth]float64
			for c := range w {
				weights[c] = all
			}
			for _, h := range holes {
				if x := p.counts[h.a] * p.counts[h.b]; x > 0 {
					for c := range w {
						if h.means&(1<<c) != 0 {
							weights[c] -= float64(x)
						}
					}
				}
			}
			for c := range w {
				out[c*resamples+r] = math.NaN()
				if weights[c] > 0 {
					out[c*resamples+r] = sums[c] / weights[c]
				}
			}
		}
	}
}

// densePairSum1 is sum over drawn a < b of w_a w_b vals(a, b), one mean.
// The sum over b > a is taken in two parts, the drawn b at even and at odd
// places after a, added at the end: two chains of dependent additions
// instead of one.
func densePairSum1(vals []float64, base []int, who []int32, times []float64) float64 {
	var s float64
	for p, a := range who {
		row := vals[base[a]:] // row[b] is pair (a, b) for b > a
		var even, odd float64
		q := p + 1
		for ; q+1 < len(who); q += 2 {
			even += times[q] * row[who[q]]
			odd += times[q+1] * row[who[q+1]]
		}
		if q < len(who) {
			even += times[q] * row[who[q]]
		}
		s += times[p] * (even + odd)
	}
	return s
}

// densePairSum8 is densePairSum1 for eight means at once.
func densePairSum8(vals []float64, base []int, who []int32, times []float64) [meanWidth]float64 {
	if !rowsAVX2 {
		return densePairSum8Go(vals, base, who, times)
	}
	var s [meanWidth]float64
	if len(who) > 0 && len(vals) < base[who[len(who)-1]]+(int(who[len(who)-1])+1)*meanWidth {
		panic("analysis: pair table too short") // the last person's row bounds every row
	}
	for p, a := range who {
		var acc [meanWidth]float64
		pairRow8AVX2(vals[base[a]:], who[p+1:], times[p+1:], &acc)
		y := times[p]
		for c := range s {
			s[c] += y * acc[c]
		}
	}
	return s
}

// densePairSum8Go is densePairSum8 in plain Go.
func densePairSum8Go(vals []float64, base []int, who []int32, times []float64) [meanWidth]float64 {
	var s [meanWidth]float64
	for p, a := range who {
		row := vals[base[a]:] // row[b*8:] is pair (a, b) for b > a
		var even, odd [meanWidth]float64
		for q := p + 1; q < len(who); q++ {
			x := times[q]
			v := (*[meanWidth]float64)(row[int(who[q])*meanWidth:])
			acc := &even
			if (q-p-1)%2 == 1 {
				acc = &odd
			}
			for c := range acc {
				acc[c] += x * v[c]
			}
		}
		y := times[p]
		for c := range s {
			s[c] += y * (even[c] + odd[c])
		}
	}
	return s
}

// sparsePeople keeps each person's later partners with a defined kappa, per
// mean, and visits them for every drawn person.
func sparsePeople(n int, edges [][]personPair, resamples int) func(d *drawer, from, to int, out []float64) {
	type partner struct {
		b     int32
		kappa float64
	}
	// partners[c][start[c][a]:start[c][a+1]] are a's, ascending.
	partners := make([][]partner, len(edges))
	starts := make([][]int, len(edges))
	for c, es := range edges {
		starts[c] = make([]int, n+1)
		partners[c] = make([]partner, len(es))
		for i, e := range es {
			starts[c][e.a+1]++
			partners[c][i] = partner{e.b, e.kappa}
		}
		for a := range n {
			starts[c][a+1] += starts[c][a]
		}
	}
	return func(d *drawer, from, to int, out []float64) {
		p := newPeopleDraw(n)
		for r := from; r < to; r++ {
			p.draw(d)
			for c := range edges {
				var s, ws float64
				for q, a := range p.who {
					// The partners at even and odd places among the
					// drawn people after a, as densePairSum1 sums them.
					var even, odd float64
					var wa int32
					for _, e := range partners[c][starts[c][a]:starts[c][a+1]] {
						x := p.counts[e.b]
						if x == 0 {
							continue
						}
						wa += x
						if (int(p.place[e.b])-q-1)%2 == 0 {
							even += float64(x) * e.kappa
						} else {
							odd += float64(x) * e.kappa
						}
					}
					s += p.times[q] * (even + odd)
					ws += p.times[q] * float64(wa)
				}
				out[c*resamples+r] = math.NaN()
				if ws > 0 {
					out[c*resamples+r] = s / ws
				}
			}
		}
	}
}
