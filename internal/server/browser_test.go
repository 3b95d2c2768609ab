package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cubelab/cubelab/internal/task"
)

// chromium finds the browser; without one the browser tests skip, except in
// CI, where a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed (scripts/need.sh installs it)")
	}
	t.Skip("Chromium is not installed; the browser tests need it")
	return ""
}

// browser starts a headless Chromium for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1366, 768),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now. Its first context must carry no deadline (the
	// deadline would end the browser), so the wait is bounded here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Chromium did not start within 60 s")
	}
	return ctx
}

// step runs actions with a timeout, so a broken page fails fast.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := run(ctx, chromedp.Location())
		body, _ := run(ctx, chromedp.Text("body"))
		t.Fatalf("%s: %v\n(at %s)\n%s", what, err, loc, body)
	}
}

// run runs one action with a deadline: a page that stops answering fails
// the test instead of hanging it.
func run[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(rctx, a)
}

// void runs an action for its effect or its wait, dropping its value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := a(ctx, t)
		return err
	})
}

// violation is the part of an axe-core result the test reports.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkAccessibility injects axe-core and fails on serious or critical
// violations of the page as shown.
func checkAccessibility(t *testing.T, ctx context.Context, pageName string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
		t.Fatalf("%s: inject axe-core: %v", pageName, err)
	}
	res, err := run(ctx, chromedp.Evaluate[struct {
		Violations []violation `json:"violations"`
		Passes     int         `json:"passes"`
	}](`axe.run(document).then(r => ({violations: r.violations, passes: r.passes.length}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", pageName, err)
	}
	if res.Passes == 0 {
		t.Fatalf("%s: axe-core checked nothing", pageName)
	}
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: accessibility (%s) %s: %s; nodes %v", pageName, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			t.Logf("%s: accessibility (%s) %s: %s", pageName, v.Impact, v.ID, v.Help)
		}
	}
}

// viewports are the phone and laptop sizes every page must fit.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{{"390x844", 390, 844, true}, {"1366x768", 1366, 768, false}, {"1920x1080", 1920, 1080, false}}

// screenshots captures the visible part of the page at each viewport into
// $CUBELAB_SCREENSHOTS (when set), and, for the trial, checks that the picture
// and both buttons are fully visible without scrolling.
func screenshots(t *testing.T, ctx context.Context, name string, trial bool) {
	t.Helper()
	dir := os.Getenv("CUBELAB_SCREENSHOTS")
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...),
			void(chromedp.Evaluate[bool]("window.scrollTo(0, 0), true")))
		if trial {
			visible, err := run(ctx, chromedp.Evaluate[[]string](`(() => {
				const off = [];
				for (const sel of ["#stimulus", "button[value=Yes]", "button[value=No]"]) {
					// The shown one: the script's buttons, or without JavaScript the plain ones.
					const el = [...document.querySelectorAll(sel)].find(e => e.getClientRects().length > 0);
					if (!el) { off.push(sel + " not shown"); continue; }
					const r = el.getBoundingClientRect();
					if (r.top < 0 || r.left < 0 || r.bottom > window.innerHeight || r.right > window.innerWidth || r.height < 40)
						off.push(sel + " " + JSON.stringify(r) + " in " + window.innerWidth + "x" + window.innerHeight);
				}
				return off;
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range visible {
				t.Errorf("trial at %s: not fully visible without scrolling: %s", vp.name, v)
			}
		}
		if dir != "" {
			png, err := run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+"-"+vp.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
}

// waitFor evaluates cond until it is true. Errors while the page navigates
// ("target navigated") are expected and retried until the deadline.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		ok, err = run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
	loc, _ := run(ctx, chromedp.Location())
	body, _ := run(ctx, chromedp.Text("body"))
	t.Fatalf("waiting for %s: %v\n(at %s)\n%s", what, err, loc, body)
}

// waitTrial waits until trial pos of total is shown with its picture
// painted and its answers alive (trial.js).
func waitTrial(t *testing.T, ctx context.Context, pos, total int) {
	t.Helper()
	label := fmt.Sprintf("%d of %d", pos, total)
	waitFor(t, ctx, "trial "+label, fmt.Sprintf(`(() => {
		const l = document.getElementById("progress-label"), i = document.getElementById("stimulus");
		const f = document.getElementById("answer");
		return !!(l && l.textContent === %q && i && i.complete && i.naturalWidth > 0 && document.readyState === "complete" &&
			f && f.dataset.state === "ready");
	})()`, label))
}

func TestBrowserStudy(t *testing.T) {
	t.Parallel()
	const n = 8
	e := newEnv(t, n)
	ctx := browser(t)

	// Record where the browser is sent, even when the page cannot load
	// (app.prolific.com is not reachable from a test).
	var mu sync.Mutex
	var navigations []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*page.EventFrameRequestedNavigation); ok {
			mu.Lock()
			navigations = append(navigations, ev.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	base := e.srv.URL + "/s/towers"
	step(t, ctx, "open the study link",
		chromedp.Navigate(base+"?PROLIFIC_PID="+pid(1)+"&STUDY_ID=60ffe5c8371090c7041d43f9&SESSION_ID=abc123"),
		chromedp.WaitVisible("button[value=yes]"))
	checkAccessibility(t, ctx, "consent")
	screenshots(t, ctx, "consent", false)

	step(t, ctx, "consent", chromedp.Click("button[value=yes]"), chromedp.WaitVisible("blockquote.prompt"))
	prompt, _ := run(ctx, chromedp.Text("blockquote.prompt"))
	if prompt != task.Tower.Prompt() {
		t.Errorf("instructions prompt = %q, want the verbatim %q", prompt, task.Tower.Prompt())
	}
	waitFor(t, ctx, "the example image", `document.querySelector(".example img").naturalWidth > 0`)
	checkAccessibility(t, ctx, "instructions")
	screenshots(t, ctx, "instructions", false)

	step(t, ctx, "instructions", chromedp.Click("a.button"), chromedp.WaitVisible("#age"))
	checkAccessibility(t, ctx, "demographics")
	step(t, ctx, "demographics",
		chromedp.SendKeys("#age", "34"),
		chromedp.SetValue("#gender", "Woman"),
		chromedp.Click("button[name=skip][value='']"))

	waitTrial(t, ctx, 1, n)
	prompt, _ = run(ctx, chromedp.Text("#prompt"))
	if prompt != task.Tower.Prompt() {
		t.Errorf("trial prompt = %q, want the verbatim %q", prompt, task.Tower.Prompt())
	}
	checkAccessibility(t, ctx, "trial")
	screenshots(t, ctx, "trial", true)

	// pressed[pos] is the answer given at each position, by whatever means.
	pressed := map[int]string{}
	key := func(pos int, k, answer string) {
		step(t, ctx, fmt.Sprintf("key %q on trial %d", k, pos), chromedp.KeyEvent(k))
		pressed[pos] = answer
		waitTrial(t, ctx, pos+1, n)
	}
	click := func(pos int, answer string) {
		step(t, ctx, fmt.Sprintf("click %s on trial %d", answer, pos), chromedp.Click("#answers button[value="+answer+"]"))
		pressed[pos] = answer
	}

	key(1, "y", task.Yes)
	key(2, kb.ArrowRight, task.No)
	key(3, "N", task.No)
	click(4, task.Yes)
	waitTrial(t, ctx, 5, n)

	// A reload in the middle resumes at the same trial.
	step(t, ctx, "reload", chromedp.Reload())
	waitTrial(t, ctx, 5, n)

	// A double click records one answer and moves on by exactly one trial.
	doubleClick(t, ctx, task.No, 100*time.Millisecond)
	pressed[5] = task.No
	waitTrial(t, ctx, 6, n)

	// The back button shows the current trial, not the one answered.
	step(t, ctx, "back", chromedp.NavigateBack())
	waitTrial(t, ctx, 6, n)

	key(6, kb.ArrowLeft, task.Yes)
	// A browser without SubmitEvent.submitter (Safari before 15.4): a
	// double click still records exactly one answer, the one clicked.
	hidden, err := run(ctx, chromedp.Evaluate[bool](`(() => {
		Object.defineProperty(SubmitEvent.prototype, "submitter", { get() { return undefined; }, configurable: true });
		return new SubmitEvent("submit").submitter === undefined;
	})()`))
	if err != nil || !hidden {
		t.Fatalf("hiding e.submitter: %v, %v", hidden, err)
	}
	doubleClick(t, ctx, task.No, 100*time.Millisecond)
	pressed[7] = task.No
	waitTrial(t, ctx, 8, n)
	click(8, task.Yes)

	step(t, ctx, "end page", chromedp.WaitVisible("#complete"))
	checkAccessibility(t, ctx, "end")
	screenshots(t, ctx, "end", false)
	wantURL := "https://app.prolific.com/submissions/complete?cc=TESTCODE1"
	href, err := run(ctx, chromedp.AttributeValue("#complete", "href"))
	if err != nil || href.Value != wantURL {
		t.Fatalf("completion link = %q (%v), want %q", href.Value, err, wantURL)
	}

	// The database holds exactly one answer per trial, as pressed, scored
	// against the stored ground truth, and the bonus that follows.
	rows, err := e.pool.Query(context.Background(), `
		SELECT r.position, r.answer, r.correct, s.answer, r.browser_rt_ms, r.server_rt_ms
		FROM responses r JOIN participants p ON p.id = r.participant_id
		JOIN trials t ON t.participant_id = r.participant_id AND t.position = r.position
		JOIN stimuli s ON s.id = t.stimulus_id
		WHERE p.prolific_pid = $1 ORDER BY r.position`, pid(1))
	if err != nil {
		t.Fatal(err)
	}
	correct, count := 0, 0
	for rows.Next() {
		var pos, serverRT int
		var answer, truth string
		var ok bool
		var browserRT *int
		if err := rows.Scan(&pos, &answer, &ok, &truth, &browserRT, &serverRT); err != nil {
			t.Fatal(err)
		}
		count++
		if pos != count || answer != pressed[pos] || ok != (answer == truth) {
			t.Errorf("response %d: position %d answer %s correct %v (truth %s); pressed %s", count, pos, answer, ok, truth, pressed[pos])
		}
		if browserRT == nil || serverRT < 0 {
			t.Errorf("response %d: browser RT %v, server RT %d; JavaScript was on, both must be stored", pos, browserRT, serverRT)
		}
		if ok {
			correct++
		}
	}
	if count != n {
		t.Fatalf("%d responses stored, want exactly %d", count, n)
	}
	var bonus int64
	var status string
	var age *int
	if err := e.pool.QueryRow(context.Background(), `SELECT status, bonus_minor, age FROM participants WHERE prolific_pid = $1`, pid(1)).
		Scan(&status, &bonus, &age); err != nil {
		t.Fatal(err)
	}
	if want := min(int64(correct)*10, int64(10*(n-1))); status != "completed" || bonus != want || age == nil || *age != 34 {
		t.Fatalf("participant: %s, bonus %d, age %v; want completed, %d (%d correct), 34", status, bonus, age, want, correct)
	}
	// The device was recorded from the page's script, with the browser's name.
	var kind, ua string
	var vw, vh int
	var scripted bool
	if err := e.pool.QueryRow(context.Background(), `SELECT kind, viewport_w, viewport_h, scripted, user_agent FROM participant_devices`).
		Scan(&kind, &vw, &vh, &scripted, &ua); err != nil {
		t.Fatalf("device record: %v", err)
	}
	if !scripted || kind == "" || vw <= 0 || vh <= 0 || !strings.Contains(ua, "Chrome") {
		t.Errorf("device record: kind %q, viewport %dx%d, scripted %v, user agent %q", kind, vw, vh, scripted, ua)
	}

	// An unconfirmed participant sees the bonus rule, not the score
	// (TestEndPageScore), and the completion code as text with a copy button.
	body, _ := run(ctx, chromedp.Text("dl.pay"))
	if strings.Contains(body, "correct)") || !strings.Contains(body, "£0.10 per correct answer") {
		t.Errorf("end page pay %q: want the bonus rule and no score", body)
	}
	if code, _ := run(ctx, chromedp.Text("#code")); code != "TESTCODE1" {
		t.Errorf("completion code shown as %q", code)
	}
	step(t, ctx, "copy the code", chromedp.Click("#copy"))
	waitFor(t, ctx, "the copy to be confirmed", `document.getElementById("copied").textContent !== ""`)

	// The countdown to the automatic redirect is shown and can be stopped.
	waitFor(t, ctx, "the countdown", `!document.getElementById("countdown").hidden`)
	step(t, ctx, "stay", chromedp.Click("#stay"))
	waitFor(t, ctx, "the countdown to hide", `document.getElementById("countdown").hidden`)

	// Following the link sends the browser to Prolific with the code.
	step(t, ctx, "complete", chromedp.Click("#complete"),
		chromedp.Sleep(500*time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	if len(navigations) == 0 || navigations[len(navigations)-1] != wantURL {
		t.Fatalf("navigations %v, want the last to be %s", navigations, wantURL)
	}
}
