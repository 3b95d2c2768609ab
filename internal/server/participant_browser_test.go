package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cubelab/cubelab/internal/task"
)

// The participant method in a real browser (issue 10): every recorded answer
// is one the participant saw and meant.

// browserJoin opens the study link as participant i and walks to the first
// trial's page (without waiting for it).
func browserJoin(t *testing.T, ctx context.Context, e *env, i int) {
	t.Helper()
	// Waits poll by Evaluate, which also works with the page's scripts off.
	step(t, ctx, "open the study link",
		chromedp.Navigate(e.srv.URL+"/s/towers?PROLIFIC_PID="+pid(i)+"&STUDY_ID="+prolificStudy+"&SESSION_ID="+session(i)))
	waitFor(t, ctx, "the consent page", `!!document.querySelector("button[value=yes]") && document.readyState === "complete"`)
	step(t, ctx, "consent", chromedp.Click("button[value=yes]"))
	waitFor(t, ctx, "the instructions", `!!document.querySelector("a.button") && document.readyState === "complete"`)
	step(t, ctx, "instructions", chromedp.Click("a.button"))
	waitFor(t, ctx, "the questions about you", `!!document.querySelector("#age") && document.readyState === "complete"`)
}

// answers returns participant i's stored answers by position.
func (e *env) answers(t *testing.T, i int) map[int]string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `
		SELECT r.position, r.answer FROM responses r JOIN participants p ON p.id = r.participant_id
		WHERE p.prolific_pid = $1`, pid(i))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]string{}
	for rows.Next() {
		var pos int
		var a string
		if err := rows.Scan(&pos, &a); err != nil {
			t.Fatal(err)
		}
		got[pos] = a
	}
	return got
}

