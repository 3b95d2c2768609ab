//go:build amd64 && !purego

package analysis

import "golang.org/x/sys/cpu"

// The two innermost loops of the bootstrap, adding drawn rows of eight
// float64, run four columns to an instruction with AVX2 where the processor
// has it. Each column is summed in the order of the plain Go loops
// (sumDrawn8, densePairSum8), one IEEE addition or multiplication at a time,
// without fused multiply-adds, so both give the same bits
// (TestRowSumsMatchGo) and a report does not depend on the machine.

// rowsAVX2 is whether the processor and the operating system support AVX2
// (golang.org/x/sys/cpu checks both). Build with -tags purego to run the
// plain Go loops everywhere.
var rowsAVX2 = cpu.X86.HasAVX2

//go:noescape
func sumRows8AVX2(vals []float64, drawn []uint32, s *[8]float64)

//go:noescape
func sumCountRows8AVX2(vals []float64, tail []uint64, first int, drawn []uint32, s *[8]float64, c *[2]uint64)

//go:noescape
func pairRow8AVX2(row []float64, who []int32, times []float64, acc *[8]float64)

//go:noescape
func drawLanesAVX2(x *xoshiro, n, t uint32, out []uint32) int
