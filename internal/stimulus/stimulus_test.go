package stimulus

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

const head = "id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\n"

func TestReadManifestOK(t *testing.T) {
	in := head +
		"t1,tower,3,0,0,Yes,train,,images/t1.png\n" +
		"p1,pyramid,6,3,2,No,,pair-1,images/p1.png\n" +
		"p1r,pyramid-removed,5,3,2,No,,pair-1,images/p1r.png\n"
	items, err := ReadManifest(strings.NewReader(in), "manifest.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{ID: "t1", Domain: task.Tower, NBlocks: 3, Answer: task.Yes, Split: "train", File: "images/t1.png"},
		{ID: "p1", Domain: task.Pyramid, NBlocks: 6, NRows: 3, RedRow: 2, Answer: task.No, PairID: "pair-1", File: "images/p1.png"},
		{ID: "p1r", Domain: task.PyramidRemoved, NBlocks: 5, NRows: 3, RedRow: 2, Answer: task.No, PairID: "pair-1", File: "images/p1r.png"},
	}
	if !reflect.DeepEqual(items, want) {
		t.Fatalf("got %+v\nwant %+v", items, want)
	}
	if items[0].Size() != 3 || items[1].Size() != 3 || items[2].Size() != 3 {
		t.Errorf("sizes %d %d %d", items[0].Size(), items[1].Size(), items[2].Size())
	}
	var buf bytes.Buffer
	if err := WriteManifest(&buf, items); err != nil {
		t.Fatal(err)
	}
	if buf.String() != in {
		t.Errorf("round trip:\n%s\nwant\n%s", buf.String(), in)
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		it   Item
		want int
	}{
		{Item{Domain: task.Tower, NBlocks: 7}, 7},
		{Item{Domain: task.Pyramid, NBlocks: 10, NRows: 4}, 4},
		{Item{Domain: task.PyramidRemoved, NBlocks: 9, NRows: 4}, 4},
	}
	for _, tc := range tests {
		if got := tc.it.Size(); got != tc.want {
			t.Errorf("%+v.Size() = %d, want %d", tc.it, got, tc.want)
		}
	}
}

