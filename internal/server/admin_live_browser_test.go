package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// TestBrowserLivePanel: the study page's live comparison shows accuracy and
// the kappas with their intervals, passes axe-core, fits a phone's width,
// and takes in a new completion without a reload within 2 s.
func TestBrowserLivePanel(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	flip := map[string]string{task.Yes: task.No, task.No: task.Yes}
	answer := func(k, i int, truth string) string {
		if (i+k)%4 == 0 || i == 5 || (k == 2 && i == 7) {
			return flip[truth]
		}
		return truth
	}
	model := func(i int) float64 {
		if (i%2 == 1) != (i >= 5 && i <= 7) {
			return 0.85
		}
		return 0.2
	}
	st := answeredStudy(t, e, "livepanel", 12, 8, answer, model)
	ctx0 := context.Background()
	if err := e.store.SetStopRule(ctx0, st.ID, study.StopRule{Measure: study.StopHumanHuman, Width: 0.05}, adminEmail); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	browserLogin(t, ctx, e.srv.URL)
	step(t, ctx, "open the study", chromedp.Navigate(e.srv.URL+"/admin/studies/"+st.ID.String()), chromedp.WaitVisible("#live-numbers table"))
	caption, err := run(ctx, chromedp.Text("#live-numbers caption"))
	if err != nil || !strings.HasPrefix(caption, "8 people") {
		t.Fatalf("caption %q %v", caption, err)
	}
	rows, err := run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#live-numbers tbody tr')].map(r => r.innerText)`))
	if err != nil || len(rows) != 3 || !strings.Contains(rows[1], "Human-human kappa") || !strings.Contains(rows[2], "Model-human kappa: vlm (base)") {
		t.Fatalf("rows %q %v", rows, err)
	}
	checkAccessibility(t, ctx, "live panel")
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		if w, _ := run(ctx, chromedp.Evaluate[float64](`document.querySelector('#live').getBoundingClientRect().right - window.innerWidth`)); w > 0 {
			t.Errorf("live panel at %s: %.0f px wider than the screen", vp.name, w)
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
	shotsAt(t, ctx, "admin-live-panel")

	// A ninth person finishes: the panel shows them without a reload.
	liveFinish(t, e, st, 20, nil, 1)
	start := time.Now()
	for {
		caption, err := run(ctx, chromedp.Text("#live-numbers caption"))
		if err == nil && strings.HasPrefix(caption, "9 people") {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("2 s after the completion the panel says %q (%v)", caption, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the panel showed the new completion after %v", time.Since(start).Round(10*time.Millisecond))
}
