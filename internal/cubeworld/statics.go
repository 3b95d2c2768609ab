package cubeworld

import (
	"errors"
	"fmt"
	"math"
)

// Friction is the Coulomb coefficient between blocks and between a block and
// the floor. Gravity is vertical and every contact horizontal, so friction is
// never needed to balance a scene; it is kept so that the model is the standard
// one and stays right if tilted contacts are ever added.
const Friction = 0.5

// contactTol is how close, in metres, a block's bottom must be to another's top
// (or to the floor) to rest on it.
const contactTol = 1e-6

// vertexTol is how close, in metres, two contact vertices may be before they
// count as one, and how far from the line through its neighbours a vertex
// must be to count at all.
const vertexTol = 1e-7

// ErrFloating means some block rests, directly or through others, on nothing
// that reaches the floor; the linear program would not be well posed.
var ErrFloating = errors.New("cubeworld: a block does not rest on anything that reaches the floor")

// contact is where block upper rests on block lower (-1: the floor).
type contact struct {
	lower, upper int
	poly         Polygon
}

// contacts finds every horizontal contact, each polygon moved inward by inset
// (outward when negative); contacts that vanish are dropped.
func contacts(blocks []Block, inset float64) []contact {
	feet := make([]Polygon, len(blocks))
	for i, b := range blocks {
		feet[i] = b.Footprint()
	}
	var cs []contact
	add := func(lower, upper int, p Polygon) {
		if p = p.Offset(inset).clean(vertexTol); p != nil && p.Area() > 1e-12 {
			cs = append(cs, contact{lower, upper, p})
		}
	}
	for j, b := range blocks {
		if math.Abs(b.Bottom()) <= contactTol {
			add(-1, j, feet[j])
		}
		for i, a := range blocks {
			if i != j && math.Abs(a.Top()-b.Bottom()) <= contactTol {
				if p := feet[i].Intersect(feet[j]); p != nil {
					add(i, j, p)
				}
			}
		}
	}
	return cs
}

// grounded reports whether every block reaches the floor through contacts.
func grounded(n int, cs []contact) bool {
	reached := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for _, c := range cs {
			if !reached[c.upper] && (c.lower < 0 || reached[c.lower]) {
				reached[c.upper] = true
				changed = true
			}
		}
	}
	for _, r := range reached {
		if !r {
			return false
		}
	}
	return true
}

// Solve decides by rigid-body statics whether the blocks stand with every
// contact polygon moved inward by inset metres (outward when negative): it
// looks for contact forces, compressive and inside the friction cone, that
// hold every block in equilibrium under its weight.
//
// Each contact polygon carries forces at its vertices only (any force spread
// over a convex polygon is equivalent to forces at its corners; vertices that
// repeat or lie on a straight edge are dropped, see Polygon.clean), and each
// vertex force is a non-negative combination of the edge vectors of a
// friction pyramid, so the problem is A x = b, x >= 0 with no free variables.
// Six rows per block (force and torque about its centre of mass), four
// columns per contact vertex: the square pyramid inscribed in the friction
// cone. Its four edges span three dimensions (e1 + e2 = e3 + e4), so the
// columns are linearly dependent; that is what broke gonum's simplex (issue
// 12: a singular initial basis on one tower, an endless loop on another;
// with three independent edges gonum solves both), but an inscribed triangle
// allows too little friction along x, which some pyramids need (their planar
// and 3-D verdicts then differ). The solver used instead (feasible,
// simplex.go) starts from an artificial basis, so dependent columns cost it
// nothing.
//
// The program is solved by feasible (simplex.go), a bounded phase-1 simplex
// whose answers are checked against the equations both ways.
//
// A scene that is its own mirror image across a vertical plane x-z (every
// block centred on the same y and square to the axes, as the pyramids are)
// has a mirror-symmetric solution whenever it has one at all, since the
// average of a solution and its mirror image is one. Its problem is then
// solved in that plane: three rows per block (x, z, torque about y), two
// vertices per contact, two edge vectors each, several times faster.
//
// It returns (true, nil) when such forces exist, (false, nil) when the solver
// proves they do not, and (false, err) when the question is not well posed
// (ErrFloating) or the solver cannot decide (ErrUndecided): never a verdict.
func Solve(blocks []Block, inset float64) (bool, error) {
	return solve(blocks, inset, planar(blocks))
}