func TestReadManifestErrors(t *testing.T) {
	ok := "t1,tower,3,0,0,Yes,,,images/t1.png\n"
	tests := []struct {
		name string
		in   string
		want []string // every one must appear in the error
	}{
		{"empty", "", []string{"manifest.csv: empty file"}},
		{"header only", head, []string{"manifest.csv: no items"}},
		{"bad header", "id,domain,answer\n" + ok, []string{"manifest.csv:1: header is"}},
		{"bad answer", head + ok + "t2,tower,3,0,0,yes,,,images/t2.png\n", []string{`manifest.csv:3: answer: "yes" is not Yes or No`}},
		{"unknown domain", head + "t1,towers,3,0,0,Yes,,,a.png\n", []string{`manifest.csv:2: domain: "towers" is not tower, pyramid or pyramid-removed`}},
		{"duplicate id", head + ok + ok, []string{`manifest.csv:3: id: "t1" already used on line 2`}},
		{"bad integer", head + "t1,tower,three,0,0,Yes,,,a.png\n", []string{`manifest.csv:2: n_blocks: "three" is not an integer`}},
		{"negative", head + "t1,tower,3,-1,0,Yes,,,a.png\n", []string{`manifest.csv:2: n_rows: -1 is below 0`}},
		{"tower with rows", head + "t1,tower,3,2,0,Yes,,,a.png\n", []string{`manifest.csv:2: n_rows: 2 for a tower, want 0`}},
		{"pyramid without rows", head + "p1,pyramid,3,0,0,Yes,,,a.png\n", []string{`manifest.csv:2: n_rows: 0 for a pyramid`}},
		{"red row too high", head + "p1,pyramid,3,2,3,Yes,,,a.png\n", []string{`manifest.csv:2: red_row: 3 is above the top row 2`}},
		{"dotdot", head + "t1,tower,3,0,0,Yes,,,../x.png\n", []string{`manifest.csv:2: file: "../x.png" leaves the set folder`}},
		{"hidden dotdot", head + "t1,tower,3,0,0,Yes,,,images/../../x.png\n", []string{`manifest.csv:2: file: "images/../../x.png" leaves the set folder`}},
		{"absolute", head + "t1,tower,3,0,0,Yes,,,/etc/passwd\n", []string{`manifest.csv:2: file: "/etc/passwd" is absolute`}},
		{"backslash", head + `t1,tower,3,0,0,Yes,,,images\t1.png` + "\n", []string{`manifest.csv:2: file: "images\\t1.png" uses a backslash`}},
		{"empty file", head + "t1,tower,3,0,0,Yes,,,\n", []string{`manifest.csv:2: file: empty`}},
		{"field count", head + "t1,tower,3,0,0,Yes\n", []string{`manifest.csv:2: 6 fields, want 9`}},
		{"broken quote", head + ok + "t2,\"tower,3\n", []string{`manifest.csv:3:`}},
		{"several at once", head + "t1,tower,x,0,0,maybe,,,a.png\nt2,cube,3,0,0,Yes,,,b.png\n", []string{
			`manifest.csv:2: n_blocks: "x" is not an integer`,
			`manifest.csv:2: answer: "maybe" is not Yes or No`,
			`manifest.csv:3: domain: "cube"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadManifest(strings.NewReader(tc.in), "manifest.csv")
			if err == nil {
				t.Fatal("accepted")
			}
			var ve *problem.Lines
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *problem.Lines", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestReadManifestCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(head)
	for range 100 {
		b.WriteString("t,tower,3,0,0,bad,,,a.png\n")
	}
	_, err := ReadManifest(strings.NewReader(b.String()), "manifest.csv")
	var ve *problem.Lines
	if !errors.As(err, &ve) {
		t.Fatalf("got %v", err)
	}
	if len(ve.List) != maxProblems || !ve.More {
		t.Errorf("%d problems, more=%v; want %d and more", len(ve.List), ve.More, maxProblems)
	}
}

// writeSet lays out a set folder: the manifest, scenes (when not empty) and the named image files.
func writeSet(t *testing.T, manifest, scenes string, images ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "myset")
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if scenes != "" {
		if err := os.WriteFile(filepath.Join(dir, ScenesFile), []byte(scenes), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, im := range images {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(im)), tinyPNG(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoad(t *testing.T) {
	manifest := head +
		"t1,tower,2,0,0,Yes,,,images/t1.png\n" +
		"t2,tower,2,0,0,No,,,images/t2.png\n"
	scenes := `{"id":"t1","domain":"tower","blocks":[],"red":null,"answer":"Yes"}` + "\n" +
		`{"id":"t2","domain":"tower","blocks":[],"red":null,"answer":"No"}` + "\n"

	t.Run("OK", func(t *testing.T) {
		dir := writeSet(t, manifest, scenes, "images/t1.png", "images/t2.png")
		s, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "myset" || !s.Scenes || len(s.Items) != 2 || !filepath.IsAbs(s.Dir) {
			t.Errorf("got %+v", s)
		}
		if got, want := s.Path(s.Items[1]), filepath.Join(dir, "images", "t2.png"); got != want {
			t.Errorf("Path = %s, want %s", got, want)
		}
	})
	t.Run("OK without scenes", func(t *testing.T) {
		s, err := Load(writeSet(t, manifest, "", "images/t1.png", "images/t2.png"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Scenes {
			t.Error("Scenes set without scenes.jsonl")
		}
	})

	tests := []struct {
		name     string
		manifest string
		scenes   string
		images   []string
		want     []string
	}{
		{"missing image", manifest, scenes, []string{"images/t1.png"},
			[]string{`manifest.csv:3: file: "images/t2.png" does not exist`}},
		{"image is a folder", head + "t1,tower,2,0,0,Yes,,,images\n", "", nil,
			[]string{`manifest.csv:2: file: "images" is not a regular file`}},
		{"scene not in manifest", manifest, scenes + `{"id":"t3","domain":"tower","answer":"No"}` + "\n",
			[]string{"images/t1.png", "images/t2.png"},
			[]string{`scenes.jsonl:3: id: "t3" is not in manifest.csv`}},
		{"scene answer disagrees", manifest,
			`{"id":"t1","domain":"tower","answer":"No"}` + "\n" + `{"id":"t2","domain":"tower","answer":"No"}` + "\n",
			[]string{"images/t1.png", "images/t2.png"},
			[]string{`scenes.jsonl:1: answer: "No" disagrees with manifest.csv ("Yes")`}},
		{"scene domain disagrees", manifest,
			`{"id":"t1","domain":"pyramid","answer":"Yes"}` + "\n" + `{"id":"t2","domain":"tower","answer":"No"}` + "\n",
			[]string{"images/t1.png", "images/t2.png"},
			[]string{`scenes.jsonl:1: domain: "pyramid" disagrees`}},
		{"scene missing", manifest, `{"id":"t1","domain":"tower","answer":"Yes"}` + "\n",
			[]string{"images/t1.png", "images/t2.png"},
			[]string{`scenes.jsonl: id: no scene for item "t2"`}},
		{"scene twice", manifest, scenes + `{"id":"t1","domain":"tower","answer":"Yes"}` + "\n",
			[]string{"images/t1.png", "images/t2.png"},
			[]string{`scenes.jsonl:3: id: "t1" already described on line 1`}},
		{"scene not json", manifest, scenes + "{oops\n",
			[]string{"images/t1.png", "images/t2.png"},
			[]string{`scenes.jsonl:3: not a JSON object`}},
		{"several files at once", manifest, `{"id":"t1","domain":"tower","answer":"No"}` + "\n", nil, []string{
			`manifest.csv:2: file: "images/t1.png" does not exist`,
			`manifest.csv:3: file: "images/t2.png" does not exist`,
			`scenes.jsonl:1: answer:`,
			`no scene for item "t2"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeSet(t, tc.manifest, tc.scenes, tc.images...))
			if err == nil {
				t.Fatal("accepted")
			}
			var ve *problem.Lines
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *problem.Lines: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
	t.Run("no manifest", func(t *testing.T) {
		if _, err := Load(t.TempDir()); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v, want a not-exist error", err)
		}
	})
}
