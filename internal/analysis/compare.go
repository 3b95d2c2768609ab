package analysis

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/cubelab/cubelab/internal/task"
)

// DefaultResamples is the number of bootstrap resamples when Options leaves it 0.
const DefaultResamples = 10000

// Grouping chooses which conditions Analyze reports.
type Grouping int8

// Groupings; the zero value reports both.
const (
	BySizeAndTask Grouping = iota // every (task, size) and every task over all its sizes
	ByTask                        // every task over all its sizes only
)

// Options tune Analyze; the zero value is the default analysis.
type Options struct {
	Resamples int    // bootstrap resamples, DefaultResamples when 0
	Seed      uint64 // the same seed and data give the same intervals
	Workers   int    // goroutines for the bootstrap, GOMAXPROCS when 0
	Grouping  Grouping
}

// Report is every number the comparison shows, one Group per condition.
type Report struct {
	Resamples int     `json:"resamples"`
	Seed      uint64  `json:"seed"`
	Groups    []Group `json:"groups"`
}

// Group holds the results for one task and size; Size 0 means all sizes of the task.
type Group struct {
	Task   task.Domain `json:"task"`
	Size   int         `json:"size"`
	Items  int         `json:"items"`
	Humans int         `json:"humans"`
	// HumanAccuracy pools every human answer in the group.
	HumanAccuracy Accuracy `json:"human_accuracy"`
	// HumanHuman is the mean error consistency over every pair of people,
	// bootstrapped over the pairs (measure kappa_human_human).
	HumanHuman Estimate `json:"human_human"`
	// HumanHumanPeople is the same mean bootstrapped over people, the unit
	// of sampling: each resample draws people and averages the pairs among
	// them (measure kappa_human_human_people); its interval is the wider,
	// honest one when people, not pairs, were sampled.
	HumanHumanPeople Estimate `json:"human_human_people"`
	// HumanHumanChance is the mean's attainable range and p-value against
	// independent observers (pairs with an undefined kappa left out).
	HumanHumanChance KappaChance   `json:"human_human_chance"`
	Models           []ModelResult `json:"models"`
}

// ModelResult is one model and condition, averaged over its seeds.
type ModelResult struct {
	Model     string  `json:"model"`
	Condition string  `json:"condition"`
	Seeds     []int64 `json:"seeds"`
	// Accuracy pools the answers of every seed.
	Accuracy Accuracy `json:"accuracy"`
	// ModelHuman is the mean error consistency with every person (each
	// person's kappa first averaged over seeds), bootstrapped over people.
	ModelHuman Estimate `json:"model_human"`
	// ModelHumanChance is ModelHuman's attainable range and p-value
	// against independent observers.
	ModelHumanChance KappaChance `json:"model_human_chance"`
	// ModelTruth is Cohen's kappa on the answers against the ground truth,
	// averaged over seeds, bootstrapped over items.
	ModelTruth Estimate `json:"model_truth"`
	// Trained is what the condition was fine-tuned on (Trained's text form,
	// "" when nothing is recorded). In a group of one size of a task it was
	// trained on, Split says whether that size is SplitIn or SplitOut; in
	// the group of all sizes, Parts holds the results on each part.
	Trained string      `json:"trained,omitempty"`
	Split   *string     `json:"split,omitempty"`
	Parts   []SplitPart `json:"parts,omitempty"`
}

// bitset has one bit per item of the matrix.
type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

// observerBits is an observer's answers as bit sets: answered, correct, said Yes.
type observerBits struct{ answered, correct, yes bitset }

type run struct {
	obs  int // index into Matrix.Observers
	bits observerBits
}

type modelKey struct{ model, condition string }

// Analyze computes accuracies, error consistencies and Cohen's kappas for every
// condition, with bootstrap intervals. Attention-check items and excluded
// observers are dropped first.
func Analyze(m *Matrix, opt Options) (*Report, error) {
	return AnalyzeContext(context.Background(), m, opt)
}

