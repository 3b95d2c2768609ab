package analysis

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"

	"github.com/cubelab/cubelab/internal/task"
	"golang.org/x/sync/errgroup"
)

// Estimate is a mean with its bootstrap 95% percentile interval.
type Estimate struct {
	Mean    float64 // NaN unless Defined
	Lo, Hi  float64 // 2.5% and 97.5% percentiles of the resampled means
	Defined bool
	// N counts what was averaged (defined per-pair kappas, or items for the
	// comparison with the ground truth); Undefined counts kappas left out.
	N, Undefined int
	// Resamples is how many bootstrap means were defined; a resample of items
	// can make a kappa undefined (a model answering Yes to every drawn item),
	// and such resamples are dropped rather than counted as 0.
	Resamples int
}

func undefinedEstimate() Estimate {
	return Estimate{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
}

// chunkSize resamples share one random stream; streams are fixed by (job key,
// chunk) so that results do not depend on the number of workers.
const chunkSize = 500

// job fills out[i] for resample i in [from, to) using d; NaN marks an undefined resample.
type job struct {
	// key names what the job measures (streamKey); its streams derive from it
	// alone, so a job gives the same numbers whatever else is analysed with it.
	key       uint64
	resamples int
	// width is how many estimates the job fills (1 when 0): out holds
	// resamples values for each, one after the other.
	width int
	fill  func(d *drawer, from, to int, out []float64)
	out   []float64
}

// streamKey hashes what a bootstrap measures (FNV-1a over length-prefixed
// parts, so that no two lists of parts run together into the same bytes).
// Streams are numbered by it rather than by a job's position in the run: an
// analysis of one task, one condition or one model then draws exactly the
// resamples the full analysis draws for the same cell.
func streamKey(parts ...string) uint64 {
	h := fnv.New64a()
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return h.Sum64()
}

// chunkStream is the stream of the chunk-th chunk of a job: a SplitMix64
// finaliser over key and chunk, so that neighbouring chunks of one job and the
// same chunk of different jobs get unrelated streams.
func chunkStream(key uint64, chunk int) uint64 {
	z := key + uint64(chunk+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// runJobs runs every job's resamples on workers goroutines. A chunk's stream
// derives from the seed, its job's key and its number within the job, so the
// same seed and data give the same numbers on any machine, with any number of
// workers, and whichever other jobs run beside it.
func runJobs(jobs []*job, seed uint64, workers int) {
	_ = runJobsContext(context.Background(), jobs, seed, workers)
}

// runJobsContext is runJobs that stops when ctx is done: no chunk starts
// after that, the chunks under way finish (a chunk is 500 resamples, a few
// milliseconds), and it returns ctx's error with the jobs' output unfinished.
func runJobsContext(ctx context.Context, jobs []*job, seed uint64, workers int) error {
	type chunk struct {
		j, from, to int
		stream      uint64
	}
	var chunks []chunk
	for ji, jb := range jobs {
		jb.out = make([]float64, jb.resamples*max(jb.width, 1))
		for from := 0; from < jb.resamples; from += chunkSize {
			chunks = append(chunks, chunk{ji, from, min(from+chunkSize, jb.resamples), chunkStream(jb.key, from/chunkSize)})
		}
	}
	// One goroutine a chunk, at most workers at a time; once ctx ends no
	// chunk starts, and those running finish (each is a few milliseconds).
	g := workerGroup(workers)
	for _, c := range chunks {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // handed over while waiting for a slot as ctx ended
			}
			d := newDrawer(seed, c.stream)
			jb := jobs[c.j]
			jb.fill(d, c.from, c.to, jb.out)
			return nil
		})
	}
	_ = g.Wait()
	return ctx.Err()
}

// workerGroup is a group running at most workers goroutines at a time
// (GOMAXPROCS when workers is 0 or less).
func workerGroup(workers int) *errgroup.Group {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	g := new(errgroup.Group)
	g.SetLimit(workers)
	return g
}

