package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// writeTowerSet writes a small valid set folder named name under dir.
func writeTowerSet(t *testing.T, dir, name string, n int) {
	t.Helper()
	set := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Join(set, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	var m strings.Builder
	m.WriteString("id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\n")
	for i := range n {
		answer := []string{"Yes", "No"}[i%2]
		fmt.Fprintf(&m, "t%02d,tower,%d,0,0,%s,test,,images/t%02d.png\n", i+1, 2+i%3, answer, i+1)
		if err := os.WriteFile(filepath.Join(set, "images", fmt.Sprintf("t%02d.png", i+1)), pgtest.PNG(i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(set, "manifest.csv"), []byte(m.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServeDemo boots the whole command on 127.0.0.1:0 with -demo, follows the
// printed participant link, then stops it the way a signal would.
func TestServeDemo(t *testing.T) {
	t.Parallel()
	dsn, pool := pgtest.New(t)
	stimuli := t.TempDir()
	writeTowerSet(t, stimuli, "towers-eval", 6)

	out, w := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: w, stderr: io.Discard}
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-database-url", dsn, "-stimuli", stimuli, "-demo"}, e)
		w.Close()
	}()

	var link, base string
	lines := bufio.NewScanner(out)
	for (link == "" || base == "") && lines.Scan() {
		line := lines.Text()
		if s, ok := strings.CutPrefix(line, "participant link: "); ok {
			link = s
		}
		if s, ok := strings.CutPrefix(line, "listening on "); ok {
			base = s
		}
	}
	go io.Copy(io.Discard, out) //nolint:errcheck // drain the rest
	if link == "" || base == "" {
		cancel()
		t.Fatalf("no participant link or address printed; run returned %v", <-done)
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	resp, err = c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "I agree") {
		t.Fatalf("participant link %s = %d:\n%s", link, resp.StatusCode, body)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM participants p JOIN studies s ON s.id = p.study_id
		WHERE s.slug = 'demo' AND s.status = 'published'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("demo participants = %d, %v; want 1", n, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestServeRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	dsn, pool := pgtest.New(t)
	if _, err := pool.Exec(context.Background(), `UPDATE schema_migrations SET version = 999999`); err != nil {
		t.Fatal(err)
	}
	e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-database-url", dsn}, e)
	if err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Fatalf("serve on a newer schema = %v, want a refusal", err)
	}
}

// TestServeDemoKeepsStoredSet: a database whose set of a shipped name differs
// from the folder (the shipped sets were regenerated since) keeps its set,
// with a warning, instead of refusing to start.
func TestServeDemoKeepsStoredSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	old, cur := t.TempDir(), t.TempDir()
	writeTowerSet(t, old, "towers-eval", 6)
	writeTowerSet(t, cur, "towers-eval", 4)
	if err := setUpDemo(ctx, store, old, "http://x", e, log); err != nil {
		t.Fatal(err)
	}
	if err := setUpDemo(ctx, store, cur, "http://x", e, log); err != nil {
		t.Fatalf("second demo set-up with a changed set: %v", err)
	}
	if !strings.Contains(logs.String(), "keeping the stored one") {
		t.Errorf("no warning in the log:\n%s", logs.String())
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM stimuli st JOIN stimulus_sets s ON s.id = st.set_id WHERE s.name = 'towers-eval'`).Scan(&n); err != nil || n != 6 {
		t.Errorf("stored towers-eval has %d items (%v), want the 6 of the first import", n, err)
	}
}