// AnalyzeContext is Analyze that stops when ctx is done (a report nobody
// waits for any more), between models and between bootstrap chunks, and
// then returns ctx's error and no report.
func AnalyzeContext(ctx context.Context, m *Matrix, opt Options) (*Report, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if opt.Resamples == 0 {
		opt.Resamples = DefaultResamples
	}
	if opt.Resamples < 0 {
		return nil, fmt.Errorf("analysis: %d resamples", opt.Resamples)
	}
	nItems := len(m.Items)
	truthYes := newBitset(nItems)
	for j, it := range m.Items {
		if it.Truth == Yes {
			truthYes.set(j)
		}
	}
	var humans []run
	models := map[modelKey][]run{}
	var modelOrder []modelKey
	for i, o := range m.Observers {
		if o.Excluded {
			continue
		}
		r := run{obs: i, bits: observerBits{newBitset(nItems), newBitset(nItems), newBitset(nItems)}}
		for j, a := range o.Answers {
			if a == Missing || m.Items[j].AttentionCheck {
				continue
			}
			r.bits.answered.set(j)
			if a == Yes {
				r.bits.yes.set(j)
			}
			if a == m.Items[j].Truth {
				r.bits.correct.set(j)
			}
		}
		if o.Kind == Human {
			humans = append(humans, r)
			continue
		}
		k := modelKey{o.Model, o.Condition}
		if _, ok := models[k]; !ok {
			modelOrder = append(modelOrder, k)
		}
		models[k] = append(models[k], r)
	}
	answeredBy := observersByItem(humans, nItems)
	slices.SortFunc(modelOrder, func(a, b modelKey) int {
		return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.condition, b.condition))
	})
	for _, k := range modelOrder {
		slices.SortStableFunc(models[k], func(a, b run) int {
			return cmp.Compare(m.Observers[a.obs].Seed, m.Observers[b.obs].Seed)
		})
	}

	rep := &Report{Resamples: opt.Resamples, Seed: opt.Seed}
	var jobs []*job
	var finish []func()
	var means []meanSpec
	var people []peopleSpec
	var truths []truthSpec
	// The groups are set up side by side (pair kappas, their bounds, the
	// model-human units: a few milliseconds each), each into its own place;
	// their bootstraps are then listed in the order of the groups.
	groups := groupsOf(m.Items, opt.Grouping)
	rep.Groups = make([]Group, len(groups))
	type groupWork struct {
		means  []meanSpec
		people []peopleSpec
		truths []truthSpec
	}
	work := make([]groupWork, len(groups))
	setup := func(gi int, g Group) error {
		w := &work[gi]
		mask := newBitset(nItems)
		var items []int
		for j, it := range m.Items {
			if !it.AttentionCheck && it.Task == g.Task && (g.Size == 0 || it.Size == g.Size) {
				mask.set(j)
				items = append(items, j)
			}
		}
		g.Items = len(items)
		// Bootstraps are keyed by what they measure, never by their place in
		// the run: means over pairs or people by meanKey, the kappa with the
		// truth by its cell.
		size := "all"
		if g.Size != 0 {
			size = strconv.Itoa(g.Size)
		}
		g.HumanAccuracy = pooledAccuracy(humans, mask)
		for _, h := range humans {
			if intersects(h.bits.answered, mask) {
				g.Humans++
			}
		}

		// Human-human: every pair's error consistency once, then resample pairs.
		hh, hhUndef := humanPairs(humans, answeredBy, mask)
		rep.Groups[gi] = g
		w.means = append(w.means, meanSpec{key: meanKey(g.Task, MeasureHumanHuman, len(hh)+hhUndef), units: pairUnits(hh, hhUndef),
			set: func(e Estimate) { rep.Groups[gi].HumanHuman = e }})
		var hhChance chanceAcc
		for _, p := range hh {
			hhChance.addPair(chanceBits(humans[p.a].bits, humans[p.b].bits, mask))
		}
		rep.Groups[gi].HumanHumanChance = hhChance.result()
		w.people = append(w.people, peopleSpec{key: meanKey(g.Task, MeasureHumanHumanPeople, len(humans)), n: len(humans), edges: hh, undefined: hhUndef,
			set: func(e Estimate) { rep.Groups[gi].HumanHumanPeople = e }})

		for _, mk := range modelOrder {
			if err := ctx.Err(); err != nil {
				return err // each model costs a pass over every person
			}
			runs := models[mk]
			mr := ModelResult{Model: mk.model, Condition: mk.condition, Accuracy: pooledAccuracy(runs, mask)}
			trained := m.Observers[runs[0].obs].Trained
			mr.Trained = trained.String()
			if g.Size != 0 && trained.Touches(g.Task) {
				split := splitOf(trained.Has(g.Task, g.Size))
				mr.Split = &split
			}
			for _, r := range runs {
				mr.Seeds = append(mr.Seeds, m.Observers[r.obs].Seed)
			}
			mi := len(rep.Groups[gi].Models)
			rep.Groups[gi].Models = append(rep.Groups[gi].Models, mr)
			result := func() *ModelResult { return &rep.Groups[gi].Models[mi] }

			// Model-human: per person, the kappa averaged over seeds (NaN
			// when every seed's is undefined), over the people who answered
			// an item of the group.
			mh, chance := modelHumanUnits(runs, humans, mask)
			rep.Groups[gi].Models[mi].ModelHumanChance = chance
			w.means = append(w.means, meanSpec{key: meanKey(g.Task, MeasureModelHuman, len(mh)), units: mh,
				set: func(e Estimate) { result().ModelHuman = e }})
			if g.Size == 0 && trained.Touches(g.Task) {
				var in, out []int
				for _, j := range items {
					if trained.Has(g.Task, m.Items[j].Size) {
						in = append(in, j)
					} else {
						out = append(out, j)
					}
				}
				for _, part := range []struct {
					name  string
					items []int
				}{{SplitIn, in}, {SplitOut, out}} {
					sp := splitPart(m.Items, part.name, part.items, runs, humans, nItems)
					pm := len(rep.Groups[gi].Models[mi].Parts)
					rep.Groups[gi].Models[mi].Parts = append(rep.Groups[gi].Models[mi].Parts, sp.part)
					res := func() *SplitPart { return &result().Parts[pm] }
					w.means = append(w.means, meanSpec{key: meanKey(g.Task, MeasureModelHuman, len(sp.units)), units: sp.units,
						set: func(e Estimate) { res().ModelHuman = e }})
					key := streamKey(string(g.Task), size, MeasureModelTruth, mk.model, mk.condition, part.name)
					w.truths = append(w.truths, newTruthSpec(key, runs, part.items, truthYes, func(e Estimate) { res().ModelTruth = e }))
				}
			}

			// Each model's kappa with the truth draws its own items, keyed by
			// its cell: with twenty items a resample's kappa takes few values,
			// and shared draws would tie the models' intervals together.
			truthKey := streamKey(string(g.Task), size, MeasureModelTruth, mk.model, mk.condition)
			w.truths = append(w.truths, newTruthSpec(truthKey, runs, items, truthYes, func(e Estimate) { result().ModelTruth = e }))
		}
		return nil
	}
	eg := workerGroup(opt.Workers)
	for gi, g := range groups {
		eg.Go(func() error { return setup(gi, g) })
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	for _, w := range work {
		means = append(means, w.means...)
		people = append(people, w.people...)
		truths = append(truths, w.truths...)
	}
	mj, mf := meanJobs(means, opt.Resamples)
	pj, pf := peopleJobs(people, opt.Resamples)
	tj, tf := truthJobs(truths, opt.Resamples)
	jobs, finish = append(append(append(jobs, pj...), mj...), tj...), append(append(append(finish, pf...), mf...), tf...)
	if err := runJobsContext(ctx, jobs, opt.Seed, opt.Workers); err != nil {
		return nil, err
	}
	// Each finish sets its own estimate (two percentiles of 10,000 values).
	parallel(finish, opt.Workers)
	return rep, nil
}

