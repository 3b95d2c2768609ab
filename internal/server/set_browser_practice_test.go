package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/study"
)

// practiceOf lists a study's picked practice items by manifest id.
func (e *reviewEnv) practiceOf(t *testing.T, st study.Study) (string, int) {
	t.Helper()
	got, err := e.store.StudyByID(context.Background(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.store.ExtIDs(context.Background(), got.PracticeIDs)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(ext, ","), got.PracticeItems
}

// TestSetBrowserPickPractice: practice items are picked in the set browser
// as attention checks are (issue 16, item 5): ticks replace the picks among
// the items shown, the count follows, and the checks are left alone.
func TestSetBrowserPickPractice(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	draft := e.draftOnSet(t)
	_, form := e.get(t, e.c, "/admin/studies/"+draft.ID.String()+"/edit")
	if !strings.Contains(form, `id="pick-practice"`) || !strings.Contains(form, "pick=practice") {
		t.Fatal("the study form has no link to pick practice items")
	}
	_, page := e.get(t, e.c, "/admin/sets/review-set?pick=practice&study="+draft.ID.String())
	if !strings.Contains(page, "Choosing practice items") || !strings.Contains(page, "Save practice items") ||
		!strings.Contains(page, `action="/admin/studies/`+draft.ID.String()+`/practice-items"`) || !strings.Contains(page, `name="pick" value="practice"`) {
		t.Fatalf("the set browser does not pick practice items:\n%s", page)
	}
	pick := func(shown, ticked []string) (int, string) {
		status, loc, _ := e.postForm(t, "/admin/studies/"+draft.ID.String()+"/practice-items",
			url.Values{"shown": shown, "check": ticked, "back": {"answer=Yes"}})
		return status, loc
	}
	if status, loc := pick([]string{"t01", "t02", "t03"}, []string{"t01", "t03"}); status != 303 ||
		!strings.Contains(loc, "pick=practice") || !strings.Contains(loc, "saved=1") {
		t.Fatalf("saving practice picks = %d %q", status, loc)
	}
	if got, n := e.practiceOf(t, draft); got != "t01,t03" || n != 2 {
		t.Fatalf("practice = %q (%d), want t01,t03 (2)", got, n)
	}
	if e.checksOf(t, draft) != "" {
		t.Error("picking practice items changed the attention checks")
	}
	_, page = e.get(t, e.c, "/admin/sets/review-set?pick=practice&study="+draft.ID.String())
	if strings.Count(page, "checked") != 2 {
		t.Errorf("the picked practice items are not ticked on the page")
	}
	if status, _ := pick([]string{"t01"}, nil); status != 303 {
		t.Fatal("unticking failed")
	}
	if got, n := e.practiceOf(t, draft); got != "t03" || n != 1 {
		t.Fatalf("practice after unticking t01 = %q (%d)", got, n)
	}
	if status, _ := pick([]string{"t01"}, []string{"t01"}); status != 303 {
		t.Fatal("picking again failed")
	}
	// A published study's practice is fixed.
	if status, _, _ := e.postForm(t, "/admin/studies/"+e.study.ID.String()+"/practice-items",
		url.Values{"shown": {"t01"}, "check": {"t01"}}); status != 409 {
		t.Errorf("picking the practice of a published study = %d, want 409", status)
	}
}

// TestBrowserSetBrowserPractice: from the study form to the set browser,
// a click on a picture ticks it as a practice item; axe-core and
// screenshots of the page.
func TestBrowserSetBrowserPractice(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	draft := e.draftOnSet(t)
	ctx := browser(t)
	browserLogin(t, ctx, e.srv.URL)
	step(t, ctx, "study form", chromedp.Navigate(e.srv.URL+"/admin/studies/"+draft.ID.String()+"/edit"), chromedp.WaitVisible("#pick-practice"))
	checkAccessibility(t, ctx, "study form with the practice, breaks and instructed checks")
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...),
			void(chromedp.Evaluate[bool](`document.querySelector("#instructed").scrollIntoView({block: "start"}), true`)))
		shot(t, ctx, "study-form-checks-practice", vp.width, vp.height)
	}
	step(t, ctx, "laptop", chromedp.EmulateViewport(1366, 768))
	step(t, ctx, "open the set browser", void(chromedp.Evaluate[bool](`document.querySelector("#pick-practice").click(), true`)))
	waitFor(t, ctx, "thumbnails", `document.querySelectorAll("#thumbs img").length === 3 &&
		[...document.querySelectorAll("#thumbs img")].every(i => i.complete && i.naturalWidth > 0) && document.readyState === "complete"`)
	step(t, ctx, "click t02", chromedp.Click(`li[data-id="t02"] img`))
	checkAccessibility(t, ctx, "set browser picking practice")
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		shot(t, ctx, "set-browser-practice", vp.width, vp.height)
	}
	step(t, ctx, "laptop", chromedp.EmulateViewport(1366, 768))
	step(t, ctx, "save", void(chromedp.Evaluate[bool](`document.querySelector("#save-picks").click(), true`)))
	waitFor(t, ctx, "saved", `!!document.querySelector("#picks-saved") && document.readyState === "complete"`)
	if got, _ := e.practiceOf(t, draft); got != "t02" {
		t.Errorf("practice = %q, want t02", got)
	}
}
