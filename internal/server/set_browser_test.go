package server_test

import (
	"bytes"
	"context"
	"image"
	_ "image/png"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/study"
)

// draftOnSet adds a draft study on the review env's set.
func (e *reviewEnv) draftOnSet(t *testing.T) study.Study {
	t.Helper()
	st := e.study
	st.ID, st.Slug, st.Title, st.Status, st.AttentionCheckIDs = [16]byte{}, "draft", "Draft on the set", study.Draft, nil
	if err := e.store.CreateStudy(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *reviewEnv) checksOf(t *testing.T, st study.Study) string {
	t.Helper()
	got, err := e.store.StudyByID(context.Background(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.store.ExtIDs(context.Background(), got.AttentionCheckIDs)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(ext, ",")
}

var thumbRE = regexp.MustCompile(`<img src="(/admin/sets/review-set/thumbs/[0-9a-f-]+)" alt="([^"]+)"`)

// The set browser filters by task, size and answer; its thumbnails are made
// once, at most 160 px, and served as pictures are (nosniff, sandboxed); a
// draft study's attention checks are picked on it, page by page.
func TestSetBrowser(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	ctx := context.Background()
	draft := e.draftOnSet(t)

	_, page := e.get(t, e.c, "/admin/sets/review-set")
	if !strings.Contains(page, "Items 1–3 of 3.") || len(thumbRE.FindAllStringSubmatch(page, -1)) != 3 {
		t.Fatalf("set page does not show its 3 items")
	}
	// TowerSet: item i (t01 is 0) has 2 + i%3 blocks and the answer Yes when
	// i is even: t01 2 blocks Yes, t02 3 blocks No, t03 4 blocks Yes.
	_, page = e.get(t, e.c, "/admin/sets/review-set?answer=Yes")
	if m := thumbRE.FindAllStringSubmatch(page, -1); len(m) != 2 || !strings.Contains(m[0][2], "answer Yes") || !strings.Contains(m[1][2], "answer Yes") {
		t.Errorf("answer filter: %v", m)
	}
	_, page = e.get(t, e.c, "/admin/sets/review-set?size=3&domain=tower")
	if m := thumbRE.FindAllStringSubmatch(page, -1); len(m) != 1 || !strings.Contains(m[0][2], "3 blocks") {
		t.Errorf("size filter: %v", m)
	}
	_, page = e.get(t, e.c, "/admin/sets/review-set?size=99&answer=maybe")
	if !strings.Contains(page, "Items 1–3 of 3.") {
		t.Errorf("unknown filter values are not ignored")
	}

	thumb := thumbRE.FindStringSubmatch(page)[1]
	resp, body := e.get(t, e.c, thumb)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("thumbnail = %d %v", resp.StatusCode, resp.Header)
	}
	img, _, err := image.Decode(bytes.NewReader([]byte(body)))
	if err != nil || img.Bounds().Dx() > 160 || img.Bounds().Dy() > 160 || img.Bounds().Dx() < 100 {
		t.Fatalf("thumbnail does not decode to at most 160 px: %v %v", err, img)
	}
	var made time.Time
	if err := e.store.Pool().QueryRow(ctx, `SELECT made_at FROM stimulus_thumbnails`).Scan(&made); err != nil {
		t.Fatal(err)
	}
	if _, again := e.get(t, e.c, thumb); again != body {
		t.Error("the thumbnail changed between two requests")
	}
	var n int
	var made2 time.Time
	if err := e.store.Pool().QueryRow(ctx, `SELECT count(*), max(made_at) FROM stimulus_thumbnails`).Scan(&n, &made2); err != nil || n != 1 || !made2.Equal(made) {
		t.Errorf("after two requests: %d thumbnails made at %v and %v (%v), want one made once", n, made, made2, err)
	}
	if resp, _ := e.get(t, e.c, "/admin/sets/review-set/thumbs/"+draft.ID.String()); resp.StatusCode != 404 {
		t.Errorf("thumbnail of no item = %d, want 404", resp.StatusCode)
	}

	// Picking: the page of the draft has checkboxes; ticks replace the
	// checks among the items shown, and keep the others.
	_, page = e.get(t, e.c, "/admin/sets/review-set?study="+draft.ID.String())
	if strings.Count(page, `name="check"`) != 3 || !strings.Contains(page, `id="save-picks"`) {
		t.Fatal("no checkboxes to pick attention checks")
	}
	pick := func(st study.Study, shown, ticked []string) (int, string) {
		status, loc, _ := e.postForm(t, "/admin/studies/"+st.ID.String()+"/checks",
			url.Values{"shown": shown, "check": ticked, "back": {"answer=Yes"}})
		return status, loc
	}
	if status, loc := pick(draft, []string{"t01", "t02", "t03"}, []string{"t02", "t03"}); status != 303 || !strings.Contains(loc, "saved=1") || !strings.Contains(loc, "answer=Yes") {
		t.Fatalf("saving picks = %d %q", status, loc)
	}
	if got := e.checksOf(t, draft); got != "t02,t03" {
		t.Errorf("checks = %q, want t02,t03", got)
	}
	// A pick is an edit like the form's: a new version, and a line in the log.
	changes, err := e.store.StudyChanges(context.Background(), draft.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || changes[0].Version != draft.Version+1 || changes[0].Actor != adminEmail ||
		!strings.Contains(strings.ToLower(changes[0].What), "check") {
		t.Errorf("the pick is not logged as an edit: %+v (version before %d)", changes, draft.Version)
	}
	if status, _ := pick(draft, []string{"t03"}, nil); status != 303 {
		t.Fatal("unticking failed")
	}
	if got := e.checksOf(t, draft); got != "t02" {
		t.Errorf("checks after unticking t03 on its page = %q, want t02", got)
	}
	if status, _ := pick(draft, []string{"t01", "nope"}, []string{"nope"}); status != 400 {
		t.Errorf("picking an item of no set = %d, want 400", status)
	}
	if status, _ := pick(draft, []string{"t01"}, []string{"t02"}); status != 400 {
		t.Errorf("ticking an item not shown = %d, want 400", status)
	}
	if status, _ := pick(e.study, []string{"t01"}, []string{"t01"}); status != 409 {
		t.Errorf("picking the checks of a published study = %d, want 409", status)
	}
	_, page = e.get(t, e.c, "/admin/studies/"+draft.ID.String()+"/edit")
	if !strings.Contains(page, `id="pick-checks"`) {
		t.Error("the study form does not link to the set browser")
	}
}

// TestBrowserSetBrowser: an experimenter opens the set browser from a draft
// study's form, filters, picks an attention check by clicking its picture
// and saves; axe-core on the page at 1366x768 and 1920x1080.
func TestBrowserSetBrowser(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	draft := e.draftOnSet(t)
	ctx := browser(t)
	browserLogin(t, ctx, e.srv.URL)
	step(t, ctx, "study form", chromedp.Navigate(e.srv.URL+"/admin/studies/"+draft.ID.String()+"/edit"), chromedp.WaitVisible("#pick-checks"))
	step(t, ctx, "open the set browser", void(chromedp.Evaluate[bool](`document.querySelector("#pick-checks").click(), true`)))
	waitFor(t, ctx, "thumbnails", `document.querySelectorAll("#thumbs img").length === 3 &&
		[...document.querySelectorAll("#thumbs img")].every(i => i.complete && i.naturalWidth > 0) && document.readyState === "complete"`)
	for _, vp := range []struct{ w, h int64 }{{1366, 768}, {1920, 1080}} {
		step(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h))
		checkAccessibility(t, ctx, "set browser")
		over, err := run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil || over {
			t.Errorf("set browser overflows at %dx%d", vp.w, vp.h)
		}
	}
	// A click on the picture ticks its box.
	step(t, ctx, "click t02", chromedp.Click(`li[data-id="t02"] img`))
	checked, err := run(ctx, chromedp.Evaluate[bool](`document.querySelector('li[data-id="t02"] input').checked`))
	if err != nil || !checked {
		t.Fatalf("clicking the picture did not tick it: %v", err)
	}
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		step(t, ctx, "viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		shot(t, ctx, "set-browser", vp.width, vp.height)
	}
	step(t, ctx, "laptop", chromedp.EmulateViewport(1366, 768))
	step(t, ctx, "save", void(chromedp.Evaluate[bool](`document.querySelector("#save-picks").click(), true`)))
	waitFor(t, ctx, "saved", `!!document.querySelector("#picks-saved") && document.readyState === "complete"`)
	if got := e.checksOf(t, draft); got != "t02" {
		t.Errorf("checks = %q, want t02", got)
	}
	// Filter by answer with the form.
	step(t, ctx, "filter No", chromedp.SetValue("#b-answer", "No"), void(chromedp.Evaluate[bool](`document.querySelector("#set-filter button").click(), true`)))
	waitFor(t, ctx, "filtered", `location.search.includes("answer=No") && document.querySelectorAll("#thumbs li").length === 1`)
	checkAccessibility(t, ctx, "set browser, filtered")
}