// meanEstimate prepares the bootstrap of a mean of defined values alone, in
// a job of its own; set receives the result.
func meanEstimate(vals []float64, undefined, resamples int, set func(Estimate)) (*job, func()) {
	if len(vals) == 0 {
		e := undefinedEstimate()
		e.Undefined = undefined
		return nil, func() { set(e) }
	}
	var s float64
	for _, v := range vals {
		s += v
	}
	mean := s / float64(len(vals))
	jb := fusedMeanJob([][]float64{vals}, resamples)
	return jb, func() { set(percentileEstimate(mean, len(vals), undefined, jb.out)) }
}

// groupsOf lists the conditions present: per task in task.Domains order, each size
// ascending, then the task over all sizes.
func groupsOf(items []Item, by Grouping) []Group {
	sizes := map[task.Domain][]int{}
	for _, it := range items {
		if !it.AttentionCheck && !slices.Contains(sizes[it.Task], it.Size) {
			sizes[it.Task] = append(sizes[it.Task], it.Size)
		}
	}
	var gs []Group
	for _, d := range task.Domains {
		ss, ok := sizes[d]
		if !ok {
			continue
		}
		if by == BySizeAndTask {
			slices.Sort(ss)
			for _, s := range ss {
				if s != 0 {
					gs = append(gs, Group{Task: d, Size: s})
				}
			}
		}
		gs = append(gs, Group{Task: d, Size: 0})
	}
	return gs
}

