package cubeworld

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

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

// Tower samples an n-block tower whose label is certain with the given margin;
// want is task.Yes (falls), task.No (stands) or "" for whatever comes. The
// label is checked twice: by the closed form (with the margin) and by the
// linear program (without), and the two must agree.
func Tower(r *rand.Rand, n int, margin float64, want string) (Scene, error) {
	if n < MinTowerBlocks || n > MaxTowerBlocks {
		return Scene{}, fmt.Errorf("cubeworld: towers have %d to %d blocks, not %d", MinTowerBlocks, MaxTowerBlocks, n)
	}
	blocks, v, err := towerByClosedForm(r, n, margin, want)
	if err != nil {
		return Scene{}, err
	}
	if Stands(blocks) != (v == Stable) {
		return Scene{}, fmt.Errorf("cubeworld: closed form says %v but the linear program disagrees", v)
	}
	return Scene{Domain: task.Tower, Blocks: blocks, Answer: answerOf(v)}, nil
}

// towerByClosedForm is Tower without the final check by linear program.
func towerByClosedForm(r *rand.Rand, n int, margin float64, want string) ([]Block, Verdict, error) {
	for range maxAttempts {
		blocks, ok := sampleTower(r, n, towerSpread(n))
		if !ok {
			continue
		}
		v := Classify(blocks, margin)
		if v == Ambiguous || (want != "" && answerOf(v) != want) {
			continue
		}
		return blocks, v, nil
	}
	return nil, Ambiguous, fmt.Errorf("%w (tower of %d, want %q)", ErrAttempts, n, want)
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

// samplePyramid draws a pyramid of rows rows with a red block; ok is false when
// two neighbours in a row come too close.
func samplePyramid(r *rand.Rand, rows int) (p PyramidScene, ok bool) {
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
	// The red block: its row uniform over all but the top, then its place in the row.
	p.RedRow = 1 + r.IntN(rows-1)
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

// Pyramid samples a pyramid of rows rows that stands with the margin and whose
// answer (would other blocks fall without the red one?) is certain with the
// margin; want is task.Yes, task.No or "" for whatever comes.
func Pyramid(r *rand.Rand, rows int, margin float64, want string) (PyramidScene, error) {
	if rows < MinPyramidRows || rows > MaxPyramidRows {
		return PyramidScene{}, fmt.Errorf("cubeworld: pyramids have %d to %d rows, not %d", MinPyramidRows, MaxPyramidRows, rows)
	}
	for range maxAttempts {
		p, ok := samplePyramid(r, rows)
		if !ok {
			continue
		}
		// Decide the cheaper question first: the answer, then that the whole stands.
		v := Classify(Without(p.Blocks, *p.Red), margin)
		if v == Ambiguous || (want != "" && answerOf(v) != want) {
			continue
		}
		if Classify(p.Blocks, margin) != Stable {
			continue
		}
		p.Answer = answerOf(v)
		return p, nil
	}
	return PyramidScene{}, fmt.Errorf("%w (pyramid of %d rows, want %q)", ErrAttempts, rows, want)
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
