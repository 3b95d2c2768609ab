package server_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserInstructedCheck: an instructed-response check in a real
// browser says which button to press, passes axe-core, fits every screen,
// and the demanded key press is stored as a passed check.
func TestBrowserInstructedCheck(t *testing.T) {
	t.Parallel()
	const n, checks = 2, 2
	e := newEnv(t, n)
	e.setChecks(t, checks)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	seen := 0
	for pos := 1; pos <= n+checks; pos++ {
		waitTrial(t, ctx, pos, n+checks)
		text, _ := run(ctx, chromedp.Evaluate[string](`(document.getElementById("instruction") || {}).textContent || ""`))
		key := "y"
		if m := instructedRE.FindStringSubmatch(text); m != nil {
			if seen == 0 {
				checkAccessibility(t, ctx, "instructed check")
				screenshots(t, ctx, "instructed-check", true)
			}
			seen++
			key = map[string]string{"Yes": "y", "No": "n"}[m[1]]
		}
		step(t, ctx, "answer", chromedp.KeyEvent(key))
	}
	step(t, ctx, "end page", chromedp.WaitVisible("#complete"))
	if seen != checks {
		t.Fatalf("%d trials asked for a button, want %d", seen, checks)
	}
	if ok := e.count(t, `SELECT count(*) FROM responses r JOIN trials t USING (participant_id, position)
		WHERE t.instructed_answer IS NOT NULL AND r.correct AND r.answer = t.instructed_answer`); ok != checks {
		t.Fatalf("%d instructed checks stored as passed, want %d", ok, checks)
	}
}