// planar reports whether the blocks are symmetric about a plane y = const.
func planar(blocks []Block) bool {
	for _, b := range blocks {
		if b.Pos[1] != blocks[0].Pos[1] || math.Mod(b.YawDeg, 90) != 0 {
			return false
		}
	}
	return true
}

// force is one column of the linear program: direction d applied at p by
// block lower (-1: the floor) on block upper.
type force struct {
	lower, upper int
	p, d         [3]float64
}

func solve(blocks []Block, inset float64, flat bool) (bool, error) {
	n := len(blocks)
	if n == 0 {
		return true, nil
	}
	cs := contacts(blocks, inset)
	if flat {
		cs = planarContacts(blocks[0].Pos[1], cs)
	}
	if !grounded(n, cs) {
		return false, ErrFloating
	}
	// Work in units of the largest block extent so that forces and torques
	// are of order one whatever the scale of the scene.
	var scale float64
	for _, b := range blocks {
		scale = math.Max(scale, math.Max(b.Size[0], math.Max(b.Size[1], b.Size[2])))
	}
	edges := [][3]float64{{Friction, 0, 1}, {-Friction, 0, 1}, {0, Friction, 1}, {0, -Friction, 1}}
	rowsOf, zRow := []int{0, 1, 2, 3, 4, 5}, 2 // force x, y, z; torque x, y, z
	if flat {
		edges = edges[:2]
		rowsOf, zRow = []int{0, 2, 4}, 1
	}
	var fs []force
	for _, c := range cs {
		z := blocks[c.upper].Bottom() / scale
		for _, v := range c.poly {
			for _, d := range edges {
				fs = append(fs, force{c.lower, c.upper, [3]float64{v[0] / scale, v[1] / scale, z}, d})
			}
		}
	}
	k := len(rowsOf)
	rows, cols := k*n, len(fs)
	a := make([]float64, rows*cols)
	b := make([]float64, rows)
	com := make([][3]float64, n)
	for i, blk := range blocks {
		for j := range 3 {
			com[i][j] = blk.Pos[j] / scale
		}
		b[k*i+zRow] = blk.Volume() / (scale * scale * scale) // the contacts carry the weight
	}
	for j, f := range fs {
		addWrench(a, cols, k*f.upper, j, rowsOf, wrench(f.p, com[f.upper], f.d, 1))
		if f.lower >= 0 {
			addWrench(a, cols, k*f.lower, j, rowsOf, wrench(f.p, com[f.lower], f.d, -1))
		}
	}
	ok, err := feasible(a, b, rows, cols)
	if err != nil {
		return false, fmt.Errorf("cubeworld: statics of %d blocks: %w", n, err)
	}
	return ok, nil
}

// planarContacts replaces each contact polygon (already moved by the inset,
// so contacts whose depth the inset used up are gone, as in three dimensions)
// of a mirror-symmetric scene by the two ends of its extent along x, on the
// plane of symmetry y.
func planarContacts(y float64, cs []contact) []contact {
	out := cs[:0]
	for _, c := range cs {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range c.poly {
			lo, hi = math.Min(lo, v[0]), math.Max(hi, v[0])
		}
		if hi-lo <= 0 {
			continue
		}
		c.poly = Polygon{{lo, y}, {hi, y}}
		out = append(out, c)
	}
	return out
}

// wrench is the force sign*d applied at p and its torque about com.
func wrench(p, com, d [3]float64, sign float64) [6]float64 {
	r := [3]float64{p[0] - com[0], p[1] - com[1], p[2] - com[2]}
	return [6]float64{
		sign * d[0], sign * d[1], sign * d[2],
		sign * (r[1]*d[2] - r[2]*d[1]), sign * (r[2]*d[0] - r[0]*d[2]), sign * (r[0]*d[1] - r[1]*d[0]),
	}
}

// addWrench writes the chosen components of w into column col of the
// row-major matrix a (cols wide) from row base on.
func addWrench(a []float64, cols, base, col int, rowsOf []int, w [6]float64) {
	for i, k := range rowsOf {
		a[(base+i)*cols+col] = w[k]
	}
}

