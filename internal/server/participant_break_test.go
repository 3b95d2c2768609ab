package server_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/task"
)

// setBreaks makes the test study pause every n trials.
func (e *env) setBreaks(t *testing.T, n int) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), `UPDATE studies SET break_every = $1`, n); err != nil {
		t.Fatal(err)
	}
}

// TestBreaks walks a study that pauses every 2 trials with plain forms (no
// JavaScript): the break comes after trials 2 and 4 but not after the last,
// shows the progress and the time left, holds nothing (a replayed answer,
// a reload and a resume each land right), and never lets a trial be
// answered twice.
func TestBreaks(t *testing.T) {
	t.Parallel()
	const n = 5
	e := newEnv(t, n)
	e.setBreaks(t, 2)
	c := e.client(t)
	e.join(t, c, 1)
	next := map[int]string{1: "/s/towers/trial", 2: "/s/towers/break", 3: "/s/towers/trial", 4: "/s/towers/break", 5: "/s/towers/done"}
	for pos := 1; pos <= n; pos++ {
		if got := e.trial(t, c); got != pos {
			t.Fatalf("trial page shows %d, want %d", got, pos)
		}
		if p := e.answer(t, c, pos, task.Yes); p.status != http.StatusSeeOther || p.location != next[pos] {
			t.Fatalf("answer %d = %d to %q, want %q", pos, p.status, p.location, next[pos])
		}
		if next[pos] != "/s/towers/break" {
			if p := e.do(t, c, "GET", "/s/towers/break", nil); pos < n && (p.status != http.StatusSeeOther || p.location != "/s/towers/trial") {
				t.Fatalf("break page after trial %d = %d %q, want a redirect to the trial", pos, p.status, p.location)
			}
			continue
		}
		for _, what := range []string{"first", "reload"} {
			p := e.do(t, c, "GET", "/s/towers/break", nil)
			if p.status != 200 || !strings.Contains(p.body, "<strong>"+strconv.Itoa(pos)+" of 5</strong>") ||
				!strings.Contains(p.body, `id="time-left"`) || !strings.Contains(p.body, "30 minutes left") ||
				!strings.Contains(p.body, `id="continue" class="button primary" href="/s/towers/trial"`) {
				t.Fatalf("break page (%s) after trial %d = %d:\n%s", what, pos, p.status, p.body)
			}
		}
		// The same answer again (a double click without JavaScript, the
		// back button) changes nothing and leads to the break again.
		if p := e.answer(t, c, pos, task.No); p.location != "/s/towers/break" {
			t.Fatalf("replayed answer %d goes to %q", pos, p.location)
		}
		// The next trial's answer cannot come before its page was shown.
		if p := e.answer(t, c, pos+1, task.Yes); p.status == http.StatusSeeOther {
			t.Fatalf("an answer to trial %d from the break page was taken", pos+1)
		}
	}
	got := e.answers(t, 1)
	if len(got) != n {
		t.Fatalf("%d answers stored, want %d: %v", len(got), n, got)
	}
	for pos, a := range got {
		if a != task.Yes {
			t.Errorf("trial %d stored %q, want the first answer Yes", pos, a)
		}
	}

	t.Run("ResumeAndTimeUp", func(t *testing.T) {
		c := e.client(t)
		e.join(t, c, 2)
		for pos := 1; pos <= 2; pos++ {
			e.trial(t, c)
			e.answer(t, c, pos, task.No)
		}
		// Reopening the link goes on to the next trial: a break holds nothing.
		p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(2)+"&STUDY_ID=s1&SESSION_ID=x1", nil)
		if p.location != "/s/towers/trial" {
			t.Fatalf("resume at a break goes to %q", p.location)
		}
		pgtest.StartedAgo(t, e.pool, 29*time.Minute)
		if p := e.do(t, c, "GET", "/s/towers/break", nil); !strings.Contains(p.body, "Less than five minutes left") ||
			strings.Contains(p.body, `id="time-warning" class="time-warning" role="alert" hidden`) {
			t.Fatalf("break page near the limit does not warn:\n%s", p.body)
		}
		pgtest.StartedAgo(t, e.pool, 31*time.Minute)
		if p := e.do(t, c, "GET", "/s/towers/break", nil); p.location != "/s/towers/time-up" {
			t.Fatalf("break page past the limit = %d %q, want the time-up page", p.status, p.location)
		}
	})

	t.Run("Preview", func(t *testing.T) {
		c := e.client(t)
		if p := e.do(t, c, "GET", "/s/towers/preview/answer?position=2&answer=Yes", nil); p.location != "/s/towers/preview/break/2" {
			t.Fatalf("preview answer 2 goes to %q", p.location)
		}
		p := e.do(t, c, "GET", "/s/towers/preview/break/2", nil)
		if p.status != 200 || !strings.Contains(p.body, "2 of 5") || !strings.Contains(p.body, `href="/s/towers/preview/trial/3"`) ||
			strings.Contains(p.body, "time-left") {
			t.Fatalf("preview break = %d:\n%s", p.status, p.body)
		}
	})
}

