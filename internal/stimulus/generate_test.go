package stimulus

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/cubeworld"
	"github.com/cubelab/cubelab/internal/task"
)

func smallOptions() GenerateOptions {
	return GenerateOptions{
		Domain: task.Tower, Sizes: []int{2, 3}, PerSizeAndAnswer: 3, Seed: 42,
		Margin: cubeworld.DefaultMargin, ImageSize: 96, Compression: png.BestSpeed,
	}
}

// readTree maps every file under dir to its bytes.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGenerateByteIdentical(t *testing.T) {
	gen := func(workers int, seed uint64) map[string][]byte {
		o := smallOptions()
		o.Workers, o.Seed = workers, seed
		dir := filepath.Join(t.TempDir(), "set")
		if _, err := Generate(context.Background(), dir, o, nil); err != nil {
			t.Fatal(err)
		}
		return readTree(t, dir)
	}
	one, three, again := gen(1, 42), gen(3, 42), gen(2, 42)
	if len(one) != 2+12 {
		t.Fatalf("%d files, want manifest, scenes and 12 images", len(one))
	}
	for name, b := range one {
		if !bytes.Equal(b, three[name]) || !bytes.Equal(b, again[name]) {
			t.Errorf("%s differs between worker counts", name)
		}
	}
	other := gen(2, 43)
	if bytes.Equal(one[ManifestFile], other[ManifestFile]) && bytes.Equal(one[ScenesFile], other[ScenesFile]) {
		t.Error("another seed gave the same set")
	}
}

