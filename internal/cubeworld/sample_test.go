package cubeworld

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// TestTowerBalance checks the calibration of towerSpread: with the default
// margin and the depth rule, every tower size comes out 50% +/- 5% stable.
func TestTowerBalance(t *testing.T) {
	const per = 2000
	r := rand.New(rand.NewPCG(11, 12))
	sm := Sampler{Margin: DefaultMargin}
	var st Stats
	for n := MinTowerBlocks; n <= MaxTowerBlocks; n++ {
		stable := 0
		for range per {
			_, v, ok := sm.towerByClosedForm(r, n, "", &st)
			for !ok {
				_, v, ok = sm.towerByClosedForm(r, n, "", &st)
			}
			if v == Stable {
				stable++
			}
		}
		if share := float64(stable) / per; share < 0.45 || share > 0.55 {
			t.Errorf("towers of %d: %.3f stable, want 0.45-0.55", n, share)
		}
	}
}

func TestTowerWant(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, want := range []string{task.Yes, task.No} {
		for n := MinTowerBlocks; n <= MaxTowerBlocks; n++ {
			s, err := Tower(r, n, DefaultMargin, want)
			if err != nil {
				t.Fatal(err)
			}
			if s.Answer != want || len(s.Blocks) != n || s.Domain != task.Tower || s.Red != nil {
				t.Fatalf("got %d blocks, answer %s, domain %s; want %d, %s", len(s.Blocks), s.Answer, s.Domain, n, want)
			}
			if !IsColumn(s.Blocks) {
				t.Error("tower is not a column")
			}
			got, err := GroundTruth(s)
			if err != nil || got != want {
				t.Errorf("GroundTruth = %s, %v; want %s", got, err, want)
			}
			// The label must hold with the margin to spare.
			if v, err := Classify(s.Blocks, DefaultMargin); err != nil || answerOf(v) != want || v == Ambiguous {
				t.Errorf("Classify with margin = %v, %v", v, err)
			}
			// So must it with the depth offsets set to zero.
			if v, err := Classify(FlattenDepth(s.Blocks), DefaultMargin); err != nil || answerOf(v) != want || v == Ambiguous {
				t.Errorf("Classify without depth offsets = %v, %v", v, err)
			}
			for _, b := range s.Blocks {
				if b.Color == Red {
					t.Error("a tower block is red")
				}
			}
		}
	}
	if _, err := Tower(r, 8, DefaultMargin, ""); err == nil {
		t.Error("8-block tower accepted")
	}
}

func TestPyramid(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	redRows := map[[2]int]int{}
	for rows := MinPyramidRows; rows <= MaxPyramidRows; rows++ {
		for i := range 12 {
			want := []string{task.Yes, task.No}[i%2]
			p, err := Pyramid(r, rows, DefaultMargin, want)
			if err != nil {
				t.Fatal(err)
			}
			if p.Answer != want || p.Rows != rows || len(p.Blocks) != rows*(rows+1)/2 {
				t.Fatalf("rows %d: answer %s, %d rows, %d blocks", rows, p.Answer, p.Rows, len(p.Blocks))
			}
			if p.RedRow < 1 || p.RedRow >= rows {
				t.Errorf("red block on row %d of %d", p.RedRow, rows)
			}
			redRows[[2]int{rows, p.RedRow}]++
			reds := 0
			for _, b := range p.Blocks {
				if b.Color == Red {
					reds++
				}
			}
			if reds != 1 || p.Blocks[*p.Red].Color != Red {
				t.Errorf("%d red blocks, red index %d", reds, *p.Red)
			}
			if v, err := Classify(p.Blocks, DefaultMargin); err != nil || v != Stable {
				t.Error("the full pyramid does not stand with the margin")
			}
			if got, err := GroundTruth(p.Scene); err != nil || got != want {
				t.Errorf("GroundTruth(pyramid) = %s, %v; want %s", got, err, want)
			}
			rm := p.Removed()
			if rm.Domain != task.PyramidRemoved || rm.Red != nil || len(rm.Blocks) != len(p.Blocks)-1 {
				t.Errorf("removed twin: %s, red %v, %d blocks", rm.Domain, rm.Red, len(rm.Blocks))
			}
			if got, err := GroundTruth(rm); err != nil || got != want {
				t.Errorf("GroundTruth(removed) = %s, %v; want %s", got, err, want)
			}
		}
	}
	// Every row but the top one carries the red block sometimes.
	for rows := MinPyramidRows; rows <= MaxPyramidRows; rows++ {
		for row := 1; row < rows; row++ {
			if redRows[[2]int{rows, row}] == 0 {
				t.Errorf("pyramids of %d rows never have the red block on row %d", rows, row)
			}
		}
	}
}