// buttonCentre is where a mouse presses the answer button of value.
func buttonCentre(t *testing.T, ctx context.Context, value string) (x, y float64) {
	t.Helper()
	c, err := run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const r = document.querySelector("#answers button[value=%s]").getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2];
	})()`, value)))
	if err != nil || len(c) != 2 {
		t.Fatalf("where is the %s button: %v %v", value, c, err)
	}
	return c[0], c[1]
}

// press dispatches one mouse press and release at x, y, as the count-th click
// of a series (2: the second click of a double click).
func press(t *testing.T, ctx context.Context, x, y float64, count int64) {
	t.Helper()
	for _, typ := range []input.DispatchMouseEventType{chromedp.MousePressed, chromedp.MouseReleased} {
		if _, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{
			Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, ClickCount: count,
		}); err != nil {
			t.Fatalf("mouse: %v", err)
		}
	}
}

// doubleClick clicks the button of value twice, gap apart, as a person's
// double click: the second press is the series' second click.
func doubleClick(t *testing.T, ctx context.Context, value string, gap time.Duration) {
	t.Helper()
	x, y := buttonCentre(t, ctx, value)
	press(t, ctx, x, y, 1)
	time.Sleep(gap)
	press(t, ctx, x, y, 2)
}

// keyEvents are the protocol events of typing r: those that press it (key
// down and the character) and the release.
func keyEvents(r rune) (down, up []*input.DispatchKeyEventParams) {
	for _, k := range kb.Encode(r) {
		if k.Type == input.DispatchKeyEventTypeKeyUp {
			up = append(up, k)
		} else {
			down = append(down, k)
		}
	}
	return down, up
}

func dispatchKeys(t *testing.T, ctx context.Context, ks []*input.DispatchKeyEventParams, repeat bool) {
	t.Helper()
	for _, k := range ks {
		p := *k
		p.AutoRepeat = &repeat
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, p); err != nil {
			t.Fatalf("key: %v", err)
		}
	}
}

// TestBrowserOneAnswerPerTrial: a double click at 20 to 400 ms, two key
// presses 150 ms apart, and a key held across the page change each answer
// exactly one trial. Each double input on trial k is followed by one key
// press on trial k+1 once its answers are alive; had the second input
// answered trial k+1, that press would land on k+2 and the stored answers
// would differ from those meant.
func TestBrowserOneAnswerPerTrial(t *testing.T) {
	t.Parallel()
	const n = 14
	e := newEnv(t, n)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "skip the questions", chromedp.Click("button[name=skip][value=yes]"))

	meant := map[int]string{}
	pos := 1
	next := func(k rune, answer string) {
		t.Helper()
		waitTrial(t, ctx, pos, n)
		down, up := keyEvents(k)
		dispatchKeys(t, ctx, down, false)
		dispatchKeys(t, ctx, up, false)
		meant[pos] = answer
		pos++
	}
	for _, gap := range []time.Duration{20, 80, 150, 250, 400} {
		waitTrial(t, ctx, pos, n)
		doubleClick(t, ctx, task.No, gap*time.Millisecond)
		meant[pos] = task.No
		pos++
		next('y', task.Yes)
	}

	// Two presses of N 150 ms apart.
	waitTrial(t, ctx, pos, n)
	down, up := keyEvents('n')
	dispatchKeys(t, ctx, down, false)
	dispatchKeys(t, ctx, up, false)
	time.Sleep(150 * time.Millisecond)
	dispatchKeys(t, ctx, down, false)
	dispatchKeys(t, ctx, up, false)
	meant[pos] = task.No
	pos++
	next('y', task.Yes)

	// Y held down: the first press answers; the key's auto-repeat goes on
	// while the next page loads and after its answers come alive.
	waitTrial(t, ctx, pos, n)
	down, up = keyEvents('y')
	dispatchKeys(t, ctx, down, false)
	meant[pos] = task.Yes
	pos++
	label := fmt.Sprintf("%d of %d", pos, n)
	for range 200 {
		dispatchKeys(t, ctx, down, true)
		ready, _ := run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
			const f = document.getElementById("answer"), l = document.getElementById("progress-label");
			return !!(f && l && l.textContent === %q && f.dataset.state === "ready");
		})()`, label)))
		if ready {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 5 {
		dispatchKeys(t, ctx, down, true)
	}
	dispatchKeys(t, ctx, up, false)
	next('n', task.No)
	step(t, ctx, "end page", chromedp.WaitVisible("#complete"))

	got := e.answers(t, 1)
	if len(got) != n {
		t.Errorf("%d answers stored, want %d", len(got), n)
	}
	for p := 1; p <= n; p++ {
		if got[p] != meant[p] {
			t.Errorf("trial %d: stored %q, meant %q (all stored: %v)", p, got[p], meant[p], got)
		}
	}
	// Every answer came from the script, with a picture served and painted.
	if c := e.count(t, `SELECT count(*) FROM responses WHERE timed AND image_ms IS NOT NULL
		AND NOT ('no_image' = ANY(flags)) AND browser_rt_ms IS NOT NULL AND image_px > 0`); c != n {
		t.Errorf("%d of %d answers carry the script's timing and a served picture", c, n)
	}
}

