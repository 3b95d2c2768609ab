package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowSumsMatchGo: with AVX2 or without, the drawn rows add up to the
// same bits (values of mixed magnitude and sign, so that the order of the
// additions shows).
func TestRowSumsMatchGo(t *testing.T) {
	if !rowsAVX2 {
		t.Skip("no AVX2 here: only the Go loops run")
	}
	r := rand.New(rand.NewPCG(1, 2))
	val := func() float64 { return (r.Float64()*2 - 1) * math.Pow(10, float64(r.IntN(12)-6)) }
	for _, n := range []int{1, 3, 4, 5, 9, 100, 1001} {
		vals := make([]float64, n*meanWidth)
		for i := range vals {
			vals[i] = val()
		}
		drawn := make([]uint32, n)
		for i := range drawn {
			drawn[i] = uint32(r.IntN(n))
		}
		got, want := sumDrawn8(vals, drawn), sumDrawn8Go(vals, drawn)
		for c := range got {
			if math.Float64bits(got[c]) != math.Float64bits(want[c]) {
				t.Fatalf("n=%d column %d: AVX2 %v, Go %v", n, c, got[c], want[c])
			}
		}
		// Flags of eight means, every one defined before a random first
		// unit, random from there on.
		defined := make([]uint64, 2*n)
		first := r.IntN(n + 1)
		for i := range defined {
			defined[i] = 0x0001_0001_0001_0001
			if i >= 2*first {
				defined[i] &= r.Uint64()
			}
		}
		sums, counts := sumCountDrawn8(vals, newDefinedFlags(defined, 8), drawn)
		if sums != want || counts != countPacked(defined, drawn) {
			t.Fatalf("n=%d: with counts %v %v, Go %v %v", n, sums, counts, want, countPacked(defined, drawn))
		}

		// A pair table of n people and a resample of them.
		var who []int32
		var times []float64
		for i := range n {
			if k := r.IntN(4); k > 0 {
				who = append(who, int32(i))
				times = append(times, float64(k))
			}
		}
		base := make([]int, n)
		pair := 0
		for a := range n {
			base[a] = (1 + pair - a - 1) * meanWidth
			pair += n - a - 1
		}
		table := make([]float64, (1+pair)*meanWidth)
		for i := range table {
			table[i] = val()
		}
		got, want = densePairSum8(table, base, who, times), densePairSum8Go(table, base, who, times)
		for c := range got {
			if math.Float64bits(got[c]) != math.Float64bits(want[c]) {
				t.Fatalf("n=%d pairs, column %d: AVX2 %v, Go %v", n, c, got[c], want[c])
			}
		}
	}
}

// TestDrawLanesMatchGo: drawing with AVX2 gives the draws of the Go loop,
// for n where a lane is rarely rejected and where it often is (40,000: two
// in five), lengths that are not multiples of four, and the state after.
func TestDrawLanesMatchGo(t *testing.T) {
	if !rowsAVX2 {
		t.Skip("no AVX2 here: only the Go loops run")
	}
	for _, n := range []uint32{1, 2, 3, 20, 100, 4950, 40000, 65535, 1 << 16, 1<<16 + 1} {
		for _, size := range []int{0, 1, 3, 4, 5, 99, 4950} {
			fast, slow := newDrawer(3, uint64(n)), newDrawer(3, uint64(n))
			a, b := make([]uint32, size), make([]uint32, size)
			for range 3 {
				fast.indices(n, a)
				slow.indicesGo(n, b)
				if !slices.Equal(a, b) || *fast != *slow {
					t.Fatalf("n=%d size %d: AVX2 %v, Go %v", n, size, a[:min(8, size)], b[:min(8, size)])
				}
			}
		}
	}
}

// TestTruthResampleMatchesTable: the kappa with the truth from one division
// is the table's kappa up to rounding, and undefined where it is (a model or
// a truth all Yes on the drawn items, no item answered).
func TestTruthResampleMatchesTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 5, 20, 120} {
		for trial := range 200 {
			ps := make([]truthPack, n)
			for i := range ps {
				if r.IntN(10) == 0 {
					continue // not answered
				}
				my, ty := r.IntN(3) > 0, trial%7 == 0 || r.IntN(2) == 0
				if trial%5 == 0 {
					my = true
				}
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
				ps[i] = p
			}
			drawn := make([]uint32, n)
			for i := range drawn {
				drawn[i] = uint32(r.IntN(n))
			}
			want := truthTable(ps, drawn)
			got, ok := truthResample(ps, drawn)
			if ok != want.Defined || (ok && !near(got, want.Value, 1e-12)) {
				t.Fatalf("n=%d trial %d: %v %v, table %+v", n, trial, got, ok, want)
			}
		}
	}
}
