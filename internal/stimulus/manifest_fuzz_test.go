package stimulus

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

// FuzzReadManifest feeds any bytes to the manifest parser: it returns items
// or a problem.Lines naming the file, never panics, and whatever it accepts
// is well formed and survives a write and a second read unchanged.
func FuzzReadManifest(f *testing.F) {
	for _, s := range []string{
		head + "t1,tower,3,0,0,Yes,train,,images/t1.png\n",
		head + "p1,pyramid,6,3,2,No,,pair-1,images/p1.png\np1r,pyramid-removed,5,3,2,No,,pair-1,images/p1r.png\n",
		head + "t1,tower,3,0,0,Yes,train,,images/t1.png\nt1,tower,3,0,0,Yes,train,,images/t1.png\n",
		head + "t1,tower,-3,0,0,maybe,,,../../etc/passwd\n",
		head + "t1,tower,3,0,0,Yes,,,/abs.png\n",
		head + "\"t1,tower,3\n",
		head + "t1,<script>,3,0,0,Yes,,,a.png\n",
		"id,domain\n", "", "\xef\xbb\xbf" + head + "t1,tower,3,0,0,No,,,a.png\n",
		head + "t1,tower,99999999999999999999,0,0,Yes,,,a.png\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		items, err := ReadManifest(strings.NewReader(in), "manifest.csv")
		if err != nil {
			var ve *problem.Lines
			if !errors.As(err, &ve) || len(ve.List) == 0 {
				t.Fatalf("error %v is not a problem.Lines with problems", err)
			}
			for _, p := range ve.List {
				if p.File != "manifest.csv" {
					t.Fatalf("problem %v does not name the file", p)
				}
			}
			return
		}
		for _, it := range items {
			if it.ID == "" || !task.ValidAnswer(it.Answer) || it.NBlocks < 1 || it.File == "" || it.Size() < 1 {
				t.Fatalf("accepted item %+v", it)
			}
			if _, err := task.ParseDomain(string(it.Domain)); err != nil {
				t.Fatalf("accepted domain %q", it.Domain)
			}
		}
		var buf bytes.Buffer
		if err := WriteManifest(&buf, items); err != nil {
			t.Fatal(err)
		}
		again, err := ReadManifest(&buf, "manifest.csv")
		if err != nil || !reflect.DeepEqual(items, again) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, items, again)
		}
	})
}

// FuzzCheckScenes feeds any scenes.jsonl to the check against a fixed
// manifest: it lists problems or none, never panics, and never accepts a
// file that does not describe every item exactly once.
func FuzzCheckScenes(f *testing.F) {
	items := []Item{
		{ID: "t1", Domain: task.Tower, NBlocks: 2, Answer: task.Yes, File: "images/t1.png"},
		{ID: "p1", Domain: task.Pyramid, NBlocks: 3, NRows: 2, RedRow: 1, Answer: task.No, File: "images/p1.png"},
	}
	good := `{"id":"t1","domain":"tower","blocks":[],"red":null,"answer":"Yes"}` + "\n" +
		`{"id":"p1","domain":"pyramid","blocks":[],"red":0,"answer":"No"}` + "\n"
	for _, s := range []string{good, good + good, `{"id":"t1"}`, "[1,2]\n", `{"id":"t1","domain":"tower","answer":"Yes"}` + "\n\n" + `{"id":"p1","domain":"tower","answer":"No"}`,
		"\x00\xff", strings.Repeat("{", 1000), `{"id":"t1","domain":"tower","answer":"Yes","id":"p1"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var ps problems
		checkScenes(strings.NewReader(in), items, &ps)
		if ps.result() != nil {
			return
		}
		// Accepted: each item has exactly one non-empty line naming it.
		n := 0
		for _, line := range strings.Split(in, "\n") {
			if strings.TrimSpace(line) != "" {
				n++
			}
		}
		if n != len(items) {
			t.Fatalf("accepted %d scene lines for %d items:\n%q", n, len(items), in)
		}
	})
}