func TestGenerateBalancedAndValid(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "towers")
	var calls, last int
	if _, err := Generate(context.Background(), dir, smallOptions(), func(done, total int) { calls++; last = done }); err != nil {
		t.Fatal(err)
	}
	if calls != 12 || last != 12 {
		t.Errorf("progress called %d times, last %d", calls, last)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Scenes || len(s.Items) != 12 {
		t.Fatalf("scenes %v, %d items", s.Scenes, len(s.Items))
	}
	count := map[string]int{}
	for _, it := range s.Items {
		count[it.Answer+string(rune('0'+it.Size()))]++
		if it.File != "images/"+it.ID+".png" || it.NRows != 0 || it.RedRow != 0 {
			t.Errorf("item %+v", it)
		}
	}
	for _, k := range []string{"Yes2", "No2", "Yes3", "No3"} {
		if count[k] != 3 {
			t.Errorf("%s: %d items, want 3 (%v)", k, count[k], count)
		}
	}
	if err := Recheck(context.Background(), s, 2); err != nil {
		t.Errorf("Recheck of a fresh set: %v", err)
	}
	img, err := os.Open(s.Path(s.Items[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	cfg, err := png.DecodeConfig(img)
	if err != nil || cfg.Width != 96 || cfg.Height != 96 {
		t.Errorf("image %v, %v", cfg, err)
	}
}

func TestGeneratePairedPyramids(t *testing.T) {
	o := smallOptions()
	o.Domain, o.Sizes, o.PerSizeAndAnswer, o.Paired = task.Pyramid, []int{2, 3}, 1, true
	dir := filepath.Join(t.TempDir(), "pairs")
	if _, err := Generate(context.Background(), dir, o, nil); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 8 {
		t.Fatalf("%d items, want 4 pairs", len(s.Items))
	}
	byPair := map[string][]Item{}
	for _, it := range s.Items {
		byPair[it.PairID] = append(byPair[it.PairID], it)
	}
	for id, p := range byPair {
		if id == "" || len(p) != 2 {
			t.Fatalf("pair %q has %d items", id, len(p))
		}
		full, rm := p[0], p[1]
		if full.Domain != task.Pyramid || rm.Domain != task.PyramidRemoved {
			t.Errorf("pair %s: domains %s, %s", id, full.Domain, rm.Domain)
		}
		if rm.NBlocks != full.NBlocks-1 || rm.NRows != full.NRows || rm.RedRow != full.RedRow || rm.Answer != full.Answer {
			t.Errorf("pair %s: %+v vs %+v", id, full, rm)
		}
		if full.RedRow < 1 || full.RedRow >= full.NRows || full.NBlocks != full.NRows*(full.NRows+1)/2 {
			t.Errorf("pyramid %+v", full)
		}
	}
	if err := Recheck(context.Background(), s, 0); err != nil {
		t.Error(err)
	}
}

func TestGeneratePool(t *testing.T) {
	o := smallOptions()
	o.PerSizeAndAnswer, o.N, o.Domain, o.Sizes = 0, 8, task.Pyramid, []int{2, 3}
	dir := filepath.Join(t.TempDir(), "pool")
	if _, err := Generate(context.Background(), dir, o, nil); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Sizes in turn; pyramids alternate Yes and No within a size.
	want := []struct {
		size   int
		answer string
	}{{2, "Yes"}, {3, "Yes"}, {2, "No"}, {3, "No"}, {2, "Yes"}, {3, "Yes"}, {2, "No"}, {3, "No"}}
	for i, it := range s.Items {
		if it.Size() != want[i].size || it.Answer != want[i].answer {
			t.Errorf("item %d: size %d %s, want %d %s", i, it.Size(), it.Answer, want[i].size, want[i].answer)
		}
	}
	if s.Items[0].ID != "pyramid-0001" {
		t.Errorf("first id %s", s.Items[0].ID)
	}
}

func TestGenerateRefuses(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	tests := []struct {
		name string
		edit func(*GenerateOptions)
		dir  string
		want string
	}{
		{"non-empty folder", func(*GenerateOptions) {}, full, "not empty"},
		{"both counts", func(o *GenerateOptions) { o.N = 5 }, "", "exactly one"},
		{"no count", func(o *GenerateOptions) { o.PerSizeAndAnswer = 0 }, "", "exactly one"},
		{"tower too tall", func(o *GenerateOptions) { o.Sizes = []int{8} }, "", "size 8"},
		{"pyramid too big", func(o *GenerateOptions) { o.Domain, o.Sizes = task.Pyramid, []int{6} }, "", "size 6"},
		{"paired towers", func(o *GenerateOptions) { o.Paired = true }, "", "pairs"},
		{"removed domain", func(o *GenerateOptions) { o.Domain = task.PyramidRemoved }, "", "domain"},
		{"no sizes", func(o *GenerateOptions) { o.Sizes = nil }, "", "no sizes"},
		{"image too small", func(o *GenerateOptions) { o.ImageSize = 10 }, "", "image size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := smallOptions()
			tc.edit(&o)
			dir := tc.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "set")
			}
			_, err := Generate(context.Background(), dir, o, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Generate(ctx, filepath.Join(t.TempDir(), "set"), smallOptions(), nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

func TestRecheckFindsWrongAnswer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	if _, err := Generate(context.Background(), dir, smallOptions(), nil); err != nil {
		t.Fatal(err)
	}
	// Flip the first item's answer in both files, so that they still agree
	// with each other and only the physics can tell.
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := s.Items[0]
	flip := map[string]string{task.Yes: task.No, task.No: task.Yes}[first.Answer]
	s.Items[0].Answer = flip
	var m bytes.Buffer
	if err := WriteManifest(&m, s.Items); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, ManifestFile), m.Bytes(), 0o644)
	scenes, _ := os.ReadFile(filepath.Join(dir, ScenesFile))
	lines := strings.SplitN(string(scenes), "\n", 2)
	lines[0] = strings.Replace(lines[0], `"answer":"`+first.Answer+`"`, `"answer":"`+flip+`"`, 1)
	os.WriteFile(filepath.Join(dir, ScenesFile), []byte(strings.Join(lines, "\n")), 0o644)

	s, err = Load(dir)
	if err != nil {
		t.Fatalf("Load should pass, the files agree: %v", err)
	}
	err = Recheck(context.Background(), s, 2)
	want := "scenes.jsonl:1: answer: recomputed " + first.Answer + " from the blocks, the set says " + flip
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}