// parallel calls every f on up to workers goroutines (GOMAXPROCS when 0).
func parallel(fs []func(), workers int) {
	g := workerGroup(workers)
	for _, f := range fs {
		g.Go(func() error { f(); return nil })
	}
	_ = g.Wait()
}

// drawer draws uniform indices with Lemire's multiply-shift method.
//
// The generator is xoshiro256** (Blackman and Vigna), seeded per stream by
// PCG from math/rand/v2: in the bootstrap loop it is a fifth faster than
// PCG, whose 128-bit multiply competes with the index multiplies for the same
// unit. (A second interleaved state was tried: more registers, no faster.)
type drawer struct {
	x    xoshiro
	buf  uint64
	have bool
}

// xoshiro is the state of one xoshiro256** generator.
type xoshiro [4]uint64

func (s *xoshiro) next() uint64 {
	r := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return r
}

func newDrawer(seed, stream uint64) *drawer {
	d := &drawer{}
	// PCG's stream constant keeps neighbouring streams unrelated; an all-zero
	// xoshiro state (the one it cannot leave) has probability 2^-256.
	p := rand.NewPCG(seed, stream*0x9e3779b97f4a7c15+0x632be59bd9b4e019)
	for i := range d.x {
		d.x[i] = p.Uint64()
	}
	return d
}

func (d *drawer) u32() uint32 {
	if d.have {
		d.have = false
		return uint32(d.buf >> 32)
	}
	d.buf = d.x.next()
	d.have = true
	return uint32(d.buf)
}

// index returns a uniform integer in [0, n), n > 0 and < 2^32.
func (d *drawer) index(n uint32) uint32 {
	m := uint64(d.u32()) * uint64(n)
	if uint32(m) < n {
		thresh := -n % n
		for uint32(m) < thresh {
			m = uint64(d.u32()) * uint64(n)
		}
	}
	return uint32(m >> 32)
}

// The bootstrap spends nearly all its time drawing indices, so for n <= 2^16
// each 64-bit output gives four 16-bit draws (Lemire's method); a draw is
// rejected when its low half falls under (2^16 mod n), which keeps every draw
// exactly uniform. The rare word with a rejected lane takes a slow path.

// lanes splits x into four products of 16-bit draws with n; draw k is m[k]>>16.
func lanes(x uint64, n uint32) (m0, m1, m2, m3 uint32) {
	return uint32(x&0xffff) * n, uint32(x>>16&0xffff) * n, uint32(x>>32&0xffff) * n, uint32(x>>48) * n
}

// anyRejected reports whether one of the four lanes must be drawn again.
func anyRejected(m0, m1, m2, m3, t uint32) bool {
	return m0&0xffff < t || m1&0xffff < t || m2&0xffff < t || m3&0xffff < t
}

// indices fills out with uniform draws from [0, n).
func (d *drawer) indices(n uint32, out []uint32) {
	if !rowsAVX2 || n > 1<<16 {
		d.indicesGo(n, out)
		return
	}
	i := drawLanesAVX2(&d.x, n, (1<<16)%n, out)
	for ; i < len(out); i++ {
		out[i] = d.index(n)
	}
}

// indicesGo is indices in plain Go.
func (d *drawer) indicesGo(n uint32, out []uint32) {
	i := 0
	if n <= 1<<16 {
		t := (1 << 16) % n
		// xoshiro256**'s step written out on locals, so that its state
		// stays in registers (a call to next, which the compiler does not
		// inline here, kept it in memory: a third of the drawing time).
		s0, s1, s2, s3 := d.x[0], d.x[1], d.x[2], d.x[3]
		for i+4 <= len(out) {
			r := bits.RotateLeft64(s1*5, 7) * 9
			u := s1 << 17
			s2 ^= s0
			s3 ^= s1
			s1 ^= s2
			s0 ^= s3
			s2 ^= u
			s3 = bits.RotateLeft64(s3, 45)
			m0, m1, m2, m3 := lanes(r, n)
			if anyRejected(m0, m1, m2, m3, t) {
				for _, m := range [4]uint32{m0, m1, m2, m3} {
					if m&0xffff >= t {
						out[i] = m >> 16
						i++
					}
				}
				continue
			}
			o := (*[4]uint32)(out[i : i+4])
			o[0], o[1], o[2], o[3] = m0>>16, m1>>16, m2>>16, m3>>16
			i += 4
		}
		d.x = xoshiro{s0, s1, s2, s3}
	}
	for ; i < len(out); i++ {
		out[i] = d.index(n)
	}
}

