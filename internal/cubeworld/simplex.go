package cubeworld

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrUndecided means the statics solver could neither certify forces that
// hold the blocks nor prove that none exist: the iteration or time bound ran
// out, or what it found did not survive the check against the original
// equations. It is never a verdict: generation re-samples such a scene and
// counts it.
var ErrUndecided = errors.New("cubeworld: statics undecided")

// Bounds of one feasibility solve. The iteration bound is what stops a solve
// and keeps generation deterministic; statics programs of these scenes need
// tens to a few hundred pivots, and no solve should come near the time bound,
// which only guards against a machine so loaded that a bounded solve still
// takes too long.
const (
	lpIterPerDim = 20              // pivots allowed per row plus column
	lpTimeLimit  = 2 * time.Second // wall time, checked every 64 pivots
)

// Tolerances of the feasibility solve, relative to row-scaled data (every
// row's largest coefficient is 1).
const (
	lpPivotTol  = 1e-9  // smallest usable pivot
	lpCostTol   = 1e-11 // reduced costs above -lpCostTol count as non-negative
	lpResidTol  = 1e-9  // residual a certified solution may leave, per row
	lpFarkasTol = 1e-7  // b·y a proof of infeasibility must reach, for max|y| = 1
	// A proof y may leave A^T y up to lpFarkasRel * b·y above zero: any x >= 0
	// with A x = b would then need forces summing to 1/lpFarkasRel times the
	// certificate's scale, a million times any weight here.
	lpFarkasRel = 1e-6
)