// Stands is the ground truth: the blocks stand when Solve certifies them with
// no margin.
func Stands(blocks []Block) bool {
	ok, err := Solve(blocks, 0)
	return ok && err == nil
}

// IsColumn reports whether the blocks form a single column in order: the
// first on the floor and each other one resting on the one before it only.
func IsColumn(blocks []Block) bool {
	if len(blocks) == 0 || math.Abs(blocks[0].Bottom()) > contactTol {
		return false
	}
	for i := 1; i < len(blocks); i++ {
		if math.Abs(blocks[i].Bottom()-blocks[i-1].Top()) > contactTol {
			return false
		}
		// No other block may share the contact plane, or the column is not alone.
		for j := range blocks {
			if j != i-1 && j != i && math.Abs(blocks[j].Top()-blocks[i].Bottom()) <= contactTol {
				return false
			}
		}
	}
	return true
}

// ColumnDepth is the closed form for a column: for each contact, how deep the
// centre of mass of everything above it lies inside the contact polygon (the
// overlap of the two footprints; for the floor, the bottom footprint), in
// metres, negative outside; the column stands exactly when the smallest is
// >= 0. It returns that smallest depth and the contact it belongs to
// (0 = the floor, k = between blocks k-1 and k). Blocks must form a column.
func ColumnDepth(blocks []Block) (depth float64, at int) {
	depth, at = math.Inf(1), -1
	var m, mx, my float64
	for k := len(blocks) - 1; k >= 0; k-- {
		v := blocks[k].Volume()
		m += v
		mx += v * blocks[k].Pos[0]
		my += v * blocks[k].Pos[1]
		poly := blocks[k].Footprint()
		if k > 0 {
			poly = blocks[k-1].Footprint().Intersect(poly)
		}
		d := math.Inf(-1)
		if poly != nil {
			d = poly.Depth(Vec2{mx / m, my / m})
		}
		if d < depth {
			depth, at = d, k
		}
	}
	return depth, at
}

// Verdict is a statics decision that allows for a margin.
type Verdict int

// Verdicts.
const (
	Ambiguous Verdict = iota // within the margin of the boundary: re-sample
	Stable
	Unstable
)

func (v Verdict) String() string {
	switch v {
	case Stable:
		return "stable"
	case Unstable:
		return "unstable"
	}
	return "ambiguous"
}

// Classify decides with a margin, in metres: Stable when the blocks still
// stand with every contact polygon shrunk by margin, Unstable when they still
// fall with every contact polygon grown by margin, Ambiguous otherwise. So a
// label can only flip if a centre of mass or a block edge moves by more than
// margin. Columns use the closed form (ColumnDepth), other assemblies the
// linear program, through statics (nil: Solve); with margin 0 it agrees with
// Stands. An error (wrapping ErrUndecided) means the solver could not decide:
// that is not a verdict, and the Verdict returned with it means nothing.
func Classify(blocks []Block, margin float64) (Verdict, error) {
	return classify(blocks, margin, nil)
}

func classify(blocks []Block, margin float64, statics StaticsFunc) (Verdict, error) {
	if IsColumn(blocks) {
		return columnVerdict(blocks, margin), nil
	}
	if statics == nil {
		statics = Solve
	}
	ok, err := statics(blocks, margin)
	switch {
	case err != nil && !errors.Is(err, ErrFloating):
		return Ambiguous, err
	case ok:
		return Stable, nil
	case margin == 0:
		return Unstable, nil
	}
	ok, err = statics(blocks, -margin)
	switch {
	case err != nil && !errors.Is(err, ErrFloating):
		return Ambiguous, err
	case !ok:
		return Unstable, nil
	}
	return Ambiguous, nil
}

// columnVerdict is Classify's closed form for a column.
func columnVerdict(blocks []Block, margin float64) Verdict {
	d, _ := ColumnDepth(blocks)
	switch {
	case d >= margin:
		return Stable
	case d < -margin:
		return Unstable
	}
	return Ambiguous
}

// StaticsFunc decides whether blocks stand with every contact polygon moved
// inward by inset metres, as Solve does; tests put failing solvers in its place.
type StaticsFunc func(blocks []Block, inset float64) (bool, error)
