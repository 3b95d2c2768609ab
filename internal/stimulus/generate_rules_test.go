package stimulus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/cubeworld"
	"github.com/cubelab/cubelab/internal/task"
)

// redRowShortcut is how often the best rule "answer from the red row alone"
// (the majority answer of each (rows, red row) cell) is right.
func redRowShortcut(items []Item) float64 {
	type cell struct{ rows, red int }
	yes, all := map[cell]int{}, map[cell]int{}
	n := 0
	for _, it := range items {
		if it.Domain != task.Pyramid {
			continue
		}
		c := cell{it.NRows, it.RedRow}
		all[c]++
		n++
		if it.Answer == task.Yes {
			yes[c]++
		}
	}
	right := 0
	for c, k := range all {
		right += max(yes[c], k-yes[c])
	}
	return float64(right) / float64(n)
}

// TestGeneratePyramidRedRowNoCue: in an 80-pyramid evaluation set and an
// 80-pyramid pool, every (rows, red row) cell is balanced, so the red row alone
// predicts the answer no better than chance.
func TestGeneratePyramidRedRowNoCue(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*GenerateOptions)
		best float64
	}{
		{"per size and answer", func(o *GenerateOptions) { o.PerSizeAndAnswer = 10 }, 0.50},
		{"pool", func(o *GenerateOptions) { o.PerSizeAndAnswer, o.N = 0, 80 }, 0.52},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smallOptions()
			o.Domain, o.Sizes, o.ImageSize = task.Pyramid, []int{2, 3, 4, 5}, 64
			tc.edit(&o)
			dir := filepath.Join(t.TempDir(), "set")
			if _, err := Generate(context.Background(), dir, o, nil); err != nil {
				t.Fatal(err)
			}
			s, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Items) != 80 {
				t.Fatalf("%d items", len(s.Items))
			}
			if got := redRowShortcut(s.Items); got > tc.best {
				t.Errorf("the red row alone predicts %.3f of answers, want <= %.2f", got, tc.best)
			}
			rows := map[[2]int]bool{}
			for _, it := range s.Items {
				rows[[2]int{it.NRows, it.RedRow}] = true
			}
			if len(rows) != 1+2+3+4 {
				t.Errorf("%d (rows, red row) cells used, want all 10", len(rows))
			}
		})
	}
}

// noLeftovers fails if anything but want is in parent.
func noLeftovers(t *testing.T, parent string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("folder holds %v, want %v", names, want)
	}
}

// TestGenerateInjectedSolverFailure: a solver that cannot decide, or one that
// contradicts the closed form, stops generation with the seed, index, id,
// both verdicts and a command to reproduce; no folder is left at --out.
func TestGenerateInjectedSolverFailure(t *testing.T) {
	broken := errors.New("injected failure")
	for _, tc := range []struct {
		name    string
		statics cubeworld.StaticsFunc
		target  error
		want    []string
	}{
		{"undecided", func([]cubeworld.Block, float64) (bool, error) {
			return false, fmt.Errorf("%w: %w", cubeworld.ErrUndecided, broken)
		}, cubeworld.ErrTooManyUndecided, []string{"linear program: undecided", "injected failure"}},
		{"disagrees", func([]cubeworld.Block, float64) (bool, error) { return true, nil },
			nil, []string{"closed form says unstable (depth -", "the linear program says it stands"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := smallOptions()
			o.Statics = tc.statics
			o.Workers = 1
			parent := t.TempDir()
			_, err := Generate(context.Background(), filepath.Join(parent, "set"), o, nil)
			var ie *ItemError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an *ItemError", err)
			}
			if ie.Seed != 42 || ie.ID == "" {
				t.Errorf("seed %d, id %q", ie.Seed, ie.ID)
			}
			msg := err.Error()
			want := append(tc.want, fmt.Sprintf("seed 42, index %d (%s)", ie.Index, ie.ID),
				fmt.Sprintf("reproduce: server stimuli explain --domain tower --sizes 2,3 --per-size-and-answer 3 --seed 42 --index %d", ie.Index))
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("error does not wrap %v", tc.target)
			}
			var de *cubeworld.DisagreeError
			if tc.name == "disagrees" && (!errors.As(err, &de) || de.ClosedForm != cubeworld.Unstable || !de.LPStands) {
				t.Errorf("no disagreement in %v", err)
			}
			noLeftovers(t, parent)
			// The same item alone fails the same way.
			_, _, err2 := o.Sample(ie.Index)
			if err2 == nil || err2.Error() != msg {
				t.Errorf("Sample(%d) = %v, want the same error", ie.Index, err2)
			}
		})
	}
}

// TestGenerateWholeOrNothing: a set appears at --out only complete, through a
// temporary folder beside it that is gone afterwards; a cancelled run leaves
// nothing; an existing empty folder is filled.
func TestGenerateWholeOrNothing(t *testing.T) {
	parent := t.TempDir()
	sum, err := Generate(context.Background(), filepath.Join(parent, "set"), smallOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Items != 12 || sum.Drawn < 12 {
		t.Errorf("summary %+v", sum)
	}
	noLeftovers(t, parent, "set")

	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if _, err := Generate(context.Background(), empty, smallOptions(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty); err != nil {
		t.Error(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	o := smallOptions()
	o.PerSizeAndAnswer, o.N = 0, 10000
	_, err = Generate(ctx, filepath.Join(parent, "big"), o, func(done, total int) {
		if done == 20 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	noLeftovers(t, parent, "empty", "set")
}