// TestBrowserBreak: the break page in a real browser passes axe-core, fits
// every screen, counts the time down, and a double click on the answer
// before it answers one trial only; Continue leads to a gated trial.
func TestBrowserBreak(t *testing.T) {
	t.Parallel()
	const n = 4
	e := newEnv(t, n)
	e.setBreaks(t, 2)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	waitTrial(t, ctx, 1, n)
	step(t, ctx, "answer 1", chromedp.KeyEvent("y"))
	waitTrial(t, ctx, 2, n)
	doubleClick(t, ctx, task.Yes, 150*time.Millisecond)
	waitFor(t, ctx, "the break page or trial 3", `!!(document.getElementById("continue") || document.getElementById("progress-label")) && document.readyState === "complete"`)
	time.Sleep(500 * time.Millisecond)
	if got := e.answers(t, 1); len(got) != 2 {
		t.Fatalf("a double click before the break stored %d answers, want 2: %v", len(got), got)
	}
	step(t, ctx, "break page", chromedp.Navigate(e.srv.URL+"/s/towers/break"), chromedp.WaitVisible("#continue"))
	before, _ := run(ctx, chromedp.Text("#time-left"))
	if !strings.Contains(before, "minutes left") {
		t.Errorf("the break page shows no time left: %q", before)
	}
	progress, _ := run(ctx, chromedp.Text("#break-progress"))
	if !strings.Contains(progress, "2 of 4") {
		t.Errorf("break progress %q", progress)
	}
	checkAccessibility(t, ctx, "break")
	screenshots(t, ctx, "break", false)
	continueReady(t, ctx)
	step(t, ctx, "continue", chromedp.Click("#continue"))
	waitTrial(t, ctx, 3, n)
	step(t, ctx, "answer 3", chromedp.KeyEvent("n"))
	waitTrial(t, ctx, 4, n)
	step(t, ctx, "answer 4", chromedp.KeyEvent("n"))
	step(t, ctx, "end page", chromedp.WaitVisible("#complete"))
	if got := e.answers(t, 1); len(got) != n {
		t.Fatalf("%d answers, want %d", len(got), n)
	}

	// Without JavaScript the break is the same page and Continue a plain link.
	scripts(t, ctx, false)
	browserJoin(t, ctx, e, 2)
	step(t, ctx, "about you (no script)", chromedp.Click("button[name=skip][value=yes]"))
	for pos := 1; pos <= 2; pos++ {
		label := strconv.Itoa(pos) + " of 4"
		waitFor(t, ctx, "plain trial "+label, `(document.getElementById("progress-label") || {textContent: ""}).textContent.trim() === "`+label+`" &&
			!!document.querySelector(".answers:not(.scripted) button[value=Yes]") && document.readyState === "complete"`)
		step(t, ctx, "plain answer", chromedp.Click(".answers:not(.scripted) button[value=Yes]"))
	}
	waitFor(t, ctx, "the break page without script", `!!document.getElementById("continue") && document.readyState === "complete"`)
	screenshots(t, ctx, "break-noscript", false)
	step(t, ctx, "continue (no script)", chromedp.Click("#continue"))
	waitFor(t, ctx, "trial 3 without script", `(document.getElementById("progress-label") || {}).textContent === "3 of 4"`)
}

// continueReady waits until the page has been up long enough for its
// Continue to take a click: trial.js ignores clicks in a break or feedback
// page's first 400 ms (the second half of a double click on the answer).
func continueReady(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, "Continue to take clicks", `performance.now() > 700 && !!document.getElementById("continue")`)
}
