package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

func stimuliEnv() (env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, &out, &errb
}

func TestStimuliGenerateAndValidate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pairs")
	e, out, errb := stimuliEnv()
	err := run(context.Background(), []string{"stimuli", "generate", "--domain", "pyramid", "--sizes", "2-3",
		"--per-size-and-answer", "1", "--paired", "--seed", "7", "--size", "96", "--out", dir}, e)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, errb)
	}
	if !strings.Contains(out.String(), "wrote "+dir) {
		t.Errorf("stdout %q", out)
	}
	if errb.Len() != 0 {
		t.Errorf("a progress bar was drawn on a buffer, not a terminal: %q", errb)
	}
	e, out, _ = stimuliEnv()
	if err := run(context.Background(), []string{"stimuli", "validate", dir}, e); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, want := range []string{"pairs: 8 items, valid; every answer recomputed", "pyramid          size  2:    1 Yes    1 No", "pyramid-removed  size  3:    1 Yes    1 No"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	// A broken set names file, line and field.
	m := filepath.Join(dir, "manifest.csv")
	b, _ := os.ReadFile(m)
	lines := strings.Split(string(b), "\n")
	lines[2] = strings.Replace(strings.Replace(lines[2], ",Yes,", ",yes,", 1), ",No,", ",no,", 1)
	os.WriteFile(m, []byte(strings.Join(lines, "\n")), 0o644)
	e, _, _ = stimuliEnv()
	err = run(context.Background(), []string{"stimuli", "validate", dir}, e)
	if err == nil || !strings.Contains(err.Error(), "manifest.csv:3: answer:") {
		t.Errorf("got %v, want the bad answer on line 3", err)
	}
}

func TestStimuliUsage(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	for _, args := range [][]string{
		{"stimuli"},
		{"stimuli", "paint"},
		{"stimuli", "generate", "--domain", "cube", "--sizes", "2", "--n", "1", "--out", out},
		{"stimuli", "generate", "--domain", "tower", "--n", "1", "--out", out},
		{"stimuli", "generate", "--domain", "tower", "--sizes", "x", "--n", "1", "--out", out},
		{"stimuli", "generate", "--domain", "tower", "--sizes", "2", "--n", "1"},
		{"stimuli", "generate", "--domain", "tower", "--sizes", "2", "--n", "1", "--out", out, "--compression", "max"},
		{"stimuli", "generate", "--bogus"},
		{"stimuli", "validate"},
		{"stimuli", "validate", "a", "b"},
		{"stimuli", "import"},
		{"stimuli", "import", "--database-url", "postgres://x"},
		{"stimuli", "import", "a", "--bogus"},
	} {
		e, _, _ := stimuliEnv()
		if err := run(context.Background(), args, e); !errors.Is(err, errUsage) {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
	// Well-formed but impossible requests are errors, not usage errors.
	e, _, _ := stimuliEnv()
	err := run(context.Background(), []string{"stimuli", "generate", "--domain", "tower", "--sizes", "9", "--n", "1", "--out", filepath.Join(out, "x")}, e)
	if err == nil || errors.Is(err, errUsage) || !strings.Contains(err.Error(), "size 9") {
		t.Errorf("tower of 9: got %v", err)
	}
}

func TestStimuliImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	root := t.TempDir()
	towers, pyramids := filepath.Join(root, "cmd-towers"), filepath.Join(root, "cmd-pyramids")
	for _, args := range [][]string{
		{"--domain", "tower", "--sizes", "2-3", "--n", "6", "--seed", "3", "--size", "64", "--out", towers},
		{"--domain", "pyramid", "--sizes", "2", "--per-size-and-answer", "1", "--paired", "--seed", "3", "--size", "64", "--out", pyramids},
	} {
		e, _, errb := stimuliEnv()
		if err := run(ctx, append([]string{"stimuli", "generate"}, args...), e); err != nil {
			t.Fatalf("generate: %v\n%s", err, errb)
		}
	}
	stored := func() (sets, items int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM stimulus_sets), (SELECT count(*) FROM stimuli)`).Scan(&sets, &items); err != nil {
			t.Fatal(err)
		}
		return sets, items
	}
	importDirs := func(args ...string) (string, error) {
		t.Helper()
		e, out, _ := stimuliEnv()
		err := run(ctx, append([]string{"stimuli", "import"}, args...), e)
		return out.String(), err
	}

	// A broken manifest in the second folder: nothing of either is stored.
	m := filepath.Join(pyramids, "manifest.csv")
	good, _ := os.ReadFile(m)
	os.WriteFile(m, []byte(strings.Replace(string(good), ",pyramid,", ",pyramidd,", 1)), 0o644)
	_, err := importDirs(towers, "--database-url", dsn, pyramids)
	if err == nil || !strings.Contains(err.Error(), "manifest.csv:2: domain:") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("got %v, want the bad domain on manifest.csv line 2", err)
	}
	if sets, _ := stored(); sets != 0 {
		t.Fatalf("%d sets stored after a refused import", sets)
	}
	os.WriteFile(m, good, 0o644)

	out, err := importDirs(towers, pyramids, "--database-url", dsn)
	if err != nil || !strings.Contains(out, "cmd-towers: 6 items imported") || !strings.Contains(out, "cmd-pyramids: 4 items imported") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if sets, items := stored(); sets != 2 || items != 10 {
		t.Fatalf("%d sets, %d items, want 2 and 10", sets, items)
	}
	out, err = importDirs("--database-url", dsn, towers)
	if err != nil || !strings.Contains(out, "cmd-towers: already imported with the same content, unchanged") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	// A different content under the same name is refused, or replaced on request.
	img := filepath.Join(towers, "images")
	files, _ := os.ReadDir(img)
	os.WriteFile(filepath.Join(img, files[0].Name()), pgtest.PNG(1), 0o644)
	if _, err := importDirs(towers, "--database-url", dsn); err == nil || !strings.Contains(err.Error(), "a different stimulus set named \"cmd-towers\"") {
		t.Fatalf("changed set: %v, want a refusal", err)
	}
	out, err = importDirs(towers, "--replace", "--database-url", dsn)
	if err != nil || !strings.Contains(out, "cmd-towers: 6 items imported, replacing the set stored before") {
		t.Fatalf("replace: %v\n%s", err, out)
	}
	if sets, items := stored(); sets != 2 || items != 10 {
		t.Fatalf("after replace: %d sets, %d items, want 2 and 10", sets, items)
	}
}
