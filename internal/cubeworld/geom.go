package cubeworld

import "math"

// Vec2 is a point or direction in the horizontal plane.
type Vec2 [2]float64

// Polygon is a convex polygon, vertices counter-clockwise.
type Polygon []Vec2

func cross2(o, a, b Vec2) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

// Area is the polygon's area (positive for counter-clockwise order).
func (p Polygon) Area() float64 {
	var a float64
	for i := range p {
		j := (i + 1) % len(p)
		a += p[i][0]*p[j][1] - p[j][0]*p[i][1]
	}
	return a / 2
}

// halfPlane keeps the points q with n·q >= c.
type halfPlane struct {
	n Vec2
	c float64
}

// edgePlanes are the half-planes whose intersection is the convex polygon p,
// each moved inward by inset (outward when inset is negative).
func (p Polygon) edgePlanes(inset float64) []halfPlane {
	hs := make([]halfPlane, 0, len(p))
	for i := range p {
		a, b := p[i], p[(i+1)%len(p)]
		dx, dy := b[0]-a[0], b[1]-a[1]
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		n := Vec2{-dy / l, dx / l} // left of the edge is inside for counter-clockwise order
		hs = append(hs, halfPlane{n, n[0]*a[0] + n[1]*a[1] + inset})
	}
	return hs
}

// clip keeps the part of convex polygon p inside the half-plane (Sutherland-Hodgman).
func (p Polygon) clip(h halfPlane) Polygon {
	if len(p) == 0 {
		return nil
	}
	out := make(Polygon, 0, len(p)+1)
	side := func(q Vec2) float64 { return h.n[0]*q[0] + h.n[1]*q[1] - h.c }
	for i := range p {
		a, b := p[i], p[(i+1)%len(p)]
		sa, sb := side(a), side(b)
		if sa >= 0 {
			out = append(out, a)
		}
		if (sa >= 0) != (sb >= 0) {
			t := sa / (sa - sb)
			out = append(out, Vec2{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])})
		}
	}
	if len(out) < 3 {
		return nil
	}
	return out
}

// Intersect is the overlap of two convex polygons; nil when they do not overlap.
func (p Polygon) Intersect(q Polygon) Polygon {
	out := p
	for _, h := range q.edgePlanes(0) {
		out = out.clip(h)
		if out == nil {
			return nil
		}
	}
	return out
}

// Offset moves every edge of the convex polygon inward by d (outward when d is
// negative, with mitred corners); nil when nothing is left.
func (p Polygon) Offset(d float64) Polygon {
	if d == 0 || len(p) < 3 {
		return p
	}
	if d > 0 {
		out := p
		for _, h := range p.edgePlanes(d) {
			if out = out.clip(h); out == nil {
				return nil
			}
		}
		return out
	}
	// Growing: start from a box that surely holds the result and cut it down.
	lo, hi := p[0], p[0]
	for _, v := range p {
		lo = Vec2{math.Min(lo[0], v[0]), math.Min(lo[1], v[1])}
		hi = Vec2{math.Max(hi[0], v[0]), math.Max(hi[1], v[1])}
	}
	r := 2*(hi[0]-lo[0]+hi[1]-lo[1]) + 4*-d
	out := Polygon{{lo[0] - r, lo[1] - r}, {hi[0] + r, lo[1] - r}, {hi[0] + r, hi[1] + r}, {lo[0] - r, hi[1] + r}}
	for _, h := range p.edgePlanes(d) {
		if out = out.clip(h); out == nil {
			return nil
		}
	}
	return out
}

// Depth is how far q lies inside the convex polygon: its distance to the
// boundary when inside, and minus the largest distance beyond an edge's line
// when outside (exact near edges, so Depth(q) >= -d exactly when q lies in
// Offset(-d)). An empty polygon gives -Inf.
func (p Polygon) Depth(q Vec2) float64 {
	hs := p.edgePlanes(0)
	if len(hs) < 3 {
		return math.Inf(-1)
	}
	d := math.Inf(1)
	for _, h := range hs {
		d = math.Min(d, h.n[0]*q[0]+h.n[1]*q[1]-h.c)
	}
	return d
}

// clean drops the vertices that add nothing to a contact: one within tol of
// the vertex before it (clipping along a line through a vertex repeats it) and
// one on the straight line between its neighbours (a force there is a
// combination of forces at the two). Such vertices make columns of the
// statics program that are equal or nearly dependent, the source of the
// near-singular bases that upset the simplex. nil when fewer than three
// vertices are left.
func (p Polygon) clean(tol float64) Polygon {
	out := make(Polygon, 0, len(p))
	for _, v := range p {
		if len(out) > 0 && math.Hypot(v[0]-out[len(out)-1][0], v[1]-out[len(out)-1][1]) <= tol {
			continue
		}
		out = append(out, v)
	}
	for len(out) > 1 && math.Hypot(out[0][0]-out[len(out)-1][0], out[0][1]-out[len(out)-1][1]) <= tol {
		out = out[:len(out)-1]
	}
	for changed := true; changed && len(out) >= 3; {
		changed = false
		for i := range out {
			a, v, b := out[(i+len(out)-1)%len(out)], out[i], out[(i+1)%len(out)]
			// Twice the area of the triangle against the length of its base:
			// v's distance from the line a-b.
			if base := math.Hypot(b[0]-a[0], b[1]-a[1]); base > 0 && math.Abs(cross2(a, v, b)) <= tol*base {
				out = append(out[:i], out[i+1:]...)
				changed = true
				break
			}
		}
	}
	if len(out) < 3 {
		return nil
	}
	return out
}