func pooledAccuracy(runs []run, mask bitset) Accuracy {
	var correct, n int
	for _, r := range runs {
		for w := range mask {
			n += bits.OnesCount64(r.bits.answered[w] & mask[w])
			correct += bits.OnesCount64(r.bits.correct[w] & mask[w])
		}
	}
	return NewAccuracy(correct, n)
}

func intersects(a, b bitset) bool {
	for w := range a {
		if a[w]&b[w] != 0 {
			return true
		}
	}
	return false
}

// observersByItem lists, for each item, the people (indices into humans, ascending)
// who answered it.
func observersByItem(humans []run, nItems int) [][]int32 {
	by := make([][]int32, nItems)
	for h, r := range humans {
		for j := range setBits(r.bits.answered, nil) {
			by[j] = append(by[j], int32(h))
		}
	}
	return by
}

// setBits yields every index set in a (and in mask, unless mask is nil), ascending.
func setBits(a, mask bitset) iter.Seq[int] {
	return func(yield func(int) bool) {
		for w, x := range a {
			if mask != nil {
				x &= mask[w]
			}
			for x != 0 {
				if !yield(w*64 + bits.TrailingZeros64(x)) {
					return
				}
				x &= x - 1
			}
		}
	}
}

// humanPairs is the error consistency of every pair of people, a < b in the
// order of humans, who both answered some item of mask: the defined kappas in
// that order and the number of undefined ones. Pairs with no item in common
// have no kappa at all and are not counted; in a pool study (each person sees
// K of many items) they are nearly all pairs, so partners are found through
// the items a person answered instead of by trying everybody.
func humanPairs(humans []run, answeredBy [][]int32, mask bitset) (pairs []personPair, undefined int) {
	// seen[b] == a+1 when b is already among a's partners.
	seen := make([]int, len(humans))
	var partners []int32
	for a := range humans {
		partners = partners[:0]
		later := len(humans) - a - 1
		for j := range setBits(humans[a].bits.answered, mask) {
			if len(partners) == later {
				break // everybody after a is a partner already (a fixed design)
			}
			obs := answeredBy[j]
			i, _ := slices.BinarySearch(obs, int32(a+1))
			for _, b := range obs[i:] {
				if seen[b] != a+1 {
					seen[b] = a + 1
					partners = append(partners, b)
				}
			}
		}
		// The order of the values fixes which pair each bootstrap draw picks.
		slices.Sort(partners)
		for _, b := range partners {
			k := errorConsistencyBits(humans[a].bits, humans[b].bits, mask)
			if k.Defined {
				pairs = append(pairs, personPair{int32(a), b, k.Value})
			} else if k.N > 0 {
				undefined++
			}
		}
	}
	return pairs, undefined
}

