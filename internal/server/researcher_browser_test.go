package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
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

// TestBrowserReportTable: the report's numbers table fits a laptop's width
// with a model named as real ones are (and trained, and averaged over
// seeds), its Observer column on one line, at 1366x768 and 1920x1080; a
// phone scrolls the table inside itself, never the page.
func TestBrowserReportTable(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	flip := map[string]string{task.Yes: task.No, task.No: task.Yes}
	st := answeredStudy(t, e, "wide", 12, 6, func(k, i int, truth string) string {
		if (i+k)%4 == 0 || i == 5 {
			return flip[truth]
		}
		return truth
	}, func(i int) float64 { return 0.3 + float64(i%3)/4 })
	var b strings.Builder
	b.WriteString("model,condition,seed,stimulus_id,p_yes\n")
	for seed := range 3 {
		for i := 1; i <= 12; i++ {
			fmt.Fprintf(&b, "Qwen2.5-VL-7B-Instruct,towers 2-4,%d,t%02d,%v\n", seed, i, float64((i+seed)%5)/5)
		}
	}
	rows, err := modelout.Parse(strings.NewReader(b.String()), modelout.Options{Name: "qwen.csv"})
	if err != nil {
		t.Fatal(err)
	}
	trained, err := analysis.ParseTrained("tower:2-4")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ImportModelOutputs(context.Background(), postgres.ModelImport{Set: "wide-set", SourceFile: "qwen.csv", Rows: rows, Trained: &trained}); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	step(t, ctx, "log in",
		chromedp.Navigate(e.srv.URL+"/admin/studies/"+st.ID.String()+"/report"), chromedp.WaitVisible("#password"),
		chromedp.SendKeys("#email", adminEmail), chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("form button[type=submit]"), chromedp.WaitVisible("table.report"))
	if n, _ := run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('table.report td:nth-child(2)')].filter(c => c.textContent.includes('Qwen2.5-VL-7B-Instruct, towers 2-4 (3 seeds)') && c.querySelector('.trained-size')).length`)); n == 0 {
		t.Fatal("no trained row of the long model in the table")
	}
	// Each number table: how far its right edge passes main's content box (or
	// the trained / held-out table its scrolling box),
	// and how many Observer cells take more than one line.
	const geometry = `(() => {
		const m = document.querySelector('main'), cs = getComputedStyle(m);
		const right = m.getBoundingClientRect().right - parseFloat(cs.paddingRight);
		let over = 0, wrapped = [];
		for (const tb of document.querySelectorAll('table.report:not(.split)')) {
			over = Math.max(over, Math.round(tb.getBoundingClientRect().right - right));
			for (const td of tb.querySelectorAll('tbody td:nth-child(2)')) {
				const r = document.createRange(); r.selectNodeContents(td);
				// a rect starts a new line when it lies below the previous line
				let lines = 0, bottom = -Infinity;
				for (const x of [...r.getClientRects()].sort((a, b) => a.top - b.top)) {
					if (x.top >= bottom - 1) { lines++; bottom = x.bottom; } else { bottom = Math.max(bottom, x.bottom); }
				}
				if (lines > 1) wrapped.push(td.textContent.trim());
			}
		}
		const widths = [...document.querySelectorAll('table.numbers tbody tr:first-child td')].map(td => Math.round(td.getBoundingClientRect().width));
		for (const tb of document.querySelectorAll('table.report.split')) {
			over = Math.max(over, tb.parentElement.scrollWidth - tb.parentElement.clientWidth);
		}
		return {over, wrapped, page: document.documentElement.scrollWidth - window.innerWidth, widths};
	})()`
	type geom struct {
		Over    int      `json:"over"`
		Wrapped []string `json:"wrapped"`
		Page    int      `json:"page"`
		Widths  []int    `json:"widths"`
	}
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		g, err := run(ctx, chromedp.Evaluate[geom](geometry))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: table past main by %d px, %d Observer cells wrapped, page %d px wider than the screen; column widths %v", vp.name, g.Over, len(g.Wrapped), g.Page, g.Widths)
		if g.Page > 0 {
			t.Errorf("report at %s: page %d px wider than the screen", vp.name, g.Page)
		}
		if vp.mobile {
			continue // the table scrolls inside itself on a phone
		}
		if g.Over > 0 {
			t.Errorf("report at %s: the table is %d px wider than the page's content", vp.name, g.Over)
		}
		if len(g.Wrapped) > 0 {
			t.Errorf("report at %s: Observer wraps in %q", vp.name, g.Wrapped)
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
	checkAccessibility(t, ctx, "report")
	shotsAt(t, ctx, "admin-report")
}
