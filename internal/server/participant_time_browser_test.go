package server_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// TestBrowserTimeLimit: the trial page counts the time left down, shows the
// warning when five minutes are left, and at zero goes to the time-up page,
// which links back to Prolific. Both pages pass axe-core and fit every size.
func TestBrowserTimeLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	waitTrial(t, ctx, 1, 3)
	if got, _ := run(ctx, chromedp.Text("#time-left")); got != "30 minutes left" && got != "29 minutes left" {
		t.Errorf("time left at the start = %q", got)
	}

	// 5:02 left when the page comes: the warning appears as the count passes 5:00.
	pgtest.StartedAgo(t, e.pool, 25*time.Minute-2*time.Second)
	step(t, ctx, "reload", chromedp.Reload())
	waitTrial(t, ctx, 1, 3)
	if hidden, _ := run(ctx, chromedp.Evaluate[bool](`document.getElementById("time-warning").hidden`)); !hidden {
		t.Errorf("the warning shows with more than five minutes left")
	}
	waitFor(t, ctx, "the five-minute warning", `!document.getElementById("time-warning").hidden`)
	if got, _ := run(ctx, chromedp.Text("#time-left")); !regexp.MustCompile(`^[45]:[0-5]\d left$`).MatchString(got) {
		t.Errorf("time left in the last five minutes = %q", got)
	}
	checkAccessibility(t, ctx, "trial with the warning")
	screenshots(t, ctx, "trial-warning", true)

	// 3 s left: at zero the page goes to the time-up page by itself.
	pgtest.StartedAgo(t, e.pool, 30*time.Minute-3*time.Second)
	step(t, ctx, "reload", chromedp.Reload())
	waitFor(t, ctx, "the time-up page", `location.pathname === "/s/towers/time-up" && document.readyState === "complete"`)
	href, err := run(ctx, chromedp.AttributeValue("#prolific", "href"))
	if err != nil || href.Value != "https://app.prolific.com/submissions" {
		t.Errorf("time-up page links to %q (%v)", href.Value, err)
	}
	checkAccessibility(t, ctx, "time-up")
	screenshots(t, ctx, "time-up", false)
	if n := e.count(t, `SELECT count(*) FROM responses`); n != 0 {
		t.Errorf("%d answers recorded", n)
	}
}
