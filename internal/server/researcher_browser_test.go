package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/task"
)

// shotsAt saves full-page screenshots of the page as shown at the three
// viewports into $CUBELAB_SCREENSHOTS, when set.
func shotsAt(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CUBELAB_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...), void(chromedp.Evaluate[bool]("window.scrollTo(0, 0), true")))
		png, err := run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, vp.name)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
}

// TestBrowserResearcherTools: a researcher takes a pilot's numbers into the
// planner and plans a study to a target width; the page passes axe-core and
// nothing overflows a phone's width.
func TestBrowserResearcherTools(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	flip := map[string]string{task.Yes: task.No, task.No: task.Yes}
	st := answeredStudy(t, e, "pilot", 12, 8, func(k, i int, truth string) string {
		if (i+k)%4 == 0 || i == 5 || i == 6 {
			return flip[truth]
		}
		return truth
	}, func(i int) float64 {
		if (i%2 == 1) != (i >= 5 && i <= 7) {
			return 0.85
		}
		return 0.2
	})
	ctx := browser(t)
	step(t, ctx, "log in",
		chromedp.Navigate(e.srv.URL+"/admin/plan"), chromedp.WaitVisible("#password"),
		chromedp.SendKeys("#email", adminEmail), chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("form button[type=submit]"), chromedp.WaitVisible("#plan-form"))
	step(t, ctx, "choose the pilot",
		chromedp.SetValue("#plan-pilot", st.ID.String()),
		void(chromedp.Evaluate[bool](`document.querySelector('#plan-from-pilot').click(), true`)),
		chromedp.WaitVisible("#plan-pilot-notes"))
	step(t, ctx, "plan to a target",
		chromedp.SetValue("#plan-target", "0.3"),
		chromedp.SetValue("#plan-budget", "400.00"),
		void(chromedp.Evaluate[bool](`document.querySelector('#plan-submit').click(), true`)),
		chromedp.WaitVisible("#plan-needed"))
	needed, err := run(ctx, chromedp.Text("#plan-needed"))
	if err != nil || !strings.HasSuffix(needed, "participants") {
		t.Errorf("needed: %q %v", needed, err)
	}
	if n, _ := run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#plan-curve svg circle.point').length`)); n < 10 {
		t.Errorf("the curve has %d points", n)
	}
	if items, _ := run(ctx, chromedp.Value("#plan-items")); items != "12" {
		t.Errorf("items after the pilot: %q", items)
	}
	checkAccessibility(t, ctx, "planner")
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		if w, _ := run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); w > 0 {
			t.Errorf("planner at %s: %d px wider than the screen", vp.name, w)
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
	shotsAt(t, ctx, "admin-plan")

	// The item pages, reached from the report.
	id, _ := itemsStudy(t, e)
	step(t, ctx, "open the report", chromedp.Navigate(e.srv.URL+"/admin/studies/"+id+"/report"), chromedp.WaitVisible("#report-item-links"))
	step(t, ctx, "soft labels", void(chromedp.Evaluate[bool](`document.querySelector('#report-item-links a').click(), true`)),
		chromedp.WaitVisible("#soft-calibration svg"))
	if n, _ := run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#soft-calibration svg .point').length`)); n < 2 {
		t.Errorf("calibration curve with %d points", n)
	}
	checkAccessibility(t, ctx, "soft labels")
	noOverflow(t, ctx, "soft labels")
	shotsAt(t, ctx, "admin-soft-labels")
	step(t, ctx, "disagreements", chromedp.Navigate(e.srv.URL+"/admin/studies/"+id+"/disagreements"), chromedp.WaitVisible("#disagree-list"))
	loaded, err := run(ctx, chromedp.Evaluate[[]bool](`Promise.all([...document.querySelectorAll('#disagree-list img')].map(i => i.decode().then(() => i.naturalWidth > 0, () => false)))`, chromedp.EvalAwaitPromise))
	if err != nil || len(loaded) != 2 || !loaded[0] || !loaded[1] {
		t.Errorf("thumbnails decoded: %v %v", loaded, err)
	}
	checkAccessibility(t, ctx, "disagreements")
	noOverflow(t, ctx, "disagreements")
	shotsAt(t, ctx, "admin-disagreements")
}

// noOverflow fails when the page is wider than the screen at a viewport.
func noOverflow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		if w, _ := run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); w > 0 {
			t.Errorf("%s at %s: %d px wider than the screen", name, vp.name, w)
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
}
