package stimulus

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// TestShippedSets loads the four sets in assets/stimuli as the server does,
// recomputes every answer from its scene, and checks the design of each.
func TestShippedSets(t *testing.T) {
	root := filepath.Join("..", "..", "assets", "stimuli")
	tests := []struct {
		name    string
		items   int
		perCell int // items per (domain, size, answer); 0: not balanced by design
		domains []task.Domain
		minSize int
		maxSize int
		paired  bool
	}{
		{"towers-eval", 120, 10, []task.Domain{task.Tower}, 2, 7, false},
		{"pyramids-eval", 80, 10, []task.Domain{task.Pyramid}, 2, 5, false},
		{"pyramids-paired", 80, 5, []task.Domain{task.Pyramid, task.PyramidRemoved}, 2, 5, true},
		{"towers-pool-demo", 400, 0, []task.Domain{task.Tower}, 2, 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Load(filepath.Join(root, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Items) != tc.items || !s.Scenes {
				t.Fatalf("%d items, scenes %v; want %d with scenes", len(s.Items), s.Scenes, tc.items)
			}
			if err := Recheck(context.Background(), s, 0); err != nil {
				t.Fatal(err)
			}
			cells := map[struct {
				d      task.Domain
				size   int
				answer string
			}]int{}
			pairs := map[string]int{}
			for _, it := range s.Items {
				if it.Size() < tc.minSize || it.Size() > tc.maxSize {
					t.Errorf("%s: size %d", it.ID, it.Size())
				}
				cells[struct {
					d      task.Domain
					size   int
					answer string
				}{it.Domain, it.Size(), it.Answer}]++
				if it.PairID != "" {
					pairs[it.PairID]++
				}
			}
			if tc.perCell > 0 {
				for _, d := range tc.domains {
					for size := tc.minSize; size <= tc.maxSize; size++ {
						for _, a := range []string{task.Yes, task.No} {
							if n := cells[struct {
								d      task.Domain
								size   int
								answer string
							}{d, size, a}]; n != tc.perCell {
								t.Errorf("%s size %d %s: %d items, want %d", d, size, a, n, tc.perCell)
							}
						}
					}
				}
			}
			if tc.paired {
				if len(pairs) != tc.items/2 {
					t.Errorf("%d pairs", len(pairs))
				}
				for id, n := range pairs {
					if n != 2 {
						t.Errorf("pair %s has %d items", id, n)
					}
				}
			} else if len(pairs) != 0 {
				t.Errorf("%d pair ids in an unpaired set", len(pairs))
			}
		})
	}
}