// meanSpec is one mean to bootstrap: one value per unit (a pair of people,
// or a person), NaN for a unit whose kappa is undefined. A resample draws
// len(units) units with replacement and averages the defined values among
// them; when every unit is defined this is the plain bootstrap of the mean.
type meanSpec struct {
	key   uint64 // meanKey: what is measured and over how many units
	units []float64
	set   func(Estimate)
}

// meanKey names the stream of a mean's bootstrap by the task, the measure and
// the number of units, and nothing else: every mean over the same units (the
// six sizes and all sizes of a fixed design, every model against the same
// people) then draws the very same units in every resample, so one pass of
// draws serves them all (meanJobs), and a mean analysed on its own draws
// what it draws in the full report.
func meanKey(d task.Domain, measure string, units int) uint64 {
	return streamKey(string(d), measure, strconv.Itoa(units))
}

// meanWidth is how many means one pass over the drawn rows sums: one row of
// eight float64 is a cache line, and eight sums stay in registers.
const meanWidth = 8

// meanJobs turns specs into bootstrap jobs, one per key, and the functions
// that set each estimate once the jobs have run. A mean's resamples do not
// depend on which other means share its job: the draws come from the key
// alone and each mean is summed in draw order.
func meanJobs(specs []meanSpec, resamples int) ([]*job, []func()) {
	type pending struct {
		spec         meanSpec
		mean         float64
		n, undefined int
	}
	var jobs []*job
	var finish []func()
	byKey := map[uint64][]pending{}
	var keys []uint64
	for _, sp := range specs {
		p := pending{spec: sp}
		for _, v := range sp.units {
			if math.IsNaN(v) {
				p.undefined++
			} else {
				p.mean += v
				p.n++
			}
		}
		if p.n == 0 {
			e := undefinedEstimate()
			e.Undefined = p.undefined
			finish = append(finish, func() { sp.set(e) })
			continue
		}
		p.mean /= float64(p.n)
		if _, ok := byKey[sp.key]; !ok {
			keys = append(keys, sp.key)
		}
		byKey[sp.key] = append(byKey[sp.key], p)
	}
	for _, k := range keys {
		group := byKey[k]
		units := make([][]float64, len(group))
		for b, p := range group {
			units[b] = p.spec.units
		}
		jb := fusedMeanJob(units, resamples)
		jb.key = k
		jobs = append(jobs, jb)
		for b, p := range group {
			finish = append(finish, func() {
				p.spec.set(percentileEstimate(p.mean, p.n, p.undefined, jb.out[b*resamples:(b+1)*resamples]))
			})
		}
	}
	return jobs, finish
}

// fusedMeanJob bootstraps the means of units[b] (lists of the same length)
// from one stream of draws: each run of up to meanWidth means lies in rows of
// meanWidth values, so a draw reads one cache line and adds to eight sums,
// and the draws of a resample serve every run. out[b*resamples+r] is
// resample r of mean b.
func fusedMeanJob(units [][]float64, resamples int) *job {
	n := len(units[0])
	var blocks []*meanBlock
	for b := 0; b < len(units); b += meanWidth {
		blocks = append(blocks, newMeanBlock(units[b:min(b+meanWidth, len(units))]))
	}
	return &job{resamples: resamples, width: len(units), fill: func(d *drawer, from, to int, out []float64) {
		drawn := make([]uint32, n)
		for r := from; r < to; r++ {
			d.indices(uint32(n), drawn)
			for k, bl := range blocks {
				bl.resample(drawn, out[k*meanWidth*resamples:], resamples, r)
			}
		}
	}}
}

