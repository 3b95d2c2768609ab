package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/cubelab/cubelab/web"
)

// The set browser (issue 16, item 5): a page per stimulus set with a grid of
// thumbnails, and the place to pick a draft study's attention checks.

// setPageSize is how many thumbnails a page of the browser shows.
const setPageSize = 96

// setURL is a set's browser page.
func setURL(name string) string { return "/admin/sets/" + url.PathEscape(name) }

// browserFilter reads the browser's filter from the query, keeping only
// values the set has.
func browserFilter(q url.Values, f postgres.SetFacets) web.SetBrowserFilter {
	v := web.SetBrowserFilter{Domain: q.Get("domain"), Size: q.Get("size"), Answer: q.Get("answer"), Study: q.Get("study"), Pick: q.Get("pick")}
	if v.Pick != pickPractice {
		v.Pick = ""
	}
	if !slices.Contains(f.Domains, v.Domain) {
		v.Domain = ""
	}
	if n, err := strconv.Atoi(v.Size); err != nil || !slices.Contains(f.Sizes, n) {
		v.Size = ""
	}
	if v.Answer != task.Yes && v.Answer != task.No {
		v.Answer = ""
	}
	if _, err := uuid.Parse(v.Study); err != nil {
		v.Study = ""
	}
	v.Page, _ = strconv.Atoi(q.Get("page"))
	v.Page = min(max(v.Page, 1), maxPage)
	return v
}

// browserQuery is the browser's filter as a query string.
func browserQuery(f web.SetBrowserFilter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"domain": f.Domain, "size": f.Size, "answer": f.Answer, "study": f.Study, "pick": f.Pick} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Page > 1 {
		q.Set("page", strconv.Itoa(f.Page))
	}
	return q
}

// sizeWord is what a size counts in a task.
func sizeWord(domain string, n int) string {
	word := "rows"
	if domain == string(task.Tower) {
		word = "blocks"
	}
	if n == 1 {
		word = word[:len(word)-1]
	}
	return strconv.Itoa(n) + " " + word
}

// handleSetBrowser is a set's page: a grid of thumbnails, filtered; with
// ?study= a draft study's attention checks are picked on it.
func (s *Server) handleSetBrowser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := chi.URLParam(r, "set")
	setID, err := s.store.SetIDByName(ctx, name)
	if err != nil {
		return err
	}
	facets, err := s.store.Facets(ctx, setID)
	if err != nil {
		return err
	}
	f := browserFilter(r.URL.Query(), facets)
	base := setURL(name)
	v := web.SetBrowserView{AdminPage: adminPage(r, "Set "+name, "sets"), Set: name, Base: base, Filter: f,
		Domains: []web.Option{{Value: "", Label: "Every task"}}, Sizes: []web.Option{{Value: "", Label: "Every size"}},
		Answers: []web.Option{{Value: "", Label: "Yes and No"}, {Value: task.Yes, Label: "Yes"}, {Value: task.No, Label: "No"}}}
	for _, d := range facets.Domains {
		v.Domains = append(v.Domains, web.Option{Value: d, Label: d})
	}
	for _, n := range facets.Sizes {
		v.Sizes = append(v.Sizes, web.Option{Value: strconv.Itoa(n), Label: strconv.Itoa(n)})
	}
	picked := map[string]bool{}
	if f.Study != "" {
		st, err := s.visibleStudy(r, uuid.MustParse(f.Study))
		if err != nil {
			return err
		}
		kind := pickKinds[f.Pick]
		if kind.set(st) != setID {
			return problem.Errorf(problem.ECONFLICT, "Study %q takes its %s from another stimulus set: pick them from that set.", st.Title, kind.what)
		}
		ext, err := s.store.ExtIDs(ctx, kind.ids(st))
		if err != nil {
			return err
		}
		for _, e := range ext {
			picked[e] = true
		}
		back := f
		back.Study, back.Pick = "", ""
		v.Pick = &web.PickChecks{Title: st.Title, URL: studyURL(st.ID), Action: studyURL(st.ID) + kind.path,
			Back: browserQuery(back).Encode(), Draft: st.Status == study.Draft, Count: len(ext), Max: kind.max,
			Saved: r.URL.Query().Get("saved") == "1", Practice: f.Pick == pickPractice}
	}
	size, _ := strconv.Atoi(f.Size)
	items, total, err := s.store.SetItems(ctx, setID, postgres.ItemFilter{Domain: f.Domain, Size: size, Answer: f.Answer,
		Offset: (f.Page - 1) * setPageSize, Limit: setPageSize})
	if err != nil {
		return err
	}
	v.Total = total
	for _, it := range items {
		v.Items = append(v.Items, web.SetBrowserItem{ExtID: it.ExtID, Answer: it.Answer, Picked: picked[it.ExtID],
			Label: it.Domain + ", " + sizeWord(it.Domain, it.Size) + ", answer " + it.Answer,
			Thumb: base + "/thumbs/" + it.ID.String()})
	}
	if total > 0 && len(items) > 0 {
		v.From = (f.Page-1)*setPageSize + 1
		v.To = v.From + len(items) - 1
	}
	page := func(n int) string {
		g := f
		g.Page = n
		return base + "?" + browserQuery(g).Encode()
	}
	if f.Page > 1 {
		v.PrevURL = page(f.Page - 1)
	}
	if f.Page*setPageSize < total {
		v.NextURL = page(f.Page + 1)
	}
	return render(w, r, http.StatusOK, web.SetBrowser(v))
}

