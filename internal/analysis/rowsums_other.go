//go:build !amd64 || purego

package analysis

// rowsAVX2 is false off amd64 (or with -tags purego): the plain Go loops run.
const rowsAVX2 = false

func sumRows8AVX2(vals []float64, drawn []uint32, s *[8]float64) { panic("no AVX2") }

func pairRow8AVX2(row []float64, who []int32, times []float64, acc *[8]float64) { panic("no AVX2") }

func sumCountRows8AVX2(vals []float64, tail []uint64, first int, drawn []uint32, s *[8]float64, c *[2]uint64) {
	panic("no AVX2")
}

func drawLanesAVX2(x *xoshiro, n, t uint32, out []uint32) int { panic("no AVX2") }
