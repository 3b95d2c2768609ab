//go:build amd64 && !purego

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

// func sumCountRows8AVX2(vals []float64, tail []uint64, first int, drawn []uint32, s *[8]float64, c *[2]uint64)
//
// sumRows8AVX2, and for every drawn i (whole groups of four) c[k] +=
// tail[2j+k] with j = max(0, i-first+1): the flags of the units from first
// on, and tail[0:2] those of a unit with every mean defined, so that the
// table read stays small.
TEXT ·sumCountRows8AVX2(SB), NOSPLIT, $0-96
	MOVQ    vals_base+0(FP), SI
	MOVQ    tail_base+24(FP), R11
	MOVQ    first+48(FP), R14
	DECQ    R14
	MOVQ    drawn_base+56(FP), DI
	MOVQ    drawn_len+64(FP), CX
	MOVQ    s+80(FP), DX
	MOVQ    c+88(FP), R12
	XORQ    R15, R15
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
	SUBQ    R14, R13
	CMOVQLT R15, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	MOVQ    BX, R13
	SUBQ    R14, R13
	CMOVQLT R15, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	MOVQ    R8, R13
	SUBQ    R14, R13
	CMOVQLT R15, R13
	SHLQ    $4, R13
	VPADDQ  0(R11)(R13*1), X6, X6
	MOVQ    R9, R13
	SUBQ    R14, R13
	CMOVQLT R15, R13
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
// acc = the sum over q of times[q] * row[who[q]*8 : who[q]*8+8], column by
// column, the even q (0, 2, ...) and the odd ones in two sums added at the
// end, in densePairSum8's order: two chains of additions instead of one.
TEXT ·pairRow8AVX2(SB), NOSPLIT, $0-80
	MOVQ   row_base+0(FP), SI
	MOVQ   who_base+24(FP), DI
	MOVQ   who_len+32(FP), CX
	MOVQ   times_base+48(FP), R10
	MOVQ   acc+72(FP), DX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ   CX, R11
	SHRQ   $1, R11
	JZ     pairsingle

pairloop:
	MOVLQSX      0(DI), AX
	MOVLQSX      4(DI), BX
	SHLQ         $6, AX
	SHLQ         $6, BX
	VBROADCASTSD 0(R10), Y4
	VBROADCASTSD 8(R10), Y5
	VMULPD       0(SI)(AX*1), Y4, Y6
	VMULPD       32(SI)(AX*1), Y4, Y7
	VMULPD       0(SI)(BX*1), Y5, Y8
	VMULPD       32(SI)(BX*1), Y5, Y9
	VADDPD       Y6, Y0, Y0
	VADDPD       Y7, Y1, Y1
	VADDPD       Y8, Y2, Y2
	VADDPD       Y9, Y3, Y3
	ADDQ         $8, DI
	ADDQ         $16, R10
	DECQ         R11
	JNZ          pairloop

pairsingle:
	TESTQ        $1, CX
	JZ           pairdone
	MOVLQSX      0(DI), AX
	SHLQ         $6, AX
	VBROADCASTSD 0(R10), Y4
	VMULPD       0(SI)(AX*1), Y4, Y6
	VMULPD       32(SI)(AX*1), Y4, Y7
	VADDPD       Y6, Y0, Y0
	VADDPD       Y7, Y1, Y1

pairdone:
	VADDPD  Y2, Y0, Y0
	VADDPD  Y3, Y1, Y1
	VMOVUPD Y0, 0(DX)
	VMOVUPD Y1, 32(DX)
	VZEROUPPER
	RET

// func drawLanesAVX2(x *xoshiro, n, t uint32, out []uint32) int
//
// drawer.indices' loop over whole words: while four places are left in out,
// take the next xoshiro256** output, multiply its four 16-bit lanes by n
// (four at once), and keep each lane's high half unless its low half is
// below t (then, in order, only the lanes kept). Returns how many were
// written; x holds the state after the last word taken.
TEXT ·drawLanesAVX2(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), R12
	MOVQ         0(R12), R8
	MOVQ         8(R12), R9
	MOVQ         16(R12), R10
	MOVQ         24(R12), R11
	MOVL         n+8(FP), BX
	MOVL         t+12(FP), R13
	MOVQ         out_base+16(FP), DI
	MOVQ         out_len+24(FP), CX
	XORQ         SI, SI               // places written
	VMOVQ        BX, X5
	VPBROADCASTD X5, X5               // n in every lane
	VMOVQ        R13, X6
	VPBROADCASTD X6, X6               // t in every lane
	MOVL         $0xffff, AX
	VMOVQ        AX, X7
	VPBROADCASTD X7, X7               // low-half mask

drawloop:
	LEAQ 4(SI), DX
	CMPQ DX, CX
	JGT  drawdone

	// r = rotl(s1*5, 7) * 9, then the state's step.
	LEAQ (R9)(R9*4), AX
	ROLQ $7, AX
	LEAQ (AX)(AX*8), AX
	MOVQ R9, DX
	SHLQ $17, DX
	XORQ R8, R10
	XORQ R9, R11
	XORQ R10, R9
	XORQ R11, R8
	XORQ DX, R10
	ROLQ $45, R11

	VMOVQ     AX, X0
	VPMOVZXWD X0, X0
	VPMULLD   X5, X0, X0
	VPAND     X7, X0, X1
	VPCMPGTD  X1, X6, X2     // t > low half: rejected
	VPTEST    X2, X2
	JNZ       drawslow
	VPSRLD    $16, X0, X0
	VMOVDQU   X0, 0(DI)(SI*4)
	ADDQ      $4, SI
	JMP       drawloop

drawslow:
	// The lanes one by one, in order.
	MOVQ $4, R14

slowlane:
	MOVWLZX AX, DX
	IMULL   BX, DX
	MOVWLZX DX, R15
	CMPL    R15, R13
	JB      slownext
	SHRL    $16, DX
	MOVL    DX, 0(DI)(SI*4)
	INCQ    SI

slownext:
	SHRQ $16, AX
	DECQ R14
	JNZ  slowlane
	JMP  drawloop

drawdone:
	MOVQ R8, 0(R12)
	MOVQ R9, 8(R12)
	MOVQ R10, 16(R12)
	MOVQ R11, 24(R12)
	MOVQ SI, ret+40(FP)
	RET