// TestBrowserSlowNetwork: on a cold cache at 400 kbit/s and 400 ms latency,
// a participant pressing Y from the moment the trial page arrives answers
// only after the picture has arrived, and the answer is not flagged no_image.
func TestBrowserSlowNetwork(t *testing.T) {
	t.Parallel()
	const n = 2
	e := newEnv(t, n)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)

	var mu sync.Mutex
	requests := map[network.RequestID]string{}
	var pageArrived, imageDone, answerSent time.Time
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests[ev.RequestID] = ev.Request.Method + " " + ev.Request.URL
			if ev.Request.Method == "POST" && strings.HasSuffix(ev.Request.URL, "/s/towers/trial") && answerSent.IsZero() {
				answerSent = time.Now()
			}
		case *network.EventResponseReceived:
			if requests[ev.RequestID] == "GET "+e.srv.URL+"/s/towers/trial" && pageArrived.IsZero() {
				pageArrived = time.Now()
			}
		case *network.EventLoadingFinished:
			if strings.Contains(requests[ev.RequestID], "/s/towers/image/1?") && imageDone.IsZero() {
				imageDone = time.Now()
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Latency: 400, DownloadThroughput: 400_000 / 8, UploadThroughput: 400_000 / 8}},
	}); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "skip the questions", chromedp.Click("button[name=skip][value=yes]"))

	// Press Y from then on, until the answer is sent; once the trial is
	// shown, click Yes too. The key presses that reached the browser between
	// the page's arrival and the picture's are those the gate had to stop.
	down, up := keyEvents('y')
	var pressed []time.Time
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		sent, arrived := !answerSent.IsZero(), !pageArrived.IsZero()
		mu.Unlock()
		if sent {
			break
		}
		dispatchKeys(t, ctx, down, false)
		dispatchKeys(t, ctx, up, false)
		pressed = append(pressed, time.Now())
		if arrived {
			if x, y, err := centreOf(ctx, task.Yes); err == nil {
				press(t, ctx, x, y, 1)
			}
		}
	}
	// The listener needs the lock to go on, and chromedp needs the listener:
	// read the times and let go before driving the browser again.
	mu.Lock()
	arrived, imageAt, sentAt := pageArrived, imageDone, answerSent
	mu.Unlock()
	if sentAt.IsZero() || imageAt.IsZero() || sentAt.Before(imageAt) {
		t.Fatalf("picture loaded at %v, answer sent at %v: the answer must follow the picture", imageAt, sentAt)
	}
	early := 0
	for _, at := range pressed {
		if at.After(arrived) && at.Before(imageAt) {
			early++
		}
	}
	if early == 0 {
		t.Errorf("no key press fell between the page (%v) and its picture (%v); the test did not test the gate", arrived, imageAt)
	}
	t.Logf("%d key presses between the page and its picture were ignored", early)
	// The answer is committed before the next page comes.
	waitTrial(t, ctx, 2, n)
	if c := e.count(t, `SELECT count(*) FROM responses WHERE position = 1 AND image_ms IS NOT NULL AND NOT ('no_image' = ANY(flags))`); c != 1 {
		t.Errorf("the first answer is not stored with its picture served (%d)", c)
	}
}

// centreOf is buttonCentre without failing, for a page that may be changing.
func centreOf(ctx context.Context, value string) (x, y float64, err error) {
	c, err := run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const b = document.querySelector("#answers button[value=%s]");
		if (!b) return [];
		const r = b.getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2];
	})()`, value)))
	if err != nil || len(c) != 2 {
		return 0, 0, fmt.Errorf("no button")
	}
	return c[0], c[1], nil
}

// TestBrowserNoScript: with JavaScript off the whole study works by plain
// forms, and every answer is stored as untimed.
func TestBrowserNoScript(t *testing.T) {
	t.Parallel()
	const n = 3
	e := newEnv(t, n)
	ctx := browser(t)
	scripts(t, ctx, false)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.SendKeys("#age", "40"), chromedp.Click("button[name=skip][value='']"))
	for pos := 1; pos <= n; pos++ {
		label := fmt.Sprintf("%d of %d", pos, n)
		waitFor(t, ctx, "trial "+label, fmt.Sprintf(`(() => {
			const l = document.getElementById("progress-label"), b = document.querySelector(".answers:not(.scripted) button[value=Yes]");
			return !!(l && l.textContent === %q && b && b.getClientRects().length > 0 && document.readyState === "complete");
		})()`, label))
		if pos == 1 {
			checkAccessibilityNoScript(t, ctx, e.srv.URL, "trial")
			screenshots(t, ctx, "trial-noscript", true)
		}
		step(t, ctx, "answer "+label, chromedp.Click(".answers:not(.scripted) button[value=Yes]"))
	}
	step(t, ctx, "end page", chromedp.WaitVisible("#complete"))
	if c := e.count(t, `SELECT count(*) FROM responses WHERE timed = false AND browser_rt_ms IS NULL`); c != n {
		t.Fatalf("%d of %d answers stored as untimed", c, n)
	}
}

// prolificStudy is the STUDY_ID the tests' links carry.
const prolificStudy = "60ffe5c8371090c7041d43f9"

// session makes participant i's Prolific SESSION_ID.
func session(i int) string { return fmt.Sprintf("%024x", 0x5e5000+i) }

// scripts turns the page's JavaScript on or off.
func scripts(t *testing.T, ctx context.Context, on bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		t.Fatal(err)
	}
}
