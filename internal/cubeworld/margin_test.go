package cubeworld

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

func TestMargin(t *testing.T) {
	// Two 10 cm cubes, the top one shifted 3 cm: its centre lies 2 cm inside
	// the 5 cm half-width, so the tower stands with 2 cm to spare; shifted
	// 6 cm it falls, 1 cm past the edge.
	cube := func(x, z float64) Block {
		return Block{Size: [3]float64{0.1, 0.1, 0.1}, Pos: [3]float64{x, 0, z}, Color: "#808080"}
	}
	for _, tc := range []struct {
		shift, want float64
	}{{0.03, 0.02}, {0.06, -0.01}, {0, MarginLimit}} {
		s := Scene{ID: "t", Domain: task.Tower, Blocks: []Block{cube(0, 0.05), cube(tc.shift, 0.15)}, Answer: task.No}
		m, err := Margin(s)
		if err != nil || math.Abs(m-tc.want) > 1e-9 {
			t.Errorf("shift %v: margin %v, %v; want %v", tc.shift, m, err, tc.want)
		}
	}
	// Pyramids go through the solver: the sign agrees with the ground truth,
	// and the verdict flips just past the margin found.
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 6 {
		p, err := Pyramid(rng, 3+i%2, DefaultMargin, []string{task.Yes, task.No}[i%2])
		if err != nil {
			t.Fatal(err)
		}
		s := p.Scene
		m, err := Margin(s)
		if err != nil {
			t.Fatal(err)
		}
		truth, _ := GroundTruth(s)
		if (m > 0) != (truth == task.No) {
			t.Errorf("pyramid %d: margin %v, truth %s", i, m, truth)
		}
		t.Logf("pyramid %d: margin %.4f, truth %s", i, m, truth)
		if math.Abs(m) < MarginLimit {
			blocks := Without(s.Blocks, *s.Red)
			in, _ := Solve(blocks, m-math.Copysign(3e-4, m))
			out, _ := Solve(blocks, m+math.Copysign(3e-4, m))
			if in != (m > 0) || out == (m > 0) {
				t.Errorf("pyramid %d: margin %v: stands %v just inside, %v just past", i, m, in, out)
			}
		}
	}
	if _, err := Margin(Scene{ID: "empty", Domain: task.Tower}); err == nil {
		t.Error("a scene without blocks has a margin")
	}
}
