// Package cubeworld builds the block scenes of the stability tasks: it samples
// towers and pyramids, decides by rigid-body statics whether they stand, and
// renders them. It knows nothing of files, HTTP or databases.
//
// Coordinates are metres: x to the right, y away from the camera, z up; a
// block's Pos is its centre, Size its full extents, and it may turn about the
// vertical axis only, so every contact between blocks is horizontal.
package cubeworld

import (
	"fmt"
	"math"

	"github.com/cubelab/cubelab/internal/task"
)

// Block is one cuboid of uniform density.
type Block struct {
	Size   [3]float64 `json:"size"`    // full extents along the block's own x, y and z
	Pos    [3]float64 `json:"pos"`     // centre
	YawDeg float64    `json:"yaw_deg"` // turn about z, counter-clockwise seen from above
	Color  string     `json:"color"`   // "#rrggbb"
}

// Scene is one stimulus as stored in scenes.jsonl.
type Scene struct {
	ID     string      `json:"id"`
	Domain task.Domain `json:"domain"`
	Blocks []Block     `json:"blocks"`
	Red    *int        `json:"red"`    // index of the red block; null for towers and pyramid-removed
	Answer string      `json:"answer"` // task.Yes or task.No
}

// Volume is the block's volume, proportional to its mass.
func (b Block) Volume() float64 { return b.Size[0] * b.Size[1] * b.Size[2] }

// Bottom is the height of the block's lower face.
func (b Block) Bottom() float64 { return b.Pos[2] - b.Size[2]/2 }

// Top is the height of the block's upper face.
func (b Block) Top() float64 { return b.Pos[2] + b.Size[2]/2 }

// Footprint is the block's outline seen from above, counter-clockwise.
func (b Block) Footprint() Polygon {
	s, c := math.Sincos(b.YawDeg * math.Pi / 180)
	hx, hy := b.Size[0]/2, b.Size[1]/2
	p := make(Polygon, 4)
	for i, d := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		x, y := d[0]*hx, d[1]*hy
		p[i] = Vec2{b.Pos[0] + c*x - s*y, b.Pos[1] + s*x + c*y}
	}
	return p
}

// Check reports the first thing that makes a scene unusable: no blocks,
// non-positive sizes, non-finite numbers, a bad colour, a red index out of range.
func (s Scene) Check() error {
	if len(s.Blocks) == 0 {
		return fmt.Errorf("cubeworld: scene %q has no blocks", s.ID)
	}
	for i, b := range s.Blocks {
		for k := range 3 {
			if !(b.Size[k] > 0) || math.IsInf(b.Size[k], 0) {
				return fmt.Errorf("cubeworld: scene %q block %d: size %v is not positive", s.ID, i, b.Size)
			}
			if math.IsNaN(b.Pos[k]) || math.IsInf(b.Pos[k], 0) {
				return fmt.Errorf("cubeworld: scene %q block %d: pos %v is not finite", s.ID, i, b.Pos)
			}
		}
		if math.IsNaN(b.YawDeg) || math.IsInf(b.YawDeg, 0) {
			return fmt.Errorf("cubeworld: scene %q block %d: yaw is not finite", s.ID, i)
		}
		if _, err := parseHex(b.Color); err != nil {
			return fmt.Errorf("cubeworld: scene %q block %d: %w", s.ID, i, err)
		}
	}
	if s.Red != nil && (*s.Red < 0 || *s.Red >= len(s.Blocks)) {
		return fmt.Errorf("cubeworld: scene %q: red %d is not a block index", s.ID, *s.Red)
	}
	return nil
}

// Without returns the blocks with block i left out, as a new slice.
func Without(blocks []Block, i int) []Block {
	out := make([]Block, 0, len(blocks)-1)
	out = append(out, blocks[:i]...)
	return append(out, blocks[i+1:]...)
}

// GroundTruth recomputes a scene's answer from its blocks alone, with no
// margin: for a tower, Yes when it does not stand; for a pyramid, Yes when the
// blocks other than the red one do not stand; for a pyramid-removed scene
// (whose red block is already gone), Yes when it does not stand.
func GroundTruth(s Scene) (string, error) {
	if err := s.Check(); err != nil {
		return "", err
	}
	blocks := s.Blocks
	switch s.Domain {
	case task.Tower, task.PyramidRemoved:
	case task.Pyramid:
		if s.Red == nil {
			return "", fmt.Errorf("cubeworld: pyramid %q has no red block", s.ID)
		}
		blocks = Without(blocks, *s.Red)
	default:
		return "", fmt.Errorf("cubeworld: scene %q: unknown domain %q", s.ID, s.Domain)
	}
	if Stands(blocks) {
		return task.No, nil
	}
	return task.Yes, nil
}
