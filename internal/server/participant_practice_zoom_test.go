package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// zoomVisible checks at 200% zoom on 1366x768 and on a phone held sideways
// that the picture and both answer buttons of the page shown are on screen,
// and saves a screenshot of each as name-VIEWPORT.png.
func zoomVisible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, vp := range []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"1366x768-zoom200", 683, 384, []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}},
		{"844x390", 844, 390, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateLandscape, chromedp.EmulateScale(3)}},
	} {
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.w, vp.h, vp.opts...))
		off, err := run(ctx, chromedp.Evaluate[[]string](`(() => {
			const off = [];
			for (const sel of ["#stimulus", "#answers button[value=Yes]", "#answers button[value=No]"]) {
				const el = document.querySelector(sel), r = el.getBoundingClientRect();
				if (r.top < 0 || r.left < 0 || r.bottom > window.innerHeight || r.right > window.innerWidth || r.height < 40)
					off.push(sel + " " + JSON.stringify(r) + " in " + window.innerWidth + "x" + window.innerHeight);
			}
			return off;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range off {
			t.Errorf("%s at %s: not fully visible: %s", name, vp.name, o)
		}
		if dir := os.Getenv("CUBELAB_SCREENSHOTS"); dir != "" {
			if png, err := run(ctx, chromedp.CaptureScreenshot()); err == nil {
				_ = os.WriteFile(filepath.Join(dir, name+"-"+vp.name+".png"), png, 0o644)
			}
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
}

// TestBrowserZoomPracticeAndCheck: the practice trial (with its note) and
// an instructed check (with its request) keep the picture and both buttons
// on screen at 200% zoom and on a phone held sideways, as a trial does.
func TestBrowserZoomPracticeAndCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	e.setPractice(t, 1)
	if _, err := e.pool.Exec(context.Background(), `UPDATE studies SET instructed_checks = 2`); err != nil {
		t.Fatal(err)
	}
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