// meanBlock is up to meanWidth means over the same n units.
type meanBlock struct {
	n, w, stride int
	vals         []float64
	// defined[2i] packs, 16 bits per mean, whether unit i is defined for
	// each of the first four means (defined[2i+1] for the next four): a
	// resample's counts are then two integer sums, read with the row. nil
	// when every unit is defined.
	defined []uint64
	flags   *definedFlags // defined for the pass that counts with the sums
}

func newMeanBlock(units [][]float64) *meanBlock {
	bl := &meanBlock{n: len(units[0]), w: len(units), stride: meanWidth}
	if bl.w == 1 {
		bl.stride = 1
	}
	n, stride := bl.n, bl.stride
	bl.vals = make([]float64, n*stride)
	for b, us := range units {
		for i, v := range us {
			if math.IsNaN(v) {
				if bl.defined == nil {
					bl.defined = make([]uint64, 2*n)
				}
				continue
			}
			bl.vals[i*stride+b] = v
		}
	}
	if bl.defined != nil {
		for b, us := range units {
			for i, v := range us {
				if !math.IsNaN(v) {
					bl.defined[2*i+b/4] |= 1 << (16 * (b % 4))
				}
			}
		}
		bl.flags = newDefinedFlags(bl.defined, bl.w)
	}
	return bl
}

// resample sets out[b*resamples+r], mean b's resample r, from the drawn units.
func (bl *meanBlock) resample(drawn []uint32, out []float64, resamples, r int) {
	n, w, defined := bl.n, bl.w, bl.defined
	var sums [meanWidth]float64
	var counts [meanWidth]int
	for b := range w {
		counts[b] = n
	}
	switch {
	case bl.stride == 1:
		sums[0] = sumDrawn1(bl.vals, drawn)
		if defined != nil {
			countDrawn(defined, n, drawn, w, &counts)
		}
	case defined != nil && n < 1<<16:
		var c [2]uint64
		sums, c = sumCountDrawn8(bl.vals, bl.flags, drawn)
		for b := range w {
			counts[b] = int(c[b/4] >> (16 * (b % 4)) & 0xffff)
		}
	default:
		sums = sumDrawn8(bl.vals, drawn)
		if defined != nil {
			countDrawn(defined, n, drawn, w, &counts)
		}
	}
	for b := range w {
		out[b*resamples+r] = math.NaN()
		if counts[b] > 0 {
			out[b*resamples+r] = sums[b] / float64(counts[b])
		}
	}
}

// sumDrawn1 adds the drawn values four at a time, (a+b)+(c+d), then the
// rest one by one: the order sumDrawn8 keeps for each of its sums, so a mean
// gives the same bits alone or fused, and a chain of one dependent addition
// per four draws.
func sumDrawn1(vals []float64, drawn []uint32) float64 {
	var s float64
	i := 0
	for ; i+4 <= len(drawn); i += 4 {
		d := (*[4]uint32)(drawn[i:])
		s += (vals[d[0]] + vals[d[1]]) + (vals[d[2]] + vals[d[3]])
	}
	for _, j := range drawn[i:] {
		s += vals[j]
	}
	return s
}

// sumDrawn8 adds the drawn rows of eight values, each column in the order
// of sumDrawn1. Every drawn index must be a row of vals.
func sumDrawn8(vals []float64, drawn []uint32) [meanWidth]float64 {
	if rowsAVX2 {
		var s [meanWidth]float64
		if len(vals) < len(drawn)*meanWidth {
			panic("analysis: fewer rows than draws") // every draw is one of len(drawn) rows
		}
		sumRows8AVX2(vals, drawn, &s)
		for _, j := range drawn[len(drawn)/4*4:] {
			r := (*[meanWidth]float64)(vals[int(j)*meanWidth:])
			for c := range s {
				s[c] += r[c]
			}
		}
		return s
	}
	return sumDrawn8Go(vals, drawn)
}

