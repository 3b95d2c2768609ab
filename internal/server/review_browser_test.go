package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// browserLogin logs the browser in as the experimenter.
func browserLogin(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	step(t, ctx, "open the admin", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible("#password"))
	step(t, ctx, "log in",
		chromedp.SendKeys("#email", adminEmail),
		chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("form button[type=submit]"),
		chromedp.WaitVisible(`a[href="/admin/studies/new"]`))
}

// shot saves the visible page as name-WxH.png into $CUBELAB_SCREENSHOTS.
func shot(t *testing.T, ctx context.Context, name string, w, h int64) {
	t.Helper()
	dir := os.Getenv("CUBELAB_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, w, h)), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// monitorGeometry measures the study page with the first row's Reject form
// open: what overflows the window, what is clipped, which cells wrap.
const monitorGeometry = `(() => {
	const bad = [], W = window.innerWidth;
	const details = document.querySelector("#monitor tbody tr details");
	if (!details) return ["no Reject form in the table"];
	details.open = true;
	details.querySelector("textarea, input[name=reason]").scrollIntoView({block: "center", inline: "nearest"});
	if (document.documentElement.scrollWidth > W + 1) bad.push("page is " + document.documentElement.scrollWidth + " px wide in a " + W + " px window");
	const table = document.querySelector("#monitor table"), main = document.querySelector("main");
	const spare = main.getBoundingClientRect().right - parseFloat(getComputedStyle(main).paddingRight) - table.getBoundingClientRect().right;
	if (spare < 0) bad.push("the table is " + Math.round(-spare) + " px wider than the page's content box");
	const btn = details.querySelector("button[type=submit]");
	const b = btn.getBoundingClientRect();
	if (b.left < 0 || b.right > W || b.width < 10) bad.push("Reject button at " + Math.round(b.left) + ".." + Math.round(b.right) + " in " + W);
	const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
	if (hit !== btn && !btn.contains(hit)) bad.push("Reject button covered by " + (hit ? hit.outerHTML.slice(0, 80) : "nothing"));
	for (const tile of document.querySelectorAll("dl.totals > div")) {
		const r = tile.getBoundingClientRect();
		if (r.right > W + 1 || r.left < 0) bad.push("tile " + tile.textContent + " at " + Math.round(r.left) + ".." + Math.round(r.right));
		for (const el of [tile, ...tile.children])
			if (el.scrollWidth > el.clientWidth + 1) bad.push("tile " + tile.textContent + " clipped");
	}
	for (const td of document.querySelectorAll("#monitor tbody td:not(.acts-cell)")) {
		const range = document.createRange();
		range.selectNodeContents(td);
		// One line: every box of the cell's content overlaps every other vertically.
		const rs = [...range.getClientRects()].filter(x => x.width > 0 && x.height > 0);
		if (rs.length && Math.max(...rs.map(x => x.top)) >= Math.min(...rs.map(x => x.bottom))) {
			bad.push("cell wraps: " + td.textContent.trim()); break;
		}
	}
	details.open = false;
	return bad;
})()`

// rowsInView scrolls the participant table to the top of the window and
// counts the rows wholly in view.
const rowsInView = `(() => {
	document.querySelector("#monitor table").scrollIntoView({block: "start"});
	let n = 0;
	for (const tr of document.querySelectorAll("#monitor tbody tr")) {
		const r = tr.getBoundingClientRect();
		if (r.top >= 0 && r.bottom <= window.innerHeight) n++;
	}
	return n;
})()`

// TestBrowserMonitorLayout: the monitor fits a 1366 px laptop with the
// Reject form open (nothing off-screen, no tile clipped), uses a 1920 px
// screen, keeps every cell to one line, and shows 15 rows at 1366x768.
func TestBrowserMonitorLayout(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	for i := range 24 {
		e.finish(t, fmt.Sprintf("ee%022x", i), i%7 == 3, i%4)
	}
	// The widest device text the monitor writes (issue 10's column).
	if _, err := e.store.Pool().Exec(context.Background(), `
		INSERT INTO participant_devices (participant_id, user_agent, viewport_w, viewport_h, dpr, pointer, kind, scripted)
		SELECT id, 'Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36',
			1280, 1024, 2.625, 'touch', 'desktop', true
		FROM participants ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	browserLogin(t, ctx, e.srv.URL)
	step(t, ctx, "study page", chromedp.Navigate(e.srv.URL+e.base), chromedp.WaitVisible("#monitor table"))
	for _, vp := range []struct{ w, h int64 }{{1366, 768}, {1920, 1080}} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h))
		bad, err := run(ctx, chromedp.Evaluate[[]string](monitorGeometry))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Errorf("at %dx%d: %s", vp.w, vp.h, b)
		}
		n, err := run(ctx, chromedp.Evaluate[int](rowsInView))
		if err != nil {
			t.Fatal(err)
		}
		if vp.w == 1366 && n < 15 {
			t.Errorf("at 1366x768 the table shows %d whole rows, want 15", n)
		}
		mainW, err := run(ctx, chromedp.Evaluate[float64](`document.querySelector("main").getBoundingClientRect().width`))
		if err != nil {
			t.Fatal(err)
		}
		if vp.w == 1920 && mainW < 1800 {
			t.Errorf("at 1920 px the page uses %.0f px", mainW)
		}
	}
	// Screenshots with the Reject form open, and the accessibility check.
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...),
			void(chromedp.Evaluate[bool](`(() => { const d = document.querySelector("#monitor tbody tr details"); d.open = true;
				document.querySelector("dl.totals").scrollIntoView({block: "start"}); return true; })()`)))
		shot(t, ctx, "monitor-reject-open", vp.width, vp.height)
	}
	step(t, ctx, "laptop", chromedp.EmulateViewport(1366, 768))
	checkAccessibility(t, ctx, "study page with Reject open")

	// The confirmation of a bulk approval.
	step(t, ctx, "bulk approve", void(chromedp.Evaluate[bool](`document.querySelector("#bulk-approve button").click(), true`)))
	waitFor(t, ctx, "the confirmation", `!!document.querySelector("#confirm") && document.readyState === "complete"`)
	h1, _ := run(ctx, chromedp.Text("h1"))
	if !strings.HasPrefix(h1, "Approve ") {
		t.Errorf("confirmation heading %q", h1)
	}
	checkAccessibility(t, ctx, "bulk approval confirmation")
	for _, vp := range []struct{ w, h int64 }{{1366, 768}, {1920, 1080}} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h))
		shot(t, ctx, "review-confirm", vp.w, vp.h)
	}
	step(t, ctx, "confirm", void(chromedp.Evaluate[bool](`document.querySelector("#confirm").click(), true`)))
	waitFor(t, ctx, "the undo", `!!document.querySelector("#undo form button") && document.readyState === "complete"`)
	checkAccessibility(t, ctx, "study page with an undo")
	step(t, ctx, "undo", void(chromedp.Evaluate[bool](`document.querySelector("#undo form button").click(), true`)))
	waitFor(t, ctx, "undone", `!!document.querySelector("#undo .notice") && !document.querySelector("#undo form")`)
}