// handleThumbnail serves an item's thumbnail, made once and kept
// (postgres.Store.Thumbnail), with the headers of every stimulus picture: it
// cannot run or load anything in the site's origin.
func (s *Server) handleThumbnail(w http.ResponseWriter, r *http.Request) error {
	setID, err := s.store.SetIDByName(r.Context(), chi.URLParam(r, "set"))
	if err != nil {
		return err
	}
	id, err := uuid.Parse(chi.URLParam(r, "stimulus"))
	if err != nil {
		return problem.Errorf(problem.ENOTFOUND, "This set has no such item.")
	}
	png, _, err := s.store.Thumbnail(r.Context(), setID, id, stimulus.ThumbnailSide)
	if err != nil {
		return err
	}
	h := w.Header()
	// A picture never changes under its id, so neither does its thumbnail.
	h.Set("Cache-Control", "private, max-age=604800, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", pictureSecurityPolicy)
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png) // a failed write means the client went away
	return nil
}

// pickPractice is the browser's pick= value that picks practice items
// rather than attention checks.
const pickPractice = "practice"

// pickKind is what the set browser picks for a draft study: attention
// checks (from the study's set) or practice items (from its practice set).
type pickKind struct {
	what string                                     // in words, plural
	path string                                     // the save route under the study
	set  func(study.Study) uuid.UUID                // the set they come from
	ids  func(study.Study) []uuid.UUID              // the ones picked now
	with func(study.Study, []uuid.UUID) study.Study // the study with others picked
	max  int                                        // the most that may be picked, 0 for no bound
}

var pickKinds = map[string]pickKind{
	"": {what: "attention checks", path: "/checks",
		set: func(st study.Study) uuid.UUID { return st.SetID },
		ids: func(st study.Study) []uuid.UUID { return st.AttentionCheckIDs },
		with: func(st study.Study, ids []uuid.UUID) study.Study {
			st.AttentionCheckIDs = ids
			return st
		}},
	pickPractice: {what: "practice items", path: "/practice-items", max: study.MaxPracticeItems,
		set: study.Study.PracticeSet,
		ids: func(st study.Study) []uuid.UUID { return st.PracticeIDs },
		with: func(st study.Study, ids []uuid.UUID) study.Study {
			st.PracticeIDs, st.PracticeItems = ids, len(ids)
			return st
		}},
}

// handlePickChecks saves the attention checks ticked in the set browser.
func (s *Server) handlePickChecks(w http.ResponseWriter, r *http.Request) error {
	return s.savePicks(w, r, "")
}

