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
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/prolific/prolifictest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
)

// proShots saves the page, whole, at the three sizes every changed page is
// looked at in, into $CUBELAB_PROLIFIC_SHOTS when set.
func proShots(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CUBELAB_PROLIFIC_SHOTS")
	if dir == "" {
		return
	}
	for _, sz := range [][2]int64{{390, 844}, {1366, 768}, {1920, 1080}} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(sz[0], sz[1]), void(chromedp.Evaluate[bool]("window.scrollTo(0, 0), true")))
		png, err := run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, sz[0], sz[1])), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(t, ctx, "viewport back", chromedp.EmulateViewport(1366, 768))
}

// TestBrowserProlific: an experimenter links a pool study to a Prolific
// study (the stand-in) and publishes it from cubelab; three participants
// come from Prolific; one returns on Prolific midway and one sync frees
// her slots; the two who finished are approved in one bulk approval, which
// reaches Prolific; their bonus batch is paid on Prolific and shows paid.
func TestBrowserProlific(t *testing.T) {
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
	setID, _, err := store.ImportSet(ctx0, pgtest.TowerSet("pro-towers", 12))
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{Slug: "pro-towers", Title: "Towers on Prolific", Domain: "tower", SetID: setID, Design: study.Pool,
		ItemsPerParticipant: 4, ResponsesPerItem: 1, Places: 10, TimeLimitMinutes: 30, ConsentText: "You agree.",
		InstructionsText: "Answer.", Pay: study.Pay{BaseMinor: 150, PerCorrectMinor: 5, MaxBonusMinor: 20, Currency: "GBP"},
		CompletionCode: "PROCODE1", Status: study.Draft}
	if err := store.CreateStudy(ctx0, &st); err != nil {
		t.Fatal(err)
	}
	ps := prolifictest.New()
	t.Cleanup(ps.Close)
	proStudy := ps.AddStudy("Towers on Prolific", 3)
	srv := httptest.NewServer(server.New(func() server.Config { c := proConfig(ps); c.Store = store; return c }()).Handler())
	t.Cleanup(srv.Close)
	ctx := browser(t)
	studyPage := srv.URL + "/admin/studies/" + st.ID.String()

	step(t, ctx, "log in", chromedp.Navigate(studyPage), chromedp.WaitVisible("#password"),
		chromedp.SendKeys("#email", adminEmail), chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("form button[type=submit]"), chromedp.WaitVisible("#pro-id"))
	checkAccessibility(t, ctx, "study page, Prolific not linked")
	proShots(t, ctx, "study-unlinked")

	step(t, ctx, "link", chromedp.SendKeys("#pro-id", proStudy), chromedp.Click(`form[action$="/prolific/link"] button`),
		chromedp.WaitVisible("#pro-publish"))
	// "Sync now" is on the page before publishing too: wait for the publish
	// button to go, which happens only once Prolific says the study is live.
	step(t, ctx, "publish", chromedp.Click("#pro-publish"), chromedp.WaitNotPresent("#pro-publish"), chromedp.WaitVisible("#pro-sync"))
	if s, _ := ps.Study(proStudy); s.Status != "ACTIVE" {
		t.Fatalf("Prolific study is %s after publishing", s.Status)
	}
	if got, _ := store.StudyByID(ctx0, st.ID); got.Status != study.Published {
		t.Fatalf("cubelab study is %s after publishing", got.Status)
	}

	pctx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(pctx); err != nil {
		t.Fatal(err)
	}
	participate := func(pid, session string, n int) {
		t.Helper()
		step(t, pctx, "open the link as "+pid,
			chromedp.Navigate(srv.URL+"/s/pro-towers?PROLIFIC_PID="+pid+"&STUDY_ID="+proStudy+"&SESSION_ID="+session),
			chromedp.WaitVisible("button[value=yes]"))
		step(t, pctx, "consent", chromedp.Click("button[value=yes]"), chromedp.WaitVisible("a.button"))
		step(t, pctx, "instructions", chromedp.Click("a.button"), chromedp.WaitVisible("button[name=skip][value=yes]"))
		step(t, pctx, "skip demographics", chromedp.Click("button[name=skip][value=yes]"))
		for pos := 1; pos <= n; pos++ {
			waitTrial(t, pctx, pos, 4)
			var truth string
			if err := pool.QueryRow(ctx0, `SELECT s.answer FROM trials t JOIN participants p ON p.id = t.participant_id
				JOIN stimuli s ON s.id = t.stimulus_id WHERE p.prolific_pid = $1 AND t.position = $2`, pid, pos).Scan(&truth); err != nil {
				t.Fatal(err)
			}
			step(t, pctx, fmt.Sprintf("answer %d", pos), chromedp.Click("button[value="+truth+"]"))
		}
		if n == 4 {
			step(t, pctx, "end page", chromedp.WaitVisible("#complete"))
		} else {
			waitTrial(t, pctx, n+1, 4)
		}
	}
	a, b, c := prolifictest.NewID(), prolifictest.NewID(), prolifictest.NewID()
	sa, sb, sc := ps.Start(proStudy, a), ps.Start(proStudy, b), ps.Start(proStudy, c)
	participate(a, sa, 4)
	participate(b, sb, 2)
	participate(c, sc, 4)
	held := func() int {
		var n int
		if err := pool.QueryRow(ctx0, `SELECT count(*) FROM pool_slots WHERE study_id = $1 AND participant_id IS NOT NULL`, st.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if h := held(); h != 12 {
		t.Fatalf("held slots %d, want 12", h)
	}
	ps.SetStatus(sb, prolific.StatusReturned)
	ps.SetStatus(sa, prolific.StatusAwaitingReview)
	ps.SetStatus(sc, prolific.StatusAwaitingReview)

	row := func(p string) string { return `tr[data-pid="` + p + `"]` }
	statusIs := func(p, status string) string {
		return fmt.Sprintf(`(() => { const r = document.querySelector(%q); return !!r && r.querySelector(".badge").textContent === %q; })()`, row(p), status)
	}
	step(t, ctx, "sync now", chromedp.Navigate(studyPage), chromedp.WaitVisible("#pro-sync"), chromedp.Click("#pro-sync"),
		chromedp.WaitVisible("#pro-sync"))
	waitFor(t, ctx, "B returned after one sync", statusIs(b, "returned"))
	if h := held(); h != 8 {
		t.Fatalf("after one sync, held slots %d, want 8 (B's 4 freed)", h)
	}
	waitFor(t, ctx, "A awaiting review on Prolific", fmt.Sprintf(`document.querySelector(%q).textContent.includes("Prolific: AWAITING REVIEW")`, row(a)))

	step(t, ctx, "bulk approve", chromedp.Click("#bulk-approve button"), chromedp.WaitVisible("#confirm"))
	if txt, _ := run(ctx, chromedp.Text("main")); !strings.Contains(txt, "cannot be undone") {
		t.Errorf("the confirmation of an approval sent to Prolific does not say it is final:\n%s", txt)
	}
	step(t, ctx, "confirm", chromedp.Click("#confirm"), chromedp.WaitVisible("#bulk-approve"))
	waitFor(t, ctx, "A approved", statusIs(a, "approved"))
	waitFor(t, ctx, "C approved", statusIs(c, "approved"))
	for _, s := range []string{sa, sc} {
		if sub, _ := ps.Submission(s); sub.Status != prolific.StatusApproved {
			t.Fatalf("submission %s is %s on Prolific after the bulk approval", s, sub.Status)
		}
	}
	// Mark this page so the wait below sees the page the sync answers with,
	// not this one, which has the same button.
	waitFor(t, ctx, "mark the page", `(document.documentElement.dataset.old = "1") === "1"`)
	step(t, ctx, "sync again", chromedp.Click("#pro-sync"))
	waitFor(t, ctx, "the page after the sync", `!document.documentElement.dataset.old && document.readyState === "complete" && !!document.querySelector("#pro-sync")`)
	checkAccessibility(t, ctx, "study page, Prolific linked")
	proShots(t, ctx, "study-linked")

	step(t, ctx, "payouts", chromedp.Navigate(studyPage+"/payouts"), chromedp.WaitVisible("#waiting"))
	step(t, ctx, "export bonuses", chromedp.Click(`form[action$="/payouts"] button`), chromedp.WaitVisible(`tr[data-batch="1"]`))
	step(t, ctx, "pay on Prolific", chromedp.Click(`tr[data-batch="1"] form[action$="/pay"] button`))
	waitFor(t, ctx, "batch 1 paid on Prolific", `(() => { const r = document.querySelector('tr[data-batch="1"]');
		return !!r && r.textContent.includes("paid on Prolific") && document.readyState === "complete"; })()`)
	if ps.Payments() != 1 || ps.Paid(a) == 0 || ps.Paid(c) == 0 || ps.Paid(b) != 0 {
		t.Fatalf("payments %d; paid A %d, B %d, C %d", ps.Payments(), ps.Paid(a), ps.Paid(b), ps.Paid(c))
	}
	checkAccessibility(t, ctx, "payouts, paid on Prolific")
	proShots(t, ctx, "payouts")

	step(t, ctx, "settings", chromedp.Navigate(srv.URL+"/admin/prolific"), chromedp.WaitVisible("#token-status"))
	if text, _ := run(ctx, chromedp.Text("body")); strings.Contains(text, prolifictest.Token) || !strings.Contains(text, "The token works") {
		t.Fatalf("settings page:\n%s", text)
	}
	checkAccessibility(t, ctx, "Prolific settings")
	proShots(t, ctx, "settings")
}
