package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperGenerate is not a test: it is the child process of
// TestStimuliGenerateSIGTERM, running the real main on a long generation.
func TestHelperGenerate(t *testing.T) {
	out := os.Getenv("CUBELAB_HELPER_GENERATE_OUT")
	if out == "" {
		t.Skip("child process of TestStimuliGenerateSIGTERM")
	}
	os.Args = []string{"server", "stimuli", "generate", "--domain", "tower", "--sizes", "2-7",
		"--n", "1000000", "--seed", "9", "--size", "96", "--workers", "2", "--out", out}
	main()
	os.Exit(0)
}

// TestStimuliGenerateSIGTERM: SIGTERM (and SIGINT) during generation stop
// the command within a second, with an error, and leave no folder at --out
// and nothing beside it.
func TestStimuliGenerateSIGTERM(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		parent := t.TempDir()
		out := filepath.Join(parent, "pool")
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperGenerate$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CUBELAB_HELPER_GENERATE_OUT="+out)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until images are being written into the temporary folder.
		deadline := time.Now().Add(60 * time.Second)
		for {
			tmp, _ := filepath.Glob(filepath.Join(parent, ".pool.partial-*", "images", "*.png"))
			if len(tmp) >= 20 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no images after 60 s; stderr: %s", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		sent := time.Now()
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: still running 10 s after the signal", sig)
		}
		took := time.Since(sent)
		t.Logf("%v: stopped %v after the signal: %v; stderr %q", sig, took, err, stderr.String())
		if took > time.Second {
			t.Errorf("%v: took %v to stop, want at most 1 s", sig, took)
		}
		if err == nil || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("%v: exit %v, stderr %q; want a failure that says it was cancelled", sig, err, stderr.String())
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 0 {
			t.Errorf("%v: %d entries left beside --out (first %s); want none", sig, len(entries), entries[0].Name())
		}
	}
}

// TestStimuliExplain replays the items of issue 12 and a pyramid.
func TestStimuliExplain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--domain", "tower", "--sizes", "2-7", "--n", "10000", "--seed", "98765", "--index", "145"},
			[]string{"item tower-00146: seed 98765, index 145", "closed form: centre of mass", "closed form, depth offsets zeroed:",
				"linear program, the tower: inset -0.005 m: stands", "verdict with margin 0.005 m: stable", "answer: No"}},
		{[]string{"--domain", "tower", "--sizes", "2-7", "--n", "10000", "--seed", "4", "--index", "5621"},
			[]string{"item tower-05622: seed 4, index 5621", "linear program, the tower:", "answer:"}},
		{[]string{"--domain", "pyramid", "--sizes", "2-5", "--per-size-and-answer", "10", "--seed", "202", "--index", "0"},
			[]string{"item pyramid-0001", "red block", "linear program, without the red block:", "linear program, the whole pyramid:", "verdict with margin 0.005 m: stable"}},
	} {
		e, out, _ := stimuliEnv()
		png := filepath.Join(dir, tc.args[len(tc.args)-1]+".png")
		if err := run(t.Context(), append([]string{"stimuli", "explain", "--png", png, "--size", "128"}, tc.args...), e); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		for _, w := range append(tc.want, "picture: "+png) {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		if st, err := os.Stat(png); err != nil || st.Size() == 0 {
			t.Errorf("picture: %v", err)
		}
	}
	e, _, _ := stimuliEnv()
	if err := run(t.Context(), []string{"stimuli", "explain", "--domain", "tower", "--seed", "1"}, e); err == nil || !strings.Contains(err.Error(), "--index") {
		t.Errorf("no index: %v", err)
	}
}
