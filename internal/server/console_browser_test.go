package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/task"
)

// checkAtSizes runs axe-core on the page at 1366x768 and at 1920x1080.
func checkAtSizes(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, vp := range []struct{ w, h int64 }{{1366, 768}, {1920, 1080}} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h))
		checkAccessibility(t, ctx, fmt.Sprintf("%s at %dx%d", name, vp.w, vp.h))
	}
	step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
}

// TestBrowserStudyConsole: a study's whole life in the console (issue 16,
// items 1, 2 and 6). The new-study form's set list follows the task; a pool
// study with more places than its ceiling is refused with the ceiling shown;
// published, its places, time limit and consent change while it runs and the
// page logs who changed what; a copy is made as a draft and deleted after a
// confirmation; the original is closed and archived, hidden from the list
// until asked for. axe-core at 1366x768 and 1920x1080 on every page;
// screenshots at three sizes of the list, the study page and the form.
func TestBrowserStudyConsole(t *testing.T) {
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
	if _, _, err := store.ImportSet(ctx0, pgtest.TowerSet("console-towers", 12)); err != nil {
		t.Fatal(err)
	}
	// A set of another task whose name sorts first: the form must not
	// offer it for towers.
	pyr := pgtest.TowerSet("a-pyramids", 3)
	for i := range pyr.Items {
		red := 0
		pyr.Items[i].Domain, pyr.Items[i].NRows, pyr.Items[i].RedRow, pyr.Items[i].Size = task.Pyramid, 2, &red, 2
	}
	if _, _, err := store.ImportSet(ctx0, pyr); err != nil {
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
	step(t, ctx, "new study", chromedp.Navigate(srv.URL+"/admin/studies/new"), chromedp.WaitVisible("#title"))
	chosenSet := func() string {
		s, err := run(ctx, chromedp.Evaluate[string](`document.querySelector("#set").selectedOptions[0].textContent`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := chosenSet(); !strings.HasPrefix(s, "console-towers") {
		t.Errorf("the new form's set for towers is %q", s)
	}
	step(t, ctx, "choose pyramids", chromedp.SetValue("#domain", "pyramid"),
		void(chromedp.Evaluate[bool](`document.querySelector("#domain").dispatchEvent(new Event("change")), true`)))
	if s := chosenSet(); !strings.HasPrefix(s, "a-pyramids") {
		t.Errorf("after choosing pyramids the set is %q", s)
	}
	step(t, ctx, "back to towers", chromedp.SetValue("#domain", "tower"),
		void(chromedp.Evaluate[bool](`document.querySelector("#domain").dispatchEvent(new Event("change")), true`)))
	if s := chosenSet(); !strings.HasPrefix(s, "console-towers") {
		t.Errorf("back to towers the set is %q", s)
	}

	// 12 items, R = 1, K = 4: at most 3 places; 30 are refused.
	step(t, ctx, "fill the form",
		chromedp.SendKeys("#title", "Console pool"),
		chromedp.SendKeys("#slug", "console-pool"),
		chromedp.Click("input[name=design][value=pool]"),
		chromedp.SetValue("#k", "4"),
		chromedp.SetValue("#r", "1"),
		chromedp.SetValue("#places", "30"),
		chromedp.SendKeys("#code", "CONSOLE1"),
		void(chromedp.Evaluate[bool](`document.querySelector("form.study-form").requestSubmit(), true`)),
		chromedp.WaitVisible(".error"))
	msg, _ := run(ctx, chromedp.Text(".error"))
	if !strings.Contains(msg, "fills at most 3 places") {
		t.Errorf("30 places on a pool of 3: %q", msg)
	}
	checkAtSizes(t, ctx, "study form with an error")
	screenshots(t, ctx, "console-form-error", false)
	step(t, ctx, "3 places",
		chromedp.SetValue("#places", "3"),
		void(chromedp.Evaluate[bool](`document.querySelector("form.study-form").requestSubmit(), true`)),
		chromedp.WaitVisible(`button[name=status][value=published]`))
	studyPage, _ := run(ctx, chromedp.Location())
	step(t, ctx, "publish", chromedp.Click(`button[name=status][value=published]`), chromedp.WaitVisible(`button[name=status][value=paused]`))
	waitFor(t, ctx, "the pool's slots", `!!document.querySelector("#pool-slots") && document.querySelector("#pool-slots").textContent.includes("Answers still needed")`)

	// Edit while running: places down to 2, the time limit, a typo in the consent.
	step(t, ctx, "edit", chromedp.Click("#edit-study"), chromedp.WaitVisible("#running-note"))
	disabled, _ := run(ctx, chromedp.Evaluate[bool](`document.querySelector("#k").matches(":disabled") && !document.querySelector("#places").matches(":disabled")`))
	if !disabled {
		t.Errorf("on a running study K is not disabled, or places is")
	}
	checkAtSizes(t, ctx, "study form of a running study")
	screenshots(t, ctx, "console-form-running", false)
	step(t, ctx, "change places, time and consent",
		chromedp.SetValue("#places", "2"),
		chromedp.SetValue("#minutes", "45"),
		chromedp.SetValue("#consent", "Fixed consent text."),
		void(chromedp.Evaluate[bool](`document.querySelector("form.study-form").requestSubmit(), true`)),
		chromedp.WaitVisible("ol.changes"))
	log, _ := run(ctx, chromedp.Text("ol.changes"))
	for _, want := range []string{"places 3 → 2", "time limit 30 min → 45 min", "consent text changed", adminEmail, "status draft → published"} {
		if !strings.Contains(log, want) {
			t.Errorf("the change log lacks %q:\n%s", want, log)
		}
	}
	checkAtSizes(t, ctx, "study page")
	screenshots(t, ctx, "console-study", false)

	// Duplicate as a draft; delete the copy after confirming.
	step(t, ctx, "duplicate", chromedp.Click("#duplicate-study"), chromedp.WaitVisible("#title"))
	title, _ := run(ctx, chromedp.Value("#title"))
	if title != "Copy of Console pool" {
		t.Errorf("the copy's title is %q", title)
	}
	step(t, ctx, "the copy's page", void(chromedp.Evaluate[bool](`document.querySelector(".actions a").click(), true`)),
		chromedp.WaitVisible("#delete-study"))
	step(t, ctx, "open delete", chromedp.Click("#delete-study summary"), chromedp.WaitVisible(`#delete-study button[type=submit]`))
	checkAtSizes(t, ctx, "draft with delete open")
	screenshots(t, ctx, "console-draft-delete-open", false)
	step(t, ctx, "delete", chromedp.Click(`#delete-study button[type=submit]`), chromedp.WaitVisible(`a[href="/admin/studies/new"]`))
	list, _ := run(ctx, chromedp.Text("main"))
	if strings.Contains(list, "Copy of Console pool") || !strings.Contains(list, "Console pool") {
		t.Errorf("after deleting the copy the list reads:\n%s", list)
	}

	// Close and archive: hidden from the list, shown on request.
	step(t, ctx, "back to the study", chromedp.Navigate(studyPage), chromedp.WaitVisible(`button[name=status][value=closed]`))
	step(t, ctx, "close", chromedp.Click(`button[name=status][value=closed]`), chromedp.WaitVisible("#archive-study"))
	step(t, ctx, "archive", chromedp.Click("#archive-study"), chromedp.WaitVisible("#unarchive-study"))
	step(t, ctx, "the list", chromedp.Navigate(srv.URL+"/admin/"), chromedp.WaitVisible("#archived-toggle"))
	list, _ = run(ctx, chromedp.Text("main"))
	if strings.Contains(list, "Console pool") {
		t.Errorf("the archived study is in the list:\n%s", list)
	}
	step(t, ctx, "show archived", chromedp.Click("#archived-toggle a"), chromedp.WaitVisible(".st-archived"))
	checkAtSizes(t, ctx, "study list with archived")
	screenshots(t, ctx, "console-list", false)

	// Accounts (item 7): the first account is an admin and has the page.
	step(t, ctx, "accounts", chromedp.Click(`a[href="/admin/accounts"]`), chromedp.WaitVisible(`tr[data-account="`+adminEmail+`"]`))
	checkAtSizes(t, ctx, "accounts")
	screenshots(t, ctx, "console-accounts", false)
	step(t, ctx, "make an account", chromedp.SetValue("#new-email", "carol@example.org"),
		chromedp.SetValue("#new-role", "experimenter"), chromedp.Click(`#account-new button[type=submit]`),
		chromedp.WaitVisible("#new-password"))
	if made, _ := run(ctx, chromedp.Text("#account-created")); !strings.Contains(made, "carol@example.org") {
		t.Errorf("the new account's notice says %q", made)
	}
	checkAtSizes(t, ctx, "accounts with a new password")
	screenshots(t, ctx, "console-account-made", false)
	step(t, ctx, "password page", chromedp.Click(`a.who`), chromedp.WaitVisible("#current"))
	step(t, ctx, "a wrong current password", chromedp.SetValue("#current", "not the password"),
		chromedp.SetValue("#new", "a long new password"), chromedp.SetValue("#repeat", "a long new password"),
		chromedp.Click(`form.narrow button[type=submit]`), chromedp.WaitVisible("#password-errors"))
	checkAtSizes(t, ctx, "password page with an error")
	screenshots(t, ctx, "console-password", false)
	step(t, ctx, "the study's members", chromedp.Navigate(studyPage), chromedp.WaitVisible("#members-h"))
	owner, _ := run(ctx, chromedp.Text("#members-h + p"))
	if !strings.Contains(owner, adminEmail) {
		t.Errorf("the study page names its owner as %q", owner)
	}
}