// pairUnits is the units of the bootstrap over pairs: the defined kappas in
// order, then a NaN for each undefined one.
func pairUnits(pairs []personPair, undefined int) []float64 {
	units := kappasOf(pairs)
	for range undefined {
		units = append(units, math.NaN())
	}
	return units
}

// kappasOf lists the pairs' kappas in order.
func kappasOf(pairs []personPair) []float64 {
	vals := make([]float64, len(pairs))
	for i, p := range pairs {
		vals[i] = p.kappa
	}
	return vals
}

// errorConsistencyBits is ErrorConsistency on bit sets, restricted to mask.
func errorConsistencyBits(a, b observerBits, mask bitset) Kappa {
	return errorConsistencyCounts(countsBits(a, b, mask))
}

// countsBits counts, over the items of mask both answered, the items, each
// one's right answers and the items where both were right or both wrong.
func countsBits(a, b observerBits, mask bitset) (n, r1, r2, same int) {
	for w := range mask {
		both := a.answered[w] & b.answered[w] & mask[w]
		n += bits.OnesCount64(both)
		r1 += bits.OnesCount64(a.correct[w] & both)
		r2 += bits.OnesCount64(b.correct[w] & both)
		same += bits.OnesCount64(^(a.correct[w] ^ b.correct[w]) & both)
	}
	return n, r1, r2, same
}

// chanceBits is chanceOfCounts on bit sets, restricted to mask.
func chanceBits(a, b observerBits, mask bitset) pairChance {
	return chanceOfCounts(countsBits(a, b, mask))
}

// truthSpec is Cohen's kappa against the truth averaged over a model's seeds,
// to bootstrap over the items of its group: every seed sees the same drawn
// items, so the interval reflects the items, not the pairing of seeds with
// draws.
type truthSpec struct {
	key   uint64 // streamKey of its cell
	packs [][]truthPack
	set   func(Estimate)
}

// truthPack is one item's contribution to a seed's 2x2 table: four 16-bit
// counters (answered, model Yes, truth Yes, both Yes; only answered items
// count), so that a resample's table is one sum, not a branch per draw.
type truthPack uint64

const (
	packAnswered truthPack = 1 << (16 * iota)
	packModelYes
	packTruthYes
	packBothYes
)

// packBlock is how many packs can be added before a 16-bit counter could overflow.
const packBlock = 1<<16 - 1

// truthTable adds the packs of the drawn items (every item when drawn is
// nil), a block at a time, and returns their kappa.
func truthTable(ps []truthPack, drawn []uint32) Kappa {
	var c [4]int
	flush := func(sum truthPack) {
		for f := range c {
			c[f] += int(sum >> (16 * f) & 0xffff)
		}
	}
	if drawn == nil {
		for len(ps) > 0 {
			var sum truthPack
			for _, p := range ps[:min(packBlock, len(ps))] {
				sum += p
			}
			flush(sum)
			ps = ps[min(packBlock, len(ps)):]
		}
	} else {
		for len(drawn) > 0 {
			var sum truthPack
			for _, i := range drawn[:min(packBlock, len(drawn))] {
				sum += ps[i]
			}
			flush(sum)
			drawn = drawn[min(packBlock, len(drawn)):]
		}
	}
	n, myes, tyes, both := c[0], c[1], c[2], c[3]
	return (&table{{both, myes - both}, {tyes - both, n - myes - tyes + both}}).kappa()
}