// handlePickPractice saves the practice items ticked in the set browser
// (issue 16, item 5): they are then the study's practice, and left out of
// its trials.
func (s *Server) handlePickPractice(w http.ResponseWriter, r *http.Request) error {
	return s.savePicks(w, r, pickPractice)
}

// savePicks saves what was ticked in the set browser: of the items shown
// on the page, the ticked ones are picked and the others are not; picks on
// other pages stay as they were.
func (s *Server) savePicks(w http.ResponseWriter, r *http.Request, pick string) error {
	kind := pickKinds[pick]
	ctx := r.Context()
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	if st.Status != study.Draft {
		return problem.Errorf(problem.ECONFLICT, "The %s of a study can be chosen only while it is a draft.", kind.what)
	}
	if err := r.ParseForm(); err != nil {
		return problem.Errorf(problem.EINVALID, "The form could not be read.")
	}
	shown, ticked := r.PostForm["shown"], r.PostForm["check"]
	if len(shown) > setPageSize || len(ticked) > len(shown) {
		return problem.Errorf(problem.EINVALID, "Tick at most the %d pictures of one page.", setPageSize)
	}
	for _, e := range shown {
		if e == "" || len(e) > 200 || !utf8.ValidString(e) || strings.ContainsRune(e, 0) {
			return problem.Errorf(problem.EINVALID, "An item id of the form is not one a set can have.")
		}
	}
	for _, e := range ticked {
		if !slices.Contains(shown, e) {
			return problem.Errorf(problem.EINVALID, "Item %q was ticked but not shown.", e)
		}
	}
	// Unknown ids are refused by name (EINVALID).
	setID := kind.set(st)
	if _, err := s.store.StimulusIDs(ctx, setID, shown); err != nil {
		return err
	}
	cur, err := s.store.ExtIDs(ctx, kind.ids(st))
	if err != nil {
		return err
	}
	var next []string
	for _, e := range cur {
		if !slices.Contains(shown, e) {
			next = append(next, e)
		}
	}
	for _, e := range ticked {
		if !slices.Contains(next, e) {
			next = append(next, e)
		}
	}
	ids, err := s.store.StimulusIDs(ctx, setID, next)
	if err != nil {
		return err
	}
	if kind.max > 0 && len(ids) > kind.max {
		return problem.Errorf(problem.EINVALID, "Pick at most %d %s; %d are ticked.", kind.max, kind.what, len(ids))
	}
	// Through the edit path, as the study form's saves: the version guards
	// against a change made since st was read, and the change is logged.
	edited := kind.with(st, ids)
	if _, err := s.store.EditStudy(ctx, postgres.StudyEdit{Study: edited, Version: st.Version, Actor: adminSession(r).Admin.Email}); err != nil {
		return err
	}
	name, err := s.setName(ctx, setID)
	if err != nil {
		return err
	}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	facets, err := s.store.Facets(ctx, setID)
	if err != nil {
		return err
	}
	f := browserFilter(back, facets)
	f.Study, f.Pick = st.ID.String(), pick
	q := browserQuery(f)
	q.Set("saved", "1")
	return redirect(w, r, setURL(name)+"?"+q.Encode())
}

// pickURL is the set browser picking a study's attention checks (pick "")
// or its practice items (pickPractice), in the set they come from.
func (s *Server) pickURL(ctx context.Context, st study.Study, pick string) (string, error) {
	name, err := s.setName(ctx, pickKinds[pick].set(st))
	if err != nil {
		return "", err
	}
	q := url.Values{"study": {st.ID.String()}}
	if pick != "" {
		q.Set("pick", pick)
	}
	return setURL(name) + "?" + q.Encode(), nil
}

// setName is the name of the set with id.
func (s *Server) setName(ctx context.Context, id uuid.UUID) (string, error) {
	sets, err := s.store.Sets(ctx)
	if err != nil {
		return "", err
	}
	for _, set := range sets {
		if set.ID == id {
			return set.Name, nil
		}
	}
	return "", problem.Errorf(problem.ENOTFOUND, "The study's stimulus set is gone.")
}
