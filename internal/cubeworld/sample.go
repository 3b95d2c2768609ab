package cubeworld

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cubelab/cubelab/internal/task"
)

// DefaultMargin is the statics margin, in metres, used unless told otherwise:
// a scene is kept only when its label survives moving every support edge by
// 5 mm either way, about 5% of a block's width, so no label hangs on a
// hair's breadth that neither a person nor a renderer could show.
const DefaultMargin = 0.005

// Size limits of the two kinds of scene.
const (
	MinTowerBlocks = 2
	MaxTowerBlocks = 7
	MinPyramidRows = 2
	MaxPyramidRows = 5
)

// maxAttempts bounds re-sampling; the samplers' acceptance rates are far above
// 1/maxAttempts, so reaching it means the parameters are wrong.
const maxAttempts = 100000

// ErrAttempts means no scene meeting the request turned up.
var ErrAttempts = errors.New("cubeworld: no acceptable scene after many attempts")

// towerSpread is the half-width, in metres, of the uniform horizontal offset
// between consecutive blocks of an n-block tower. It narrows with height so
// that about half of every tower size stands (calibrated by simulation with
// DefaultMargin; TestTowerBalance checks it).
func towerSpread(n int) float64 {
	switch n {
	case 2:
		return 0.128
	case 3:
		return 0.0725
	case 4:
		return 0.062
	case 5:
		return 0.0545
	case 6:
		return 0.0500
	default:
		return 0.046
	}
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// pickColor draws a palette colour unlike any of avoid.
func pickColor(r *rand.Rand, avoid ...string) string {
	p := palette()
	for {
		c := p[r.IntN(len(p))]
		ok := true
		for _, a := range avoid {
			ok = ok && c != a
		}
		if ok {
			return c
		}
	}
}

// sampleTower draws an n-block column with the given offset spread; ok is
// false when two neighbours barely touch, which would look like no tower at all.
func sampleTower(r *rand.Rand, n int, spread float64) (blocks []Block, ok bool) {
	blocks = make([]Block, n)
	var x, y, z, sumX, sumY float64
	prev := ""
	for i := range blocks {
		if i > 0 {
			x += uniform(r, -spread, spread)
			y += uniform(r, -spread/4, spread/4) // mostly across the view, where the overhang shows
		}
		b := Block{
			Size:   [3]float64{uniform(r, 0.08, 0.12), uniform(r, 0.08, 0.12), uniform(r, 0.06, 0.09)},
			YawDeg: uniform(r, -25, 25),
			Color:  pickColor(r, prev),
		}
		b.Pos = [3]float64{x, y, z + b.Size[2]/2}
		z += b.Size[2]
		prev = b.Color
		blocks[i] = b
		sumX += x
		sumY += y
	}
	// Centre the tower in the picture; moving it does not change its statics.
	for i := range blocks {
		blocks[i].Pos[0] -= sumX / float64(n)
		blocks[i].Pos[1] -= sumY / float64(n)
	}
	for i := 1; i < n; i++ {
		lo, hi := blocks[i-1].Footprint(), blocks[i].Footprint()
		ov := lo.Intersect(hi)
		if ov == nil || ov.Area() < 0.05*math.Min(lo.Area(), hi.Area()) {
			return blocks, false
		}
	}
	return blocks, true
}

// Sampler draws scenes whose labels are certain: far enough from the
// boundary (Margin), readable from the picture (the depth rule), and decided
// the same way by two independent methods where there are two.
type Sampler struct {
	Margin float64
	// Statics is the linear program (nil: Solve). Tests inject failures here.
	Statics StaticsFunc
}

// Stats counts the scenes a sampler drew and threw away on the way to the
// scenes it returned.
type Stats struct {
	Drawn     int // scenes sampled, kept or not
	Ambiguous int // label within the margin of the boundary
	DepthFlip int // towers whose label needs the depth offsets (see Tower)
	Undecided int // the linear program could not decide (ErrUndecided)
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.Drawn += o.Drawn
	s.Ambiguous += o.Ambiguous
	s.DepthFlip += o.DepthFlip
	s.Undecided += o.Undecided
}

// maxUndecided is how many undecided solves one item tolerates
// before it fails: on valid scenes the solver has not failed once in the soak
// test, so a run of them means a broken solver, not bad luck.
const maxUndecided = 20

// ErrTooManyUndecided means the solver failed maxUndecided times for one item.
var ErrTooManyUndecided = errors.New("cubeworld: the statics solver could not decide scene after scene")

// DisagreeError is a scene that the closed form and the linear program
// label differently: a bug in one of them, never re-sampled away.
type DisagreeError struct {
	Blocks     []Block
	ClosedForm Verdict // with the margin
	Depth      float64 // the closed form's smallest depth, metres
	LPStands   bool    // the linear program, no margin
}

func (e *DisagreeError) Error() string {
	lp := "falls"
	if e.LPStands {
		lp = "stands"
	}
	return fmt.Sprintf("cubeworld: closed form says %v (depth %.4f m) but the linear program says it %s", e.ClosedForm, e.Depth, lp)
}

// UndecidedError is an item for which the solver could not decide scene after
// scene; Err is the last
// solver error and Blocks its scene.
type UndecidedError struct {
	Blocks []Block
	Err    error
}

func (e *UndecidedError) Error() string {
	return fmt.Sprintf("%v (%d times for one item); last: %v", ErrTooManyUndecided, maxUndecided, e.Err)
}

func (e *UndecidedError) Unwrap() []error { return []error{ErrTooManyUndecided, e.Err} }

func (sm Sampler) statics() StaticsFunc {
	if sm.Statics == nil {
		return Solve
	}
	return sm.Statics
}

// undecided counts one undecided solve and says whether the item must give up.
func (st *Stats) undecided(run *int, blocks []Block, err error) error {
	st.Undecided++
	if *run++; *run >= maxUndecided {
		return &UndecidedError{Blocks: blocks, Err: err}
	}
	return nil
}

// FlattenDepth returns the blocks with every offset toward or away from the
// camera (y) set to zero, as a new slice.
func FlattenDepth(blocks []Block) []Block {
	out := slices.Clone(blocks)
	for i := range out {
		out[i].Pos[1] = 0
	}
	return out
}

// Tower samples an n-block tower whose label is certain; want is task.Yes
// (falls), task.No (stands) or "" for whatever comes.
//
// A tower is kept only when (1) the closed form classifies it with the
// margin, (2) the depth rule holds: with every offset toward or away from the
// camera set to zero it gets the same verdict, still with the margin (at the
// camera's 15-degree pitch those offsets barely show, so a label that needs
// them could not be judged from the picture), and (3) the linear program,
// with no margin, agrees with the closed form. A tower the program cannot
// decide is re-sampled and counted; a disagreement is returned as a
// *DisagreeError.
func (sm Sampler) Tower(r *rand.Rand, n int, want string) (Scene, Stats, error) {
	var st Stats
	if n < MinTowerBlocks || n > MaxTowerBlocks {
		return Scene{}, st, fmt.Errorf("cubeworld: towers have %d to %d blocks, not %d", MinTowerBlocks, MaxTowerBlocks, n)
	}
	run := 0
	for range maxAttempts {
		blocks, v, ok := sm.towerByClosedForm(r, n, want, &st)
		if !ok {
			continue
		}
		stands, err := sm.statics()(blocks, 0)
		if err != nil {
			if err := st.undecided(&run, blocks, err); err != nil {
				return Scene{}, st, err
			}
			continue
		}
		if stands != (v == Stable) {
			d, _ := ColumnDepth(blocks)
			return Scene{}, st, &DisagreeError{Blocks: blocks, ClosedForm: v, Depth: d, LPStands: stands}
		}
		return Scene{Domain: task.Tower, Blocks: blocks, Answer: answerOf(v)}, st, nil
	}
	return Scene{}, st, fmt.Errorf("%w (tower of %d, want %q)", ErrAttempts, n, want)
}

// towerByClosedForm draws one tower and applies rules (1) and (2) of Tower.
func (sm Sampler) towerByClosedForm(r *rand.Rand, n int, want string, st *Stats) ([]Block, Verdict, bool) {
	blocks, ok := sampleTower(r, n, towerSpread(n))
	st.Drawn++
	if !ok {
		return nil, Ambiguous, false
	}
	v := columnVerdict(blocks, sm.Margin)
	if v == Ambiguous {
		st.Ambiguous++
		return nil, v, false
	}
	if want != "" && answerOf(v) != want {
		return nil, v, false
	}
	if columnVerdict(FlattenDepth(blocks), sm.Margin) != v {
		st.DepthFlip++
		return nil, v, false
	}
	return blocks, v, true
}

// Tower samples a tower with the default solver; see Sampler.Tower.
func Tower(r *rand.Rand, n int, margin float64, want string) (Scene, error) {
	s, _, err := Sampler{Margin: margin}.Tower(r, n, want)
	return s, err
}

// answerOf turns a verdict on what is left standing into the answer "will it fall?".
func answerOf(v Verdict) string {
	if v == Stable {
		return task.No
	}
	return task.Yes
}

// Pyramid layout, in metres.
const (
	pyrPitch  = 0.125 // between neighbours' centres in a row
	pyrJitter = 0.006 // of a bottom-row block about its place
	pyrShift  = 0.040 // half-width of an upper block's offset from between its supports
	pyrMinGap = 0.010 // neighbours in a row never touch, so all contacts are horizontal
)

// PyramidScene is a sampled pyramid with the facts the manifest needs.
type PyramidScene struct {
	Scene
	Rows   int
	RedRow int // 1-based from the bottom
}

// samplePyramid draws a pyramid of rows rows with a red block on redRow (0:
// any row but the top, uniformly); ok is false when two neighbours in a row
// come too close.
func samplePyramid(r *rand.Rand, rows, redRow int) (p PyramidScene, ok bool) {
	p.Rows = rows
	var below []Block
	z := 0.0
	for row := range rows {
		h := uniform(r, 0.06, 0.08) // one height per row, so the next row lies flat on it
		cur := make([]Block, rows-row)
		for j := range cur {
			var x float64
			if row == 0 {
				x = (float64(j)-float64(rows-1)/2)*pyrPitch + uniform(r, -pyrJitter, pyrJitter)
			} else {
				x = (below[j].Pos[0]+below[j+1].Pos[0])/2 + uniform(r, -pyrShift, pyrShift)
			}
			avoid := []string{}
			if j > 0 {
				avoid = append(avoid, cur[j-1].Color)
			}
			if row > 0 {
				avoid = append(avoid, below[j].Color, below[j+1].Color)
			}
			cur[j] = Block{
				Size:  [3]float64{uniform(r, 0.09, 0.11), uniform(r, 0.09, 0.11), h},
				Pos:   [3]float64{x, 0, z + h/2},
				Color: pickColor(r, avoid...),
			}
			if j > 0 && cur[j].Pos[0]-cur[j].Size[0]/2 < cur[j-1].Pos[0]+cur[j-1].Size[0]/2+pyrMinGap {
				return p, false
			}
		}
		p.Blocks = append(p.Blocks, cur...)
		below = cur
		z += h
	}
	// The red block: its row uniform over all but the top unless given, then
	// its place in the row.
	p.RedRow = redRow
	if redRow == 0 {
		p.RedRow = 1 + r.IntN(rows-1)
	}
	first := 0
	for row := 1; row < p.RedRow; row++ {
		first += rows - row + 1
	}
	red := first + r.IntN(rows-p.RedRow+1)
	p.Blocks[red].Color = Red
	p.Red = &red
	p.Domain = task.Pyramid
	return p, true
}

// Pyramid samples a pyramid of rows rows, with the red block on redRow (1 =
// the bottom row; 0: any but the top, uniformly), that stands with the margin
// and whose answer (would other blocks fall without the red one?) is certain
// with the margin; want is task.Yes, task.No or "" for whatever comes. Both
// questions go to the linear program; a pyramid it cannot decide is
// re-sampled and counted. The depth rule of towers has nothing to act on
// here: every pyramid block stands square on the plane y = 0.
func (sm Sampler) Pyramid(r *rand.Rand, rows, redRow int, want string) (PyramidScene, Stats, error) {
	var st Stats
	if rows < MinPyramidRows || rows > MaxPyramidRows {
		return PyramidScene{}, st, fmt.Errorf("cubeworld: pyramids have %d to %d rows, not %d", MinPyramidRows, MaxPyramidRows, rows)
	}
	if redRow < 0 || redRow >= rows {
		return PyramidScene{}, st, fmt.Errorf("cubeworld: the red block of a %d-row pyramid goes on rows 1-%d, not %d", rows, rows-1, redRow)
	}
	run := 0
	for range maxAttempts {
		p, ok := samplePyramid(r, rows, redRow)
		st.Drawn++
		if !ok {
			continue
		}
		// Decide the cheaper question first: the answer, then that the whole stands.
		without := Without(p.Blocks, *p.Red)
		v, err := classify(without, sm.Margin, sm.statics())
		if err != nil {
			if err := st.undecided(&run, without, err); err != nil {
				return PyramidScene{}, st, err
			}
			continue
		}
		if v == Ambiguous {
			st.Ambiguous++
			continue
		}
		if want != "" && answerOf(v) != want {
			continue
		}
		whole, err := classify(p.Blocks, sm.Margin, sm.statics())
		if err != nil {
			if err := st.undecided(&run, p.Blocks, err); err != nil {
				return PyramidScene{}, st, err
			}
			continue
		}
		if whole != Stable {
			if whole == Ambiguous {
				st.Ambiguous++
			}
			continue
		}
		p.Answer = answerOf(v)
		return p, st, nil
	}
	return PyramidScene{}, st, fmt.Errorf("%w (pyramid of %d rows, red row %d, want %q)", ErrAttempts, rows, redRow, want)
}

// Pyramid samples a pyramid with the default solver and the red block on any
// row; see Sampler.Pyramid.
func Pyramid(r *rand.Rand, rows int, margin float64, want string) (PyramidScene, error) {
	p, _, err := Sampler{Margin: margin}.Pyramid(r, rows, 0, want)
	return p, err
}

// Removed is the pyramid's twin without the red block (domain pyramid-removed):
// the same answer, since it falls exactly when removing the red block topples others.
func (p PyramidScene) Removed() Scene {
	return Scene{
		ID:     p.ID,
		Domain: task.PyramidRemoved,
		Blocks: Without(p.Blocks, *p.Red),
		Answer: p.Answer,
	}
}
