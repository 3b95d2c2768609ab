package cubeworld

import (
	"errors"
	"fmt"
	"math"

	"github.com/cubelab/cubelab/internal/task"
)

// MarginLimit bounds Margin: a scene further than this from the statics
// boundary is reported at the limit, since what matters to a reader is that
// it is far, not how far.
const MarginLimit = 0.05

// Margin is how far, in metres, the blocks a scene asks about lie from the
// statics boundary: positive when they stand (the largest inset of every
// contact polygon with which they still stand), negative when they fall (minus
// the smallest outset with which they would stand), clamped to
// [-MarginLimit, MarginLimit]. A pyramid asks about its blocks without the red
// one. Columns use the closed form (ColumnDepth); other assemblies bisect the
// inset with Solve to a tenth of a millimetre; a block left resting on
// nothing is -MarginLimit. A scene the solver cannot decide gives an error,
// never a number.
func Margin(s Scene) (float64, error) {
	if err := s.Check(); err != nil {
		return 0, err
	}
	blocks := s.Blocks
	switch s.Domain {
	case task.Tower, task.PyramidRemoved:
	case task.Pyramid:
		if s.Red == nil {
			return 0, fmt.Errorf("cubeworld: pyramid %q has no red block", s.ID)
		}
		blocks = Without(blocks, *s.Red)
	default:
		return 0, fmt.Errorf("cubeworld: scene %q: unknown domain %q", s.ID, s.Domain)
	}
	clamp := func(v float64) float64 { return max(-MarginLimit, min(MarginLimit, v)) }
	if IsColumn(blocks) {
		d, _ := ColumnDepth(blocks)
		return clamp(d), nil
	}
	stands := func(inset float64) (bool, error) {
		ok, err := Solve(blocks, inset)
		if errors.Is(err, ErrFloating) {
			// A contact shrunk to nothing, or a block resting on nothing:
			// it does not stand.
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("cubeworld: scene %q: margin at inset %g: %w", s.ID, inset, err)
		}
		return ok, nil
	}
	at0, err := stands(0)
	if err != nil {
		return 0, err
	}
	// Bisect between an inset where the verdict is at0 and one where it is not.
	lo, hi := 0.0, MarginLimit
	if !at0 {
		hi = -MarginLimit
	}
	if v, err := stands(hi); err != nil {
		return 0, err
	} else if v == at0 {
		return hi, nil
	}
	for math.Abs(hi-lo) > 1e-4 {
		mid := (lo + hi) / 2
		v, err := stands(mid)
		if err != nil {
			return 0, err
		}
		if v == at0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return clamp((lo + hi) / 2), nil
}
