package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/task"
)

func quietEnv() env {
	return env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
}

// TestExportCommand answers a study of 6 towers as 3 participants, then runs
// the command as a user would and opens the ZIP it leaves.
func TestExportCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "cli", 6)
	for k := range 3 {
		tok := sha256.Sum256([]byte(fmt.Sprint("tok", k)))
		p, err := store.Join(ctx, st, prolific.Params{PID: fmt.Sprintf("%024x", 0xc0ffee+k)}, int64(k), tok[:])
		if err != nil {
			t.Fatal(err)
		}
		for pos := 1; pos <= p.NTrials; pos++ {
			if _, err := store.ShowTrial(ctx, p, pos); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Answer(ctx, p.ID, pos, []string{task.Yes, task.No}[(pos+k)%2], nil); err != nil {
				t.Fatal(err)
			}
		}
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "towers.zip")
	var stdout strings.Builder
	e := quietEnv()
	e.stdout = &stdout
	err := run(ctx, []string{"export", "--database-url", dsn, "--study", "cli", "--source", "every",
		"--format", "messages", "--val", "0.5", "--seed", "7", "--sizes", "2-3", "--out", out}, e)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatalf("open %s: %v", out, err)
	}
	defer zr.Close()
	var names []string
	lines := 0
	for _, f := range zr.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, ".jsonl") {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			lines += strings.Count(string(b), "\n")
		}
	}
	// Sizes 2 and 3 are items t01, t02, t04, t05 (size 2 + i%3): 4 images, 12 answers.
	images := 0
	for _, n := range names {
		if strings.HasPrefix(n, "images/") {
			images++
		}
	}
	if images != 4 || lines != 12 || !slices.Contains(names, "README.md") {
		t.Errorf("zip holds %d images and %d examples (want 4 and 12): %v", images, lines, names)
	}
	if want := "wrote " + out + ": 4 images, 12 examples"; !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("stdout %q, want it to start with %q", stdout.String(), want)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode of the ZIP: %v, %v", fi.Mode(), err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("files left beside the ZIP: %v", left)
	}

	t.Run("CollectedNeedsOne", func(t *testing.T) {
		// Three answers per image cannot be "as collected": refused before
		// any file is made.
		dir := t.TempDir()
		err := run(ctx, []string{"export", "--database-url", dsn, "--study", "cli", "--source", "collected",
			"--format", "csv", "--out", filepath.Join(dir, "x.zip")}, quietEnv())
		if err == nil || !strings.Contains(err.Error(), "exactly one") {
			t.Fatalf("got %v, want the collected source to refuse 3 answers per image", err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("files left after a refused export: %v", left)
		}
	})

	t.Run("FailureLeavesNothing", func(t *testing.T) {
		// An image type the export cannot name fails the export after the
		// first images are written: neither --out nor a temporary remains.
		if _, err := pool.Exec(ctx, `UPDATE stimuli SET file = 'images/last.gif'
			WHERE id = (SELECT max(id::text)::uuid FROM stimuli)`); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		err := run(ctx, []string{"export", "--database-url", dsn, "--study", "cli", "--source", "every",
			"--format", "csv", "--out", filepath.Join(dir, "x.zip")}, quietEnv())
		if err == nil || !strings.Contains(err.Error(), "last.gif") {
			t.Fatalf("got %v, want the export to fail on the .gif", err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("files left after a failed export: %v", left)
		}
	})

	t.Run("UnknownStudy", func(t *testing.T) {
		err := run(ctx, []string{"export", "--database-url", dsn, "--study", "cli,nope", "--source", "every",
			"--format", "csv", "--out", filepath.Join(t.TempDir(), "x.zip")}, quietEnv())
		if err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("got %v, want it to name the unknown study", err)
		}
	})
}

// TestExportFlags checks that every bad command line is refused before any
// database is touched, with an error that names the flag at fault.
func TestExportFlags(t *testing.T) {
	t.Parallel()
	ok := []string{"--database-url", "postgres://nowhere", "--out", "x.zip"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "every", "--format", "csv"}, "--study: Choose at least one study"},
		{[]string{"--study", "a", "--set", "b", "--source", "truth", "--format", "csv"}, "--study: Choose studies or a stimulus set, not both"},
		{[]string{"--study", "a", "--format", "csv"}, "--source: Choose a label source"},
		{[]string{"--study", "a", "--source", "all", "--format", "csv"}, "--source"},
		{[]string{"--set", "b", "--source", "every", "--format", "csv"}, "--set"},
		{[]string{"--study", "a", "--source", "every"}, "--format: Choose a format"},
		{[]string{"--study", "a", "--source", "every", "--format", "parquet"}, "--format"},
		{[]string{"--study", "a", "--source", "majority", "--format", "csv", "--ties", "flip"}, "--ties"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--val", "1"}, "--val"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--val", "-0.1"}, "--val"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--domain", "cube"}, "--domain"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--sizes", "4-2"}, "--sizes"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--sizes", "x"}, "--sizes"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--sizes", "0"}, "--sizes"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "--seed", "-1"}, "-seed"},
		{[]string{"--study", "a", "--source", "every", "--format", "csv", "extra"}, "unexpected"},
	} {
		args := append([]string{"export"}, append(slices.Clone(ok), c.args...)...)
		err := run(context.Background(), args, quietEnv())
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want a usage error naming %s", c.args, err, c.want)
		}
	}
	err := run(context.Background(), []string{"export", "--study", "a", "--source", "every", "--format", "csv"}, quietEnv())
	if err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: %v", err)
	}
}