// sumDrawn8Go is sumDrawn8 in plain Go.
func sumDrawn8Go(vals []float64, drawn []uint32) [meanWidth]float64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	row := func(i uint32) *[meanWidth]float64 { return (*[meanWidth]float64)(vals[int(i)*meanWidth:]) }
	i := 0
	for ; i+4 <= len(drawn); i += 4 {
		d := (*[4]uint32)(drawn[i:])
		a, b, c, e := row(d[0]), row(d[1]), row(d[2]), row(d[3])
		s0 += (a[0] + b[0]) + (c[0] + e[0])
		s1 += (a[1] + b[1]) + (c[1] + e[1])
		s2 += (a[2] + b[2]) + (c[2] + e[2])
		s3 += (a[3] + b[3]) + (c[3] + e[3])
		s4 += (a[4] + b[4]) + (c[4] + e[4])
		s5 += (a[5] + b[5]) + (c[5] + e[5])
		s6 += (a[6] + b[6]) + (c[6] + e[6])
		s7 += (a[7] + b[7]) + (c[7] + e[7])
	}
	for _, j := range drawn[i:] {
		r := row(j)
		s0 += r[0]
		s1 += r[1]
		s2 += r[2]
		s3 += r[3]
		s4 += r[4]
		s5 += r[5]
		s6 += r[6]
		s7 += r[7]
	}
	return [meanWidth]float64{s0, s1, s2, s3, s4, s5, s6, s7}
}

// definedFlags are the packed defined flags of a block's units (see
// meanBlock.defined), and the same from the first unit with an undefined
// value on, behind the flags of a unit with every mean defined: the AVX2
// pass reads its flags there, a small table that stays in the nearest
// cache (the units of pairs put their undefined kappas last).
type definedFlags struct {
	packed []uint64
	first  int
	tail   []uint64
}

func newDefinedFlags(packed []uint64, w int) *definedFlags {
	n := len(packed) / 2
	var all [2]uint64
	for b := range w {
		all[b/4] |= 1 << (16 * (b % 4))
	}
	f := &definedFlags{packed: packed, first: n}
	for i := range n {
		if packed[2*i] != all[0] || packed[2*i+1] != all[1] {
			f.first = i
			break
		}
	}
	f.tail = append(all[:], packed[2*f.first:]...)
	return f
}

// sumCountDrawn8 is sumDrawn8 and the packed counts of defined units
// (countDrawn's c0, c1) in one pass; fewer than 2^16 units.
func sumCountDrawn8(vals []float64, f *definedFlags, drawn []uint32) (s [meanWidth]float64, c [2]uint64) {
	if !rowsAVX2 {
		return sumDrawn8Go(vals, drawn), countPacked(f.packed, drawn)
	}
	n := len(f.packed) / 2
	if len(vals) < n*meanWidth || len(drawn) > n || len(f.tail) != 2*(n-f.first+1) {
		panic("analysis: fewer rows than draws") // every draw is one of n rows
	}
	sumCountRows8AVX2(vals, f.tail, f.first, drawn, &s, &c)
	for _, j := range drawn[len(drawn)/4*4:] {
		r := (*[meanWidth]float64)(vals[int(j)*meanWidth:])
		for k := range s {
			s[k] += r[k]
		}
		c[0] += f.packed[2*j]
		c[1] += f.packed[2*j+1]
	}
	return s, c
}

// countPacked adds the packed defined flags of the drawn units: sixteen
// bits per count hold up to 2^16-1 draws.
func countPacked(defined []uint64, drawn []uint32) [2]uint64 {
	var c0, c1 uint64
	for _, i := range drawn {
		c0 += defined[2*i]
		c1 += defined[2*i+1]
	}
	return [2]uint64{c0, c1}
}

