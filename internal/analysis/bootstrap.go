package analysis

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
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
	fill      func(d *drawer, from, to int, out []float64)
	out       []float64
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
	type chunk struct {
		j, from, to int
		stream      uint64
	}
	var chunks []chunk
	for ji, jb := range jobs {
		jb.out = make([]float64, jb.resamples)
		for from := 0; from < jb.resamples; from += chunkSize {
			chunks = append(chunks, chunk{ji, from, min(from+chunkSize, jb.resamples), chunkStream(jb.key, from/chunkSize)})
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(chunks))
	var wg sync.WaitGroup
	next := make(chan chunk)
	for range workers {
		wg.Go(func() {
			for c := range next {
				d := newDrawer(seed, c.stream)
				jb := jobs[c.j]
				jb.fill(d, c.from, c.to, jb.out)
			}
		})
	}
	for _, c := range chunks {
		next <- c
	}
	close(next)
	wg.Wait()
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
	i := 0
	if n <= 1<<16 {
		t := (1 << 16) % n
		for i+4 <= len(out) {
			m0, m1, m2, m3 := lanes(d.x.next(), n)
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
	}
	for ; i < len(out); i++ {
		out[i] = d.index(n)
	}
}

// resampleSum is the sum of len(vals) values drawn from vals with replacement;
// table is vals padded to 2^16 entries (nil when vals is longer), so that a
// 16-bit draw indexes it without a bounds check.
func (d *drawer) resampleSum(vals []float64, table *[1 << 16]float64) float64 {
	n := uint32(len(vals))
	left := len(vals)
	// Four sums break the chain of dependent additions.
	var s0, s1, s2, s3 float64
	if table != nil {
		t := (1 << 16) % n
		// The generator's state lives in locals here, xoshiro256** written
		// out, so that it stays in registers between steps.
		x0, x1, x2, x3 := d.x[0], d.x[1], d.x[2], d.x[3]
		for left >= 4 {
			r := bits.RotateLeft64(x1*5, 7) * 9
			u := x1 << 17
			x2 ^= x0
			x3 ^= x1
			x1 ^= x2
			x0 ^= x3
			x2 ^= u
			x3 = bits.RotateLeft64(x3, 45)
			a0, a1, a2, a3 := lanes(r, n)
			if anyRejected(a0, a1, a2, a3, t) {
				for _, m := range [4]uint32{a0, a1, a2, a3} {
					if m&0xffff >= t && left > 0 {
						s0 += table[m>>16]
						left--
					}
				}
				continue
			}
			s0 += table[a0>>16]
			s1 += table[a1>>16]
			s2 += table[a2>>16]
			s3 += table[a3>>16]
			left -= 4
		}
		d.x = xoshiro{x0, x1, x2, x3}
	}
	for ; left > 0; left-- {
		s0 += vals[d.index(n)]
	}
	return s0 + s1 + s2 + s3
}

// meanJob resamples vals with replacement and records each resample's mean.
func meanJob(vals []float64, resamples int) *job {
	var table *[1 << 16]float64
	if len(vals) <= 1<<16 {
		table = new([1 << 16]float64)
		copy(table[:], vals)
	}
	return &job{resamples: resamples, fill: func(d *drawer, from, to int, out []float64) {
		for r := from; r < to; r++ {
			out[r] = d.resampleSum(vals, table) / float64(len(vals))
		}
	}}
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
		e.Lo, e.Hi = quantile(ok, 0.025), quantile(ok, 0.975)
	}
	return e
}

// quantile interpolates linearly between order statistics (numpy's default).
// It reorders a: selection instead of a full sort, since it runs once per
// estimate on 10,000 values while the workers wait.
func quantile(a []float64, q float64) float64 {
	pos := q * float64(len(a)-1)
	i := int(pos)
	lo := selectRank(a, i)
	if i+1 >= len(a) {
		return lo
	}
	// Everything after rank i is no smaller; the next order statistic is its minimum.
	return lo + (pos-float64(i))*(slices.Min(a[i+1:])-lo)
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
