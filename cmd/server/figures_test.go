package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/task"
)

// TestFiguresCommand: "server figures" writes every figure of the report as
// SVG, PDF and CSV, byte for byte the downloads of the report page at the
// same width and title.
func TestFiguresCommand(t *testing.T) {
	t.Parallel()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "figs", 6)
	yes, no := task.Yes, task.No
	answerStudy(t, store, st, 1, map[string]string{"t01": yes, "t02": no, "t03": yes, "t04": no, "t05": yes, "t06": no})
	answerStudy(t, store, st, 2, map[string]string{"t01": yes, "t02": yes, "t03": no, "t04": no, "t05": yes, "t06": yes})
	answerStudy(t, store, st, 3, map[string]string{"t01": no, "t02": no, "t03": yes, "t04": yes, "t05": yes, "t06": no})
	file := writeFile(t, "m.csv", "stimulus_id,p_yes\nt01,0.9\nt02,0.8\nt03,0.2\nt04,0.1\nt05,0.7\nt06,0.4\n")
	if out, err := runCmd(t, "models", "import", file, "--database-url", dsn, "--set", "figs-set", "--model", "m"); err != nil {
		t.Fatalf("import: %q, %v", out, err)
	}

	dir := filepath.Join(t.TempDir(), "out")
	out, err := runCmd(t, "figures", "--database-url", dsn, "--study", "figs", "--out", dir, "--width", "single")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range []string{"accuracy", "heatmap", "kappa", "truth"} {
		for _, ext := range []string{"svg", "pdf", "csv"} {
			names = append(names, "figs-tower-"+f+"."+ext)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(got)
	want := append([]string(nil), names...)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", got, want)
	}
	if n := strings.Count(out, "\n"); n != len(names) {
		t.Errorf("printed %d paths, want %d:\n%s", n, len(names), out)
	}
	for _, name := range names {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fig, ext, _ := strings.Cut(strings.TrimPrefix(name, "figs-tower-"), ".")
		query := ""
		if ext != "csv" {
			query = "?width=single&title=no"
		}
		if page := reportGet(t, store, st, "/tower/"+fig+"."+ext+query); page != string(body) {
			t.Errorf("%s differs from the report page's download (%d bytes, the page's %d)", name, len(body), len(page))
		}
		switch ext {
		case "pdf":
			if !strings.HasPrefix(string(body), "%PDF-") {
				t.Errorf("%s is no PDF", name)
			}
		case "svg":
			// the drawn title is the one bold text
			if !strings.Contains(string(body), "<svg") || strings.Contains(string(body), `font-weight="bold"`) {
				t.Errorf("%s: an SVG without its title expected", name)
			}
		}
	}

	// --title keeps the titles; the width and the selection are checked.
	titled := t.TempDir()
	if _, err := runCmd(t, "figures", "--database-url", dsn, "--study", "figs", "--out", titled, "--width", "double", "--title"); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(titled, "figs-tower-kappa.svg"))
	if err != nil || reportGet(t, store, st, "/tower/kappa.svg?width=double") != string(body) || !strings.Contains(string(body), `font-weight="bold"`) {
		t.Errorf("titled double-column SVG differs from the page's download, or has no title: %v", err)
	}
	for _, args := range [][]string{
		{"--study", "figs", "--out", dir, "--width", "triple"},
		{"--out", dir},
		{"--study", "figs"},
		{"--study", "figs", "--set", "figs-set", "--out", dir},
	} {
		if _, err := runCmd(t, append([]string{"figures", "--database-url", dsn}, args...)...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("figures %v: %v, want a usage error", args, err)
		}
	}
}