// countDrawn counts, for each of w means, the drawn units that are defined.
func countDrawn(defined []uint64, n int, drawn []uint32, w int, counts *[meanWidth]int) {
	if n < 1<<16 {
		c := countPacked(defined, drawn)
		c0, c1 := c[0], c[1]
		for b := range w {
			c := c0
			if b >= 4 {
				c = c1
			}
			counts[b] = int(c >> (16 * (b % 4)) & 0xffff)
		}
		return
	}
	for b := range w {
		counts[b] = 0
	}
	for _, i := range drawn {
		for b := range w {
			counts[b] += int(defined[2*int(i)+b/4] >> (16 * (b % 4)) & 1)
		}
	}
}

// percentileEstimate turns a point estimate and bootstrap means into an Estimate.
func percentileEstimate(mean float64, n, undefined int, boot []float64) Estimate {
	e := Estimate{Mean: mean, Defined: !math.IsNaN(mean), N: n, Undefined: undefined, Lo: math.NaN(), Hi: math.NaN()}
	if !e.Defined {
		return e
	}
	ok := slices.DeleteFunc(boot, math.IsNaN)
	e.Resamples = len(ok)
	if len(ok) > 0 {
		e.Lo, e.Hi = quantilePair(ok, 0.025, 0.975)
	}
	return e
}

// quantile interpolates linearly between order statistics (numpy's default).
// It reorders a: selection instead of a full sort, since it runs once per
// estimate on 10,000 values while the workers wait.
func quantile(a []float64, q float64) float64 {
	pos := q * float64(len(a)-1)
	i := int(pos)
	return orderInterp(a, i, pos-float64(i), i+1 < len(a))
}

// quantilePair is quantile(a, q1) and quantile(a, q2), q1 < q2, and reorders
// a. For the tails of many values (the 2.5% and 97.5% points of 10,000
// resampled means) it sets thresholds from a sorted sample of 128 values, a
// few places beyond the ranks wanted, moves the values at or below the low
// one to the front and those at or above the high one to the back in one
// pass (a tenth of them each), and selects within those: every value below
// a kept one is kept, so ranks are exact. When the sample misleads (the kept
// values miss a rank wanted) it selects in all of a instead.
func quantilePair(a []float64, q1, q2 float64) (float64, float64) {
	const sample = 128
	n := len(a)
	if n < 16*sample {
		return quantile(a, q1), quantile(a, q2)
	}
	var s [sample]float64
	step := n / sample
	for k := range s {
		s[k] = a[k*step]
	}
	slices.Sort(s[:])
	tLow := s[min(sample-1, int(q1*sample)+8)]
	tHigh := s[max(0, int(q2*sample)-8)]
	pos1, pos2 := q1*float64(n-1), q2*float64(n-1)
	i1, i2 := int(pos1), int(pos2)
	if tLow < tHigh {
		// One pass moves the values at or below tLow to the front, a[:lo],
		// and those at or above tHigh to the back, a[hi:].
		lo, hi := 0, n
		for k := 0; k < hi; {
			switch x := a[k]; {
			case x <= tLow:
				a[lo], a[k] = x, a[lo]
				lo++
				k++
			case x >= tHigh:
				hi--
				a[hi], a[k] = x, a[hi]
			default:
				k++
			}
		}
		// a[:lo] holds ranks 0 to lo-1, a[hi:] ranks hi to n-1.
		if lo >= min(i1+2, n) && i2 >= hi {
			return orderInterp(a[:lo], i1, pos1-float64(i1), i1+1 < n), orderInterp(a[hi:], i2-hi, pos2-float64(i2), i2+1 < n)
		}
	}
	return quantile(a, q1), quantile(a, q2)
}

// orderInterp is the value of rank i in a plus frac times the gap to the
// next rank (without the next when next is false), and reorders a.
func orderInterp(a []float64, i int, frac float64, next bool) float64 {
	lo := selectRank(a, i)
	if !next {
		return lo
	}
	// Everything after rank i is no smaller; the next order statistic is its minimum.
	return lo + frac*(slices.Min(a[i+1:])-lo)
}

// selectRank reorders a so that a[k] holds the value of rank k, smaller ones
// before it and larger ones after (Hoare's quickselect, median-of-three pivot).
func selectRank(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		pivot := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