// TestPyramidHandWorked covers the two causal cases of issue 2 by hand.
func TestPyramidHandWorked(t *testing.T) {
	red := func(b Block) Block { b.Color = Red; return b }
	idx := func(i int) *int { return &i }
	tests := []struct {
		name string
		s    Scene
		want string
	}{
		{
			// Two cubes side by side with a gap, a third across them shifted onto the
			// red one: its centre is over the red cube, 0.02 m beyond the left cube's edge.
			name: "red block is the only support under the centre of the block above",
			s: Scene{Domain: task.Pyramid, Red: idx(1), Blocks: []Block{
				cube(-0.06, 0), red(cube(0.06, 0)), cube(0.03, 0.1),
			}},
			want: task.Yes,
		},
		{
			name: "block above rests on the red block alone",
			s: Scene{Domain: task.Pyramid, Red: idx(0), Blocks: []Block{
				red(cube(0, 0)), cube(0.2, 0), cube(0, 0.1),
			}},
			want: task.Yes,
		},
		{
			// Three cubes in a row, the middle one red, and a long plank across all
			// three: without the red cube, both neighbours still carry the plank.
			name: "both neighbours still carry the block above",
			s: Scene{Domain: task.Pyramid, Red: idx(1), Blocks: []Block{
				cube(-0.12, 0), red(cube(0, 0)), cube(0.12, 0), box(0, 0, 0.1, 0.32, 0.1, 0.05, 0),
			}},
			want: task.No,
		},
		{
			name: "block above leans mostly on the remaining neighbour",
			s: Scene{Domain: task.Pyramid, Red: idx(1), Blocks: []Block{
				cube(-0.06, 0), red(cube(0.06, 0)), cube(-0.03, 0.1),
			}},
			want: task.No,
		},
		{
			name: "red block on the edge carrying nothing",
			s: Scene{Domain: task.Pyramid, Red: idx(2), Blocks: []Block{
				cube(-0.06, 0), cube(0.06, 0), red(cube(0.2, 0)), cube(0, 0.1),
			}},
			want: task.No,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GroundTruth(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("GroundTruth = %s, want %s", got, tc.want)
			}
			// The full pyramid itself stands in every case.
			if !Stands(tc.s.Blocks) {
				t.Error("the full pyramid does not stand")
			}
		})
	}
}

func TestSceneJSON(t *testing.T) {
	p, err := Pyramid(rand.New(rand.NewPCG(9, 9)), 4, DefaultMargin, task.Yes)
	if err != nil {
		t.Fatal(err)
	}
	p.ID = "pyramid-0001"
	data, err := json.Marshal(p.Scene)
	if err != nil {
		t.Fatal(err)
	}
	var back Scene
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p.Scene) {
		t.Error("scene changed in a JSON round trip")
	}
	// The label is recomputed from the JSON alone.
	if got, err := GroundTruth(back); err != nil || got != task.Yes {
		t.Errorf("GroundTruth after round trip = %s, %v", got, err)
	}
	var keys map[string]any
	json.Unmarshal(data, &keys)
	for _, k := range []string{"id", "domain", "blocks", "red", "answer"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, data)
		}
	}
	tower := Scene{ID: "t", Domain: task.Tower, Blocks: []Block{cube(0, 0)}, Answer: task.No}
	data, _ = json.Marshal(tower)
	if want := `{"id":"t","domain":"tower","blocks":[{"size":[0.1,0.1,0.1],"pos":[0,0,0.05],"yaw_deg":0,"color":"#3a6fd8"}],"red":null,"answer":"No"}`; string(data) != want {
		t.Errorf("tower JSON\n%s\nwant\n%s", data, want)
	}
}

func TestSceneCheck(t *testing.T) {
	ok := Scene{ID: "x", Domain: task.Tower, Blocks: []Block{cube(0, 0)}}
	bad := func(f func(*Scene)) Scene {
		s := ok
		s.Blocks = append([]Block(nil), ok.Blocks...)
		f(&s)
		return s
	}
	nine := 9
	for name, s := range map[string]Scene{
		"no blocks":   bad(func(s *Scene) { s.Blocks = nil }),
		"zero size":   bad(func(s *Scene) { s.Blocks[0].Size[2] = 0 }),
		"bad colour":  bad(func(s *Scene) { s.Blocks[0].Color = "red" }),
		"red too big": bad(func(s *Scene) { s.Red = &nine }),
	} {
		if err := s.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := GroundTruth(s); err == nil {
			t.Errorf("%s: GroundTruth accepted", name)
		}
	}
	if err := ok.Check(); err != nil {
		t.Error(err)
	}
	if _, err := GroundTruth(Scene{ID: "p", Domain: task.Pyramid, Blocks: []Block{cube(0, 0)}}); err == nil {
		t.Error("pyramid without a red block accepted")
	}
}
