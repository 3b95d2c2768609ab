package analysis

import (
	"math"
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

// chunkSize resamples share one random stream; streams are fixed by (job, chunk)
// so that results do not depend on the number of workers.
const chunkSize = 500

// job fills out[i] for resample i in [from, to) using d; NaN marks an undefined resample.
type job struct {
	resamples int
	fill      func(d *drawer, from, to int, out []float64)
	out       []float64
}

// runJobs runs every job's resamples on workers goroutines. Stream numbers are
// derived from the job's position, so the same seed and the same jobs give the
// same numbers on any machine.
func runJobs(jobs []*job, seed uint64, workers int) {
	type chunk struct{ j, from, to, stream int }
	var chunks []chunk
	stream := 0
	for ji, jb := range jobs {
		jb.out = make([]float64, jb.resamples)
		for from := 0; from < jb.resamples; from += chunkSize {
			chunks = append(chunks, chunk{ji, from, min(from+chunkSize, jb.resamples), stream})
			stream++
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
				d := newDrawer(seed, uint64(c.stream))
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

// drawer draws uniform indices with Lemire's multiply-shift method, taking two
// 32-bit draws from each 64-bit PCG output; rejection keeps them exactly uniform.
type drawer struct {
	pcg  rand.PCG
	buf  uint64
	have bool
}

func newDrawer(seed, stream uint64) *drawer {
	d := &drawer{}
	// splitmix-style scrambling keeps neighbouring streams unrelated.
	d.pcg.Seed(seed, stream*0x9e3779b97f4a7c15+0x632be59bd9b4e019)
	return d
}

func (d *drawer) u32() uint32 {
	if d.have {
		d.have = false
		return uint32(d.buf >> 32)
	}
	d.buf = d.pcg.Uint64()
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

// indices fills out with uniform draws from [0, n). For n <= 2^16 it takes four
// 16-bit draws from each 64-bit output, which is where the bootstrap spends its
// time; rejection (probability (2^16 mod n)/2^16) keeps every draw exactly uniform.
func (d *drawer) indices(n uint32, out []uint32) {
	i := 0
	if n <= 1<<16 {
		t := (1 << 16) % n
		for i+4 <= len(out) {
			x := d.pcg.Uint64()
			for range 4 {
				m := uint32(x&0xffff) * n
				x >>= 16
				if m&0xffff >= t {
					out[i] = m >> 16
					i++
				}
			}
		}
	}
	for ; i < len(out); i++ {
		out[i] = d.index(n)
	}
}

// meanJob resamples vals with replacement and records each resample's mean.
func meanJob(vals []float64, resamples int) *job {
	n := uint32(len(vals))
	return &job{resamples: resamples, fill: func(d *drawer, from, to int, out []float64) {
		idx := make([]uint32, n)
		for r := from; r < to; r++ {
			d.indices(n, idx)
			// Four sums break the chain of dependent additions.
			var s0, s1, s2, s3 float64
			k := 0
			for ; k+4 <= len(idx); k += 4 {
				s0 += vals[idx[k]]
				s1 += vals[idx[k+1]]
				s2 += vals[idx[k+2]]
				s3 += vals[idx[k+3]]
			}
			for ; k < len(idx); k++ {
				s0 += vals[idx[k]]
			}
			out[r] = (s0 + s1 + s2 + s3) / float64(n)
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
	slices.Sort(ok)
	e.Resamples = len(ok)
	if len(ok) > 0 {
		e.Lo, e.Hi = quantile(ok, 0.025), quantile(ok, 0.975)
	}
	return e
}

// quantile interpolates linearly between order statistics (numpy's default), sorted input.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}
