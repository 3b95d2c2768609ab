#include "textflag.h"

// func sumRows8AVX2(vals []float64, drawn []uint32, s *[8]float64)
//
// For each four drawn rows a, b, c, e (len(drawn) rounded down to a multiple
// of four): s += (a + b) + (c + e), column by column, in sumDrawn8's order.
TEXT ·sumRows8AVX2(SB), NOSPLIT, $0-56
	MOVQ    vals_base+0(FP), SI
	MOVQ    drawn_base+24(FP), DI
	MOVQ    drawn_len+32(FP), CX
	MOVQ    s+48(FP), DX
	VMOVUPD 0(DX), Y0
	VMOVUPD 32(DX), Y1
	SHRQ    $2, CX
	JZ      sumdone

sumloop:
	MOVL    0(DI), AX
	MOVL    4(DI), BX
	MOVL    8(DI), R8
	MOVL    12(DI), R9
	SHLQ    $6, AX
	SHLQ    $6, BX
	SHLQ    $6, R8
	SHLQ    $6, R9
	VMOVUPD 0(SI)(AX*1), Y2
	VADDPD  0(SI)(BX*1), Y2, Y2
	VMOVUPD 32(SI)(AX*1), Y3
	VADDPD  32(SI)(BX*1), Y3, Y3
	VMOVUPD 0(SI)(R8*1), Y4
	VADDPD  0(SI)(R9*1), Y4, Y4
	VMOVUPD 32(SI)(R8*1), Y5
	VADDPD  32(SI)(R9*1), Y5, Y5
	VADDPD  Y4, Y2, Y2
	VADDPD  Y5, Y3, Y3
	VADDPD  Y2, Y0, Y0
	VADDPD  Y3, Y1, Y1
	ADDQ    $16, DI
	DECQ    CX
	JNZ     sumloop

sumdone:
	VMOVUPD Y0, 0(DX)
	VMOVUPD Y1, 32(DX)
	VZEROUPPER
	RET

// func sumCountRows8AVX2(vals []float64, defined []uint64, drawn []uint32, s *[8]float64, c *[2]uint64)
//
// sumRows8AVX2, and c[k] += defined[2*i+k] for every drawn i (whole groups of four).
TEXT ·sumCountRows8AVX2(SB), NOSPLIT, $0-88
	MOVQ    vals_base+0(FP), SI
	MOVQ    defined_base+24(FP), R11
	MOVQ    drawn_base+48(FP), DI
	MOVQ    drawn_len+56(FP), CX
	MOVQ    s+72(FP), DX
	MOVQ    c+80(FP), R12
	VMOVUPD 0(DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVDQU 0(R12), X6
	SHRQ    $2, CX
	JZ      countdone

countloop:
	MOVL    0(DI), AX
	MOVL    4(DI), BX
	MOVL    8(DI), R8
	MOVL    12(DI), R9
	MOVQ    AX, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	MOVQ    BX, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	MOVQ    R8, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	MOVQ    R9, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	SHLQ    $6, AX
	SHLQ    $6, BX
	SHLQ    $6, R8
	SHLQ    $6, R9
	VMOVUPD 0(SI)(AX*1), Y2
	VADDPD  0(SI)(BX*1), Y2, Y2
	VMOVUPD 32(SI)(AX*1), Y3
	VADDPD  32(SI)(BX*1), Y3, Y3
	VMOVUPD 0(SI)(R8*1), Y4
	VADDPD  0(SI)(R9*1), Y4, Y4
	VMOVUPD 32(SI)(R8*1), Y5
	VADDPD  32(SI)(R9*1), Y5, Y5
	VADDPD  Y4, Y2, Y2
	VADDPD  Y5, Y3, Y3
	VADDPD  Y2, Y0, Y0
	VADDPD  Y3, Y1, Y1
	ADDQ    $16, DI
	DECQ    CX
	JNZ     countloop

countdone:
	VMOVUPD Y0, 0(DX)
	VMOVUPD Y1, 32(DX)
	VMOVDQU X6, 0(R12)
	VZEROUPPER
	RET

// func pairRow8AVX2(row []float64, who []int32, times []float64, acc *[8]float64)
//
// acc = the sum over q of times[q] * row[who[q]*8 : who[q]*8+8], q ascending,
// column by column, in densePairSum8's order.
TEXT ·pairRow8AVX2(SB), NOSPLIT, $0-80
	MOVQ   row_base+0(FP), SI
	MOVQ   who_base+24(FP), DI
	MOVQ   who_len+32(FP), CX
	MOVQ   times_base+48(FP), R10
	MOVQ   acc+72(FP), DX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	TESTQ  CX, CX
	JZ     pairdone

pairloop:
	MOVLQSX      0(DI), AX
	SHLQ         $6, AX
	VBROADCASTSD 0(R10), Y2
	VMULPD       0(SI)(AX*1), Y2, Y3
	VMULPD       32(SI)(AX*1), Y2, Y4
	VADDPD       Y3, Y0, Y0
	VADDPD       Y4, Y1, Y1
	ADDQ         $4, DI
	ADDQ         $8, R10
	DECQ         CX
	JNZ          pairloop

pairdone:
	VMOVUPD Y0, 0(DX)
	VMOVUPD Y1, 32(DX)
	VZEROUPPER
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
