package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
