package analysis

// The two innermost loops of the bootstrap, adding drawn rows of eight
// float64, run four columns to an instruction with AVX2 where the processor
// has it. Each column is summed in the order of the plain Go loops
// (sumDrawn8, densePairSum8), one IEEE addition or multiplication at a time,
// without fused multiply-adds, so both give the same bits
// (TestRowSumsMatchGo) and a report does not depend on the machine.

// rowsAVX2 is whether the processor and the operating system support AVX2.
var rowsAVX2 = detectAVX2()

func detectAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if c1&osxsave == 0 || c1&avx == 0 {
		return false
	}
	if eax, _ := xgetbv(); eax&6 != 6 { // the OS saves the XMM and YMM registers
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}

//go:noescape
func sumRows8AVX2(vals []float64, drawn []uint32, s *[8]float64)

//go:noescape
func sumCountRows8AVX2(vals []float64, tail []uint64, first int, drawn []uint32, s *[8]float64, c *[2]uint64)

//go:noescape
func pairRow8AVX2(row []float64, who []int32, times []float64, acc *[8]float64)

//go:noescape
func drawLanesAVX2(x *xoshiro, n, t uint32, out []uint32) int

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv() (eax, edx uint32)