// truthResample is truthTable's kappa for the drawn items (fewer than
// packBlock), from the table's counts with one division instead of four:
// kappa = (n agree - e) / (n^2 - e) with e = n^2 p_e, undefined when e = n^2.
// It agrees with table.kappa to the last bits or so (the bootstrap's
// percentiles move by 1e-16, not the estimate).
func truthResample(ps []truthPack, drawn []uint32) (float64, bool) {
	var sum truthPack
	for _, i := range drawn {
		sum += ps[i]
	}
	n, myes, tyes, both := int(sum&0xffff), int(sum>>16&0xffff), int(sum>>32&0xffff), int(sum>>48)
	e := myes*tyes + (n-myes)*(n-tyes)
	d := n*n - e
	if n == 0 || d <= 0 {
		return math.NaN(), false
	}
	return float64(n*(n-myes-tyes+2*both)-e) / float64(d), true
}

// newTruthSpec packs the answers of runs (a model's seeds) to items.
func newTruthSpec(key uint64, runs []run, items []int, truthYes bitset, set func(Estimate)) truthSpec {
	sp := truthSpec{key: key, packs: make([][]truthPack, len(runs)), set: set}
	for s, r := range runs {
		sp.packs[s] = make([]truthPack, len(items))
		for i, j := range items {
			if !r.bits.answered.has(j) {
				continue
			}
			my, ty := r.bits.yes.has(j), truthYes.has(j)
			p := packAnswered
			if my {
				p |= packModelYes
			}
			if ty {
				p |= packTruthYes
			}
			if my && ty {
				p |= packBothYes
			}
			sp.packs[s][i] = p
		}
	}
	return sp
}

// truthJobs makes one bootstrap job per key: specs with the same key share
// each resample's draws, and a spec's resamples do not depend on its company.
func truthJobs(specs []truthSpec, resamples int) ([]*job, []func()) {
	type pending struct {
		spec                  truthSpec
		mean                  float64
		n, defined, undefined int
	}
	var jobs []*job
	var finish []func()
	byKey := map[uint64][]pending{}
	var keys []uint64
	for _, sp := range specs {
		p := pending{spec: sp}
		var sum float64
		for _, ps := range sp.packs {
			p.n = len(ps)
			if k := truthTable(ps, nil); k.Defined {
				sum += k.Value
				p.defined++
			} else if k.N > 0 {
				p.undefined++
			}
		}
		if p.defined == 0 || p.n == 0 {
			e := undefinedEstimate()
			e.Undefined = p.undefined
			finish = append(finish, func() { sp.set(e) })
			continue
		}
		p.mean = sum / float64(p.defined)
		if _, ok := byKey[sp.key]; !ok {
			keys = append(keys, sp.key)
		}
		byKey[sp.key] = append(byKey[sp.key], p)
	}
	for _, k := range keys {
		group := byKey[k]
		n := uint32(group[0].n)
		jb := &job{key: k, resamples: resamples, width: len(group), fill: func(d *drawer, from, to int, out []float64) {
			drawn := make([]uint32, n)
			for r := from; r < to; r++ {
				d.indices(n, drawn)
				for b, p := range group {
					var s float64
					var defined int
					for _, ps := range p.spec.packs {
						if n >= packBlock {
							if kp := truthTable(ps, drawn); kp.Defined {
								s += kp.Value
								defined++
							}
						} else if k, ok := truthResample(ps, drawn); ok {
							s += k
							defined++
						}
					}
					out[b*resamples+r] = math.NaN()
					if defined > 0 {
						out[b*resamples+r] = s / float64(defined)
					}
				}
			}
		}}
		jobs = append(jobs, jb)
		for b, p := range group {
			finish = append(finish, func() {
				p.spec.set(percentileEstimate(p.mean, p.n, p.undefined, jb.out[b*resamples:(b+1)*resamples]))
			})
		}
	}
	return jobs, finish
}