// feasible decides whether A x = b, x >= 0 has a solution, by phase 1 of a
// dense tableau simplex: minimise the sum of one artificial variable per row.
// A is m x n, row-major. Its answer is certified both ways against the
// row-scaled original equations, never trusted from the tableau alone:
// (true, nil) comes with an x >= 0 whose residual is below lpResidTol per row;
// (false, nil) comes with a Farkas certificate y (A^T y <= 0, b·y > 0); any
// other outcome is (false, ErrUndecided wrapped with the reason).
//
// Pivoting is Dantzig's rule (most negative reduced cost) with the largest
// pivot among ratio-test ties, switching for good to Bland's rule (lowest
// index, which cannot cycle) after a run of degenerate pivots; the number of
// pivots is bounded as well, so a solve always ends.
func feasible(a []float64, b []float64, m, n int) (bool, error) {
	if len(a) != m*n || len(b) != m {
		return false, fmt.Errorf("%w: %d x %d program with %d coefficients and %d right-hand sides", ErrUndecided, m, n, len(a), len(b))
	}
	// Row scaling: the largest coefficient of every row becomes 1.
	A := make([]float64, m*n)
	B := make([]float64, m)
	for i := range m {
		row := a[i*n : (i+1)*n]
		s := 0.0
		for _, v := range row {
			s = math.Max(s, math.Abs(v))
		}
		if s == 0 {
			if b[i] != 0 {
				return false, nil // 0 = b[i] != 0: plainly infeasible
			}
			s = 1
		}
		for j, v := range row {
			A[i*n+j] = v / s
		}
		B[i] = b[i] / s
	}

	// Tableau: m constraint rows and the reduced-cost row; columns x (n),
	// artificials (m), right-hand side.
	w := n + m + 1
	T := make([]float64, (m+1)*w)
	sign := make([]float64, m)
	basis := make([]int, m)
	cost := T[m*w:]
	for i := range m {
		sign[i] = 1
		if B[i] < 0 {
			sign[i] = -1
		}
		row := T[i*w : (i+1)*w]
		for j := range n {
			row[j] = sign[i] * A[i*n+j]
			cost[j] -= row[j]
		}
		row[n+i] = 1
		row[w-1] = sign[i] * B[i]
		cost[w-1] -= row[w-1]
		basis[i] = n + i
	}

	maxIter := lpIterPerDim * (m + n)
	start := time.Now()
	bland := false
	degenerate := 0
	var nz []int
	for iter := 0; ; iter++ {
		if iter >= maxIter {
			return false, fmt.Errorf("%w: no answer after %d pivots", ErrUndecided, iter)
		}
		if iter%64 == 63 && time.Since(start) > lpTimeLimit {
			return false, fmt.Errorf("%w: no answer after %v (%d pivots)", ErrUndecided, lpTimeLimit, iter)
		}
		// Entering column: artificials never re-enter.
		enter := -1
		best := -lpCostTol
		for j := range n {
			if cost[j] < best {
				enter, best = j, cost[j]
				if bland {
					break
				}
			}
		}
		if enter < 0 {
			break // optimal
		}
		// Ratio test.
		leave := -1
		var ratio, piv float64
		for i := range m {
			t := T[i*w+enter]
			if t <= lpPivotTol {
				continue
			}
			q := T[i*w+w-1] / t
			switch {
			case leave < 0 || q < ratio-1e-12:
				leave, ratio, piv = i, q, t
			case q <= ratio+1e-12:
				if (bland && basis[i] < basis[leave]) || (!bland && t > piv) {
					leave, ratio, piv = i, math.Min(q, ratio), t
				}
			}
		}
		if leave < 0 {
			// Phase 1 is bounded below by 0, so this is numerical trouble.
			return false, fmt.Errorf("%w: unbounded column %d in phase 1", ErrUndecided, enter)
		}
		if ratio <= 1e-12 {
			if degenerate++; degenerate > 2*m {
				bland = true
			}
		} else {
			degenerate = 0
		}
		nz = pivot(T, m+1, w, leave, enter, nz)
		basis[leave] = enter
	}

	// The phase-1 optimum: the sum of the artificials left.
	x := make([]float64, n)
	for i, j := range basis {
		if j < n {
			x[j] = math.Max(0, T[i*w+w-1])
		}
	}
	if ok, _ := certifiedSolution(A, B, x, m, n); ok {
		return true, nil
	}
	// Duals of the sign-flipped system: the reduced cost of artificial i is 1 - pi_i.
	y := make([]float64, m)
	ymax := 0.0
	for i := range m {
		y[i] = sign[i] * (1 - cost[n+i])
		ymax = math.Max(ymax, math.Abs(y[i]))
	}
	if ymax > 0 {
		var by float64
		for i := range m {
			y[i] /= ymax
			by += B[i] * y[i]
		}
		worst := math.Inf(-1)
		for j := range n {
			var s float64
			for i := range m {
				s += A[i*n+j] * y[i]
			}
			worst = math.Max(worst, s)
		}
		if by > lpFarkasTol && worst <= lpFarkasRel*by {
			return false, nil
		}
		_, resid := certifiedSolution(A, B, x, m, n)
		return false, fmt.Errorf("%w: neither certified (residual %.3g, Farkas b.y %.3g with A^T y up to %.3g)", ErrUndecided, resid, by, worst)
	}
	_, resid := certifiedSolution(A, B, x, m, n)
	return false, fmt.Errorf("%w: residual %.3g and no proof of infeasibility", ErrUndecided, resid)
}

// certifiedSolution checks x >= 0 against A x = b, row by row.
func certifiedSolution(A, B, x []float64, m, n int) (bool, float64) {
	worst := 0.0
	for i := range m {
		s := -B[i]
		for j, v := range A[i*n : (i+1)*n] {
			s += v * x[j]
		}
		worst = math.Max(worst, math.Abs(s))
	}
	return worst <= lpResidTol, worst
}

// pivot makes column c a unit column with its 1 in row r. nz is scratch
// space for the indices of the pivot row's non-zero entries: the tableaux of
// statics programs stay sparse (a force touches the rows of two blocks), so
// updating only those entries saves most of the work.
func pivot(T []float64, rows, w, r, c int, nz []int) []int {
	pr := T[r*w : (r+1)*w]
	inv := 1 / pr[c]
	nz = nz[:0]
	for j, v := range pr {
		if v != 0 {
			pr[j] = v * inv
			nz = append(nz, j)
		}
	}
	pr[c] = 1
	for i := range rows {
		if i == r {
			continue
		}
		row := T[i*w : (i+1)*w]
		f := row[c]
		if f == 0 {
			continue
		}
		for _, j := range nz {
			row[j] -= f * pr[j]
		}
		row[c] = 0
	}
	return nz
}
