package cubeworld

import (
	"errors"
	"fmt"
	"math"
)

// ErrUndecided means the statics solver could neither certify forces that
// hold the blocks nor prove that none exist: the pivot bound ran out, or what it found did not survive the check against the original
// equations. It is never a verdict: generation re-samples such a scene and
// counts it.
var ErrUndecided = errors.New("cubeworld: statics undecided")

// lpIterPerDim bounds one feasibility solve: pivots allowed per row plus
// column. Statics programs of these scenes need tens to a few hundred pivots;
// the bound caps the work of the largest (a 3-D 15-block pyramid, 90 x ~400)
// at about 10,000 pivots, a fraction of a second of CPU. There is no
// wall-clock limit on purpose: one would make a label depend on how busy the
// machine is (a solve cut short is re-sampled), and the same seed must give
// the same bytes. (A 2-second limit did that in the second soak run, at nice
// 19 and load 50: four undecided pyramid solves that a replay of the same
// seeds did not reproduce.)
const lpIterPerDim = 20

// Tolerances of the feasibility solve, relative to row-scaled data (every
// row's largest coefficient is 1).
const (
	lpPivotTol  = 1e-7  // smallest usable pivot
	lpHarrisTol = 1e-9  // how far below zero the ratio test lets a basic value go
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
// (true, nil) comes with an x >= 0 whose residual is below lpResidTol per row
// (relative to the largest force); (false, nil) comes with a Farkas
// certificate y (A^T y <= 0, b·y > 0); any other outcome is (false,
// ErrUndecided wrapped with the reason).
//
// Pivoting is Dantzig's rule (most negative reduced cost) with Harris's
// two-pass ratio test (the largest pivot among the rows that bound the step),
// switching for good to Bland's rule (lowest index, which cannot cycle) after
// a run of degenerate pivots; the number of pivots is bounded as well, so a
// solve always ends. When the tableau says optimal it is rebuilt from the
// basis inverse it carries (refresh) and asked again, and a feasible x is
// refined through that inverse, so that rounding drift over the pivots
// neither hides a solution nor forges a proof (both happened in the first
// soak run; testdata/soak-*.json).
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
	bland := false
	refreshed := false
	degenerate := 0
	var nz []int
	for iter := 0; ; iter++ {
		if iter >= maxIter {
			return false, fmt.Errorf("%w: no answer after %d pivots", ErrUndecided, iter)
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
			if refreshed {
				break // optimal, and still so from a fresh tableau
			}
			// Optimal by the tableau, which has drifted over the pivots:
			// rebuild it from the basis inverse and the original data, then
			// look again.
			refresh(T, A, B, sign, basis, m, n)
			refreshed = true
			continue
		}
		refreshed = false
		// Ratio test, Harris's two passes: the largest step that keeps every
		// basic value above -lpHarrisTol, then among the rows that bound the
		// step within it the largest pivot (Bland: the lowest basic index),
		// so that no tiny pivot amplifies rounding error.
		bound := math.Inf(1)
		for i := range m {
			if t := T[i*w+enter]; t > lpPivotTol {
				bound = math.Min(bound, (math.Max(T[i*w+w-1], 0)+lpHarrisTol)/t)
			}
		}
		leave := -1
		var ratio, piv float64
		for i := range m {
			t := T[i*w+enter]
			if t <= lpPivotTol {
				continue
			}
			q := math.Max(T[i*w+w-1], 0) / t
			if q > bound {
				continue
			}
			if leave < 0 || (bland && basis[i] < basis[leave]) || (!bland && t > piv) {
				leave, ratio, piv = i, q, t
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
	// Iterative refinement through the basis inverse: x_B += Binv S (b - A x).
	for range 2 {
		if ok, _ := certifiedSolution(A, B, x, m, n); ok {
			return true, nil
		}
		r := make([]float64, m)
		for i := range m {
			r[i] = B[i]
			for j, v := range A[i*n : (i+1)*n] {
				r[i] -= v * x[j]
			}
			r[i] *= sign[i]
		}
		for k, j := range basis {
			if j >= n {
				continue
			}
			var d float64
			for i := range m {
				d += T[k*w+n+i] * r[i]
			}
			x[j] = math.Max(0, x[j]+d)
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

// refresh recomputes the tableau from the basis inverse it carries in the
// artificial columns (the artificials started as the identity): the x
// columns become Binv S A, the right-hand side Binv S b, and the cost row is
// recomputed from the basic costs (1 for an artificial, 0 for an x). This
// removes the rounding error accumulated over the pivots; it costs about as
// much as m pivots, and the sparsity of A makes it less.
func refresh(T, A, B, sign []float64, basis []int, m, n int) {
	w := n + m + 1
	for k := range m {
		row := T[k*w : (k+1)*w]
		clear(row[:n])
		row[w-1] = 0
	}
	for i := range m {
		for k := range m {
			bi := T[k*w+n+i] * sign[i]
			if bi == 0 {
				continue
			}
			row := T[k*w : (k+1)*w]
			for j, a := range A[i*n : (i+1)*n] {
				if a != 0 {
					row[j] += bi * a
				}
			}
			row[w-1] += bi * B[i]
		}
	}
	for k, j := range basis {
		if j < n {
			for i := range m {
				T[i*w+j] = 0
			}
			T[k*w+j] = 1
		}
	}
	cost := T[m*w:]
	clear(cost)
	for i := range m {
		cost[n+i] = 1
	}
	for k, j := range basis {
		if j < n {
			continue
		}
		row := T[k*w : (k+1)*w]
		for c, v := range row {
			cost[c] -= v
		}
	}
}

// certifiedSolution checks x >= 0 against A x = b, row by row: the
// residual may be lpResidTol of the largest force (at least 1: the weights
// are of order 1), the rounding error of sums of such terms.
func certifiedSolution(A, B, x []float64, m, n int) (bool, float64) {
	worst, big := 0.0, 1.0
	for _, v := range x {
		big = math.Max(big, v)
	}
	for i := range m {
		s := -B[i]
		for j, v := range A[i*n : (i+1)*n] {
			s += v * x[j]
		}
		worst = math.Max(worst, math.Abs(s))
	}
	return worst <= lpResidTol*big, worst
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
