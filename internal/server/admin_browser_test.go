package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
)

// adminShot saves the page at 1366x768 into $CUBELAB_SCREENSHOTS, when set.
func adminShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CUBELAB_SCREENSHOTS")
	if dir == "" {
		return
	}
	step(t, ctx, "viewport", chromedp.EmulateViewport(1366, 768), void(chromedp.Evaluate[bool]("window.scrollTo(0, 0), true")))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-"+name+"-1366x768.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fetchText GETs a URL from the page, with its cookies, and returns the body.
func fetchText(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.text())`, url),
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	return s
}

// TestBrowserAdmin: an experimenter logs in, creates and publishes a pool
// study, watches three participants (one returns midway) in the monitor
// without reloading, approves, exports a bonus batch, and a second export
// holds only the participant approved since.
func TestBrowserAdmin(t *testing.T) {
	t.Parallel()
	ctx0 := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	hash, err := account.Hash(adminPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAdmin(ctx0, adminEmail, hash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.ImportSet(ctx0, pgtest.TowerSet("pool-towers", 12)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(server.Config{Store: store}).Handler())
	t.Cleanup(srv.Close)
	ctx := browser(t)

	step(t, ctx, "open the admin", chromedp.Navigate(srv.URL+"/admin/"), chromedp.WaitVisible("#password"))
	step(t, ctx, "log in",
		chromedp.SendKeys("#email", adminEmail),
		chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("form button[type=submit]"),
		chromedp.WaitVisible(`a[href="/admin/studies/new"]`))

	step(t, ctx, "new study", chromedp.Click(`a[href="/admin/studies/new"]`), chromedp.WaitVisible("#title"))
	checkAccessibility(t, ctx, "admin study form")
	adminShot(t, ctx, "new-study")
	step(t, ctx, "fill the form",
		chromedp.SendKeys("#title", "Pool of towers"),
		chromedp.SendKeys("#slug", "pool-towers"),
		chromedp.Click("input[name=design][value=pool]"),
		chromedp.SetValue("#k", "4"),
		chromedp.SetValue("#r", "1"),
		// 11 items (t01 is the check), K = 4, R = 1: at most 3 places.
		chromedp.SetValue("#places", "3"),
		chromedp.SetValue("#per_correct", "0.05"),
		chromedp.SendKeys("#code", "POOLCODE1"),
		chromedp.SendKeys("#checks", "t01"),
		chromedp.Click("form.study-form button[type=submit]"),
		chromedp.WaitVisible(`button[name=status][value=published]`))
	step(t, ctx, "publish", chromedp.Click(`button[name=status][value=published]`), chromedp.WaitVisible(`button[name=status][value=paused]`))

	link, err := chromedp.Run(ctx, chromedp.Value("#study-link"))
	if err != nil {
		t.Fatal(err)
	}
	wantLink := srv.URL + "/s/pool-towers?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
	if link != wantLink {
		t.Errorf("study link = %q, want %q", link, wantLink)
	}
	studyPage, _ := chromedp.Run(ctx, chromedp.Location())
	// A mark on the window: it survives only if the table changes without a reload.
	step(t, ctx, "mark the page", void(chromedp.Evaluate[bool]("window.notReloaded = true")))

	// Participants work in a second tab of the same browser.
	pctx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	// Open the tab now: a tab first used under step's timeout would close with it.
	if err := chromedp.Do(pctx); err != nil {
		t.Fatal(err)
	}
	// participate answers n of the participant's 5 trials (4 pool items and
	// the attention check), correctly.
	participate := func(pid string, n int) {
		t.Helper()
		step(t, pctx, "open the link as "+pid,
			chromedp.Navigate(strings.NewReplacer("{{%PROLIFIC_PID%}}", pid, "{{%STUDY_ID%}}", "study1", "{{%SESSION_ID%}}", "sess1").Replace(link)),
			chromedp.WaitVisible("button[value=yes]"))
		step(t, pctx, "consent", chromedp.Click("button[value=yes]"), chromedp.WaitVisible("a.button"))
		step(t, pctx, "instructions", chromedp.Click("a.button"), chromedp.WaitVisible("button[name=skip][value=yes]"))
		step(t, pctx, "skip demographics", chromedp.Click("button[name=skip][value=yes]"))
		for pos := 1; pos <= n; pos++ {
			waitTrial(t, pctx, pos, 5)
			// The right answer, from the database: every finisher then has a
			// bonus above zero and belongs in a batch.
			var truth string
			if err := pool.QueryRow(ctx0, `SELECT s.answer FROM trials t JOIN participants p ON p.id = t.participant_id
				JOIN stimuli s ON s.id = t.stimulus_id WHERE p.prolific_pid = $1 AND t.position = $2`, pid, pos).Scan(&truth); err != nil {
				t.Fatal(err)
			}
			step(t, pctx, fmt.Sprintf("answer %d", pos), chromedp.Click("button[value="+truth+"]"))
		}
		if n == 5 {
			step(t, pctx, "end page", chromedp.WaitVisible("#complete"))
		} else {
			waitTrial(t, pctx, n+1, 5)
		}
	}
	row := func(p string) string { return `tr[data-pid="` + p + `"]` }
	statusIs := func(p, status string) string {
		return fmt.Sprintf(`(() => { const r = document.querySelector(%q); return !!r && r.querySelector(".badge").textContent === %q; })()`, row(p), status)
	}

	a, b, c := pid(101), pid(102), pid(103)
	participate(a, 5)
	waitFor(t, ctx, "A completed in the monitor", statusIs(a, "completed"))
	participate(b, 2)
	waitFor(t, ctx, "B started with 2 of 5", statusIs(b, "started")+` && document.querySelector(`+"`"+row(b)+"`"+`).textContent.includes("2/5")`)
	waitFor(t, ctx, "no reload so far", "window.notReloaded === true")

	// B returns on Prolific midway; the experimenter marks it, freeing all
	// of B's pool items, answered ones too, since only finishers' answers
	// count. Only A's remain held (the attention check is not a pool item).
	step(t, ctx, "mark B returned", chromedp.Click(row(b)+` form[action$="/return"] button`))
	waitFor(t, ctx, "B returned", statusIs(b, "returned"))
	var held, answeredA int
	if err := pool.QueryRow(ctx0, `SELECT (SELECT count(*) FROM pool_slots WHERE participant_id IS NOT NULL),
		(SELECT count(*) FROM responses r JOIN trials t USING (participant_id, position) JOIN participants p ON p.id = r.participant_id
			WHERE NOT t.is_attention_check AND p.prolific_pid = $1)`, a).
		Scan(&held, &answeredA); err != nil || held != answeredA || answeredA < 4 {
		t.Errorf("held slots after B returned: %d (%v), want the %d answered pool items of A", held, err, answeredA)
	}
	step(t, ctx, "approve A", chromedp.Click(row(a)+` form[action$="/approve"] button`))
	waitFor(t, ctx, "A approved", statusIs(a, "approved"))
	checkAccessibility(t, ctx, "admin study page")
	adminShot(t, ctx, "study")

	step(t, ctx, "payouts", chromedp.Navigate(studyPage+"/payouts"), chromedp.WaitVisible("#waiting"))
	step(t, ctx, "export bonuses", chromedp.Click(`form[action$="/payouts"] button`), chromedp.WaitVisible("#new-batch"))
	var bonusA int64
	if err := pool.QueryRow(ctx0, `SELECT bonus_minor FROM participants WHERE prolific_pid = $1`, a).Scan(&bonusA); err != nil {
		t.Fatal(err)
	}
	batch1 := fetchText(t, ctx, studyPage+"/payouts/1/bonuses.csv")
	if want := fmt.Sprintf("%s,%d.%02d\n", a, bonusA/100, bonusA%100); batch1 != want {
		t.Errorf("batch 1 = %q, want %q", batch1, want)
	}

	participate(c, 5)
	step(t, ctx, "back to the study", chromedp.Navigate(studyPage), chromedp.WaitVisible("#monitor"))
	step(t, ctx, "mark the page again", void(chromedp.Evaluate[bool]("window.notReloaded = true")))
	waitFor(t, ctx, "C completed", statusIs(c, "completed"))
	step(t, ctx, "approve C", chromedp.Click(row(c)+` form[action$="/approve"] button`))
	waitFor(t, ctx, "C approved", statusIs(c, "approved"))

	step(t, ctx, "payouts again", chromedp.Navigate(studyPage+"/payouts"), chromedp.WaitVisible("#waiting"))
	step(t, ctx, "export again", chromedp.Click(`form[action$="/payouts"] button`), chromedp.WaitVisible("#new-batch"))
	batch2 := fetchText(t, ctx, studyPage+"/payouts/2/bonuses.csv")
	if !strings.HasPrefix(batch2, c+",") || strings.Count(batch2, "\n") != 1 {
		t.Errorf("batch 2 = %q, want only C's line", batch2)
	}
	if again := fetchText(t, ctx, studyPage+"/payouts/1/bonuses.csv"); again != batch1 {
		t.Errorf("batch 1 downloaded again = %q, want the same %q", again, batch1)
	}
	step(t, ctx, "mark batch 1 paid", chromedp.Click(`tr[data-batch="1"] button`))
	waitFor(t, ctx, "batch 1 paid", `!document.querySelector('tr[data-batch="1"] button') && !!document.querySelector('tr[data-batch="2"] button') && document.readyState === "complete"`)
	paid, _ := chromedp.Run(ctx, chromedp.Text(`tr[data-batch="1"]`))
	if !strings.Contains(paid, "UTC") {
		t.Errorf("batch 1 row after mark paid: %q", paid)
	}
	checkAccessibility(t, ctx, "admin payouts")
	adminShot(t, ctx, "payouts")

	// The answers download: a header and one row per answer (5 + 2 + 5).
	answers := fetchText(t, ctx, studyPage+"/answers.csv")
	if lines := strings.Count(answers, "\n"); lines != 1+12 {
		t.Errorf("answers.csv has %d lines, want 13:\n%s", lines, answers)
	}
	step(t, ctx, "study list", chromedp.Navigate(srv.URL+"/admin/"), chromedp.WaitVisible("table.grid"))
	checkAccessibility(t, ctx, "admin study list")
	adminShot(t, ctx, "studies")
}
