package server

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// The preview walks the participant path with its state in the URL and
// writes nothing to the database, so that experimenters and Prolific's
// reviewers can try a study without becoming participants.

// previewStudy loads the study of a preview page: anyone may preview a
// published or paused study (Prolific's reviewers, colleagues); a draft or a
// closed one only a logged-in researcher.
func (s *Server) previewStudy(r *http.Request) (study.Study, error) {
	st, err := s.store.StudyBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		return st, err
	}
	if (st.Status == study.Draft || st.Status == study.Closed) && !s.isAdmin(r) {
		return st, withLink(problem.Errorf(problem.EFORBIDDEN, "This study is not open, so only its researchers can preview it. Please log in first."),
			"/admin/login?next="+url.QueryEscape(r.URL.RequestURI()), "Log in")
	}
	return st, nil
}

// isAdmin reports whether the request carries a valid researcher session.
func (s *Server) isAdmin(r *http.Request) bool {
	c, err := r.Cookie(adminCookie)
	if err != nil || c.Value == "" {
		return false
	}
	_, err = s.store.AdminSession(r.Context(), tokenHash(c.Value))
	return err == nil
}

// handlePreviewStart is the preview's first page, the consent text, whose
// form moves on without recording anything.
func (s *Server) handlePreviewStart(w http.ResponseWriter, r *http.Request) error {
	st, err := s.previewStudy(r)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.Consent(web.ConsentView{
		Page:               web.Page{Title: "Consent", Study: st.Title, Preview: true},
		Text:               st.ConsentText,
		Action:             previewBase(st) + "/instructions",
		Method:             "get",
		TimeLimitMinutes:   st.TimeLimitMinutes,
		ReservationMinutes: st.ReservationMinutes,
	}))
}

// previewItems loads the study and the item list a preview shows.
func (s *Server) previewItems(r *http.Request) (study.Study, postgres.Preview, error) {
	st, err := s.previewStudy(r)
	if err != nil {
		return st, postgres.Preview{}, err
	}
	pv, err := s.store.PreviewItems(r.Context(), st)
	if err != nil {
		return st, pv, err
	}
	if len(pv.Trials) == 0 {
		return st, pv, problem.Errorf(problem.ECONFLICT, "This study has no items yet.")
	}
	return st, pv, nil
}

// previewPosition reads a 1-based position and checks it against the list.
func previewPosition(s string, n int) (int, error) {
	pos, err := strconv.Atoi(s)
	if err != nil || pos < 1 || pos > n {
		return 0, problem.Errorf(problem.ENOTFOUND, "There is no trial %q in this preview.", s)
	}
	return pos, nil
}

func previewBase(st study.Study) string { return "/s/" + url.PathEscape(st.Slug) + "/preview" }

func (s *Server) handlePreviewInstructions(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("consent") == "no" {
		return render(w, r, http.StatusOK, web.Declined(web.DeclinedView{Page: web.Page{Title: "Thank you", Study: st.Title, Preview: true}}))
	}
	return render(w, r, http.StatusOK, web.Instructions(web.InstructionsView{
		Page:         web.Page{Title: "Instructions", Study: st.Title, Preview: true},
		Text:         st.InstructionsText,
		Prompt:       st.Domain.Prompt(),
		ExampleImage: "/s/" + url.PathEscape(st.Slug) + "/example",
		Next:         previewBase(st) + previewFirst(pv),
		Total:        len(pv.Trials),
		Practice:     len(pv.Practice),
	}))
}

func (s *Server) handlePreviewTrial(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	ids := pv.Trials
	pos, err := previewPosition(chi.URLParam(r, "position"), len(ids))
	if err != nil {
		return err
	}
	base := previewBase(st)
	v := web.TrialView{
		Instruction: study.Instruction(pv.Instructed[pos-1]),
		Page:        web.Page{Title: "Trial " + strconv.Itoa(pos) + " of " + strconv.Itoa(len(ids)), Study: st.Title, Preview: true},
		Position:    pos,
		Total:       len(ids),
		Prompt:      st.Domain.Prompt(),
		Image:       previewImageURL(st, ids, pos),
		Action:      base + "/answer",
		Method:      "get",
		MinViewMs:   st.MinViewMs,
	}
	if pos < len(ids) {
		v.NextImage = previewImageURL(st, ids, pos+1)
	}
	return render(w, r, http.StatusOK, web.Trial(v))
}

// previewImageURL is the address of the preview's picture at pos. A draft's
// items change while the experimenter edits it and the pictures are cached
// for an hour, so the query names the stimulus shown (hashed, since no
// stimulus id reaches the browser): a changed item is a new address.
func previewImageURL(st study.Study, ids []uuid.UUID, pos int) string {
	p := strconv.Itoa(pos)
	return previewBase(st) + "/image/" + p + "?v=" + cacheKey("preview image", st.SetID.String(), ids[pos-1].String())
}

// handlePreviewAnswer moves the preview on; the answer is not kept.
func (s *Server) handlePreviewAnswer(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	ids := pv.Trials
	pos, err := previewPosition(r.URL.Query().Get("position"), len(ids))
	if err != nil {
		return err
	}
	if pos == len(ids) {
		return redirect(w, r, previewBase(st)+"/done")
	}
	if study.BreakAfter(st.BreakEvery, pos, len(ids)) {
		return redirect(w, r, previewBase(st)+"/break/"+strconv.Itoa(pos))
	}
	return redirect(w, r, previewBase(st)+"/trial/"+strconv.Itoa(pos+1))
}

func (s *Server) handlePreviewImage(w http.ResponseWriter, r *http.Request) error {
	_, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	pos, err := previewPosition(chi.URLParam(r, "position"), len(pv.Trials))
	if err != nil {
		return err
	}
	return s.servePicture(w, r, pv.Trials[pos-1], "private, max-age=3600")
}

func (s *Server) handlePreviewEnd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.previewStudy(r)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.End(web.EndView{
		Page:          web.Page{Title: "Thank you", Study: st.Title, Preview: true},
		Base:          study.FormatMoney(st.Pay.BaseMinor, st.Pay.Currency),
		Bonus:         study.FormatMoney(0, st.Pay.Currency),
		Total:         study.FormatMoney(st.Pay.BaseMinor, st.Pay.Currency),
		CompletionURL: previewBase(st),
		BonusRule:     bonusRule(st.Pay),
	}))
}
