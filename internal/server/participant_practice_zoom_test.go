package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserZoomPracticeAndCheck: the practice trial (with its note) and
// an instructed check (with its request) keep the picture and both buttons
// on screen at 200% zoom and on a phone held sideways, as a trial does.
func TestBrowserZoomPracticeAndCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.setPractice(t, 1)
	e.setChecks(t, 2)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	waitFor(t, ctx, "practice", `(() => { const f = document.getElementById("answer"); return !!(f && f.dataset.state === "ready" && document.getElementById("practice-note")); })()`)
	zoomVisible(t, ctx, "practice")
	step(t, ctx, "practice answer", chromedp.KeyEvent("y"))
	waitFor(t, ctx, "feedback", `!!document.getElementById("continue") && document.readyState === "complete"`)
	continueReady(t, ctx)
	step(t, ctx, "continue", chromedp.Click("#continue"))
	for pos := 1; pos <= 4; pos++ {
		waitTrial(t, ctx, pos, 4)
		text, _ := run(ctx, chromedp.Evaluate[string](`(document.getElementById("instruction") || {}).textContent || ""`))
		if strings.Contains(text, "please press") {
			zoomVisible(t, ctx, "instructed-check")
			return
		}
		step(t, ctx, "answer", chromedp.KeyEvent("n"))
	}
	t.Fatal("no instructed check in 4 trials")
}
