package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/task"
)

var buttonsRE = regexp.MustCompile(`id="answers" data-yes-side="(left|right)"><button[^>]*value="(Yes|No)"`)

// TestYesSideBalanced: participants alternate between Yes on the left and
// on the right; each trial page puts the buttons on the participant's sides,
// and the answers download carries the side.
func TestYesSideBalanced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	for i := 1; i <= 10; i++ {
		c := e.client(t)
		e.join(t, c, i)
		m := buttonsRE.FindStringSubmatch(e.do(t, c, "GET", "/s/towers/trial", nil).body)
		var want string
		if err := e.pool.QueryRow(context.Background(), `SELECT yes_side FROM participants WHERE prolific_pid = $1`, pid(i)).Scan(&want); err != nil {
			t.Fatal(err)
		}
		first := map[string]string{"left": "Yes", "right": "No"}[want]
		if m == nil || m[1] != want || m[2] != first {
			t.Errorf("participant %d (Yes %s): trial page buttons %q", i, want, m)
		}
		if i == 1 {
			e.answer(t, c, 1, task.Yes)
		}
	}
	if l, r := e.count(t, `SELECT count(*) FROM participants WHERE yes_side = 'left'`),
		e.count(t, `SELECT count(*) FROM participants WHERE yes_side = 'right'`); l != 5 || r != 5 {
		t.Errorf("Yes left %d, right %d of 10; want 5 and 5", l, r)
	}
	var buf bytes.Buffer
	if err := e.store.WriteAnswersCSV(context.Background(), e.study.ID, &buf); err != nil {
		t.Fatal(err)
	}
	recs, _ := csv.NewReader(&buf).ReadAll()
	side := slices.Index(postgres.AnswersHeader(), "yes_side")
	if len(recs) != 2 || side < 0 || recs[1][side] != "left" {
		t.Errorf("answers CSV yes_side: %v", recs)
	}
}

// TestBrowserYesRight: with Yes on the right, the buttons and the key hint
// follow, the arrow keys answer by side and Y/N keep their meaning.
func TestBrowserYesRight(t *testing.T) {
	t.Parallel()
	const n = 4
	e := newEnv(t, n)
	e.join(t, e.client(t), 1) // the first participant has Yes on the left
	ctx := browser(t)
	browserJoin(t, ctx, e, 2)
	if side := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND yes_side = 'right'`, pid(2)); side != 1 {
		t.Fatalf("the second participant does not have Yes on the right")
	}
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	waitTrial(t, ctx, 1, n)
	order, _ := run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#answers button")].map(b => b.value).join(",")`))
	keys, _ := run(ctx, chromedp.Text("#keys"))
	if order != "No,Yes" || !strings.Contains(keys, "N or ← No") || !strings.Contains(keys, "Y or → Yes") {
		t.Errorf("Yes on the right: buttons %q, key hint %q", order, keys)
	}
	checkAccessibility(t, ctx, "trial, Yes on the right")
	screenshots(t, ctx, "trial-yes-right", true)
	pressed := []struct {
		key, want string
	}{{kb.ArrowLeft, task.No}, {kb.ArrowRight, task.Yes}, {"y", task.Yes}, {"n", task.No}}
	for i, p := range pressed {
		waitTrial(t, ctx, i+1, n)
		step(t, ctx, "key "+p.key, chromedp.KeyEvent(p.key))
	}
	step(t, ctx, "end page", chromedp.WaitVisible("#complete"))
	got := e.answers(t, 2)
	for i, p := range pressed {
		if got[i+1] != p.want {
			t.Errorf("trial %d: key %q answered %q, want %q", i+1, p.key, got[i+1], p.want)
		}
	}
}
