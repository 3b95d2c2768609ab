package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserZoom: at 200% zoom on a 1366x768 laptop (a 683x384 CSS
// viewport) and on a phone held sideways (844x390), the picture shrinks
// before the buttons leave the screen: picture and both buttons are fully
// visible without scrolling.
func TestBrowserZoom(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	waitTrial(t, ctx, 1, 2)
	zoomVisible(t, ctx, "trial")
}

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
