package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleEntry is the study link Prolific sends participants to. It finds or
// creates the participant, sets the study's cookie and sends them to their
// current step; without PROLIFIC_PID it starts a preview.
func (s *Server) handleEntry(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.StudyBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	params, err := prolific.ParseParams(r.URL.Query())
	var pe *prolific.ParamError
	if errors.As(err, &pe) {
		return study.Errorf(study.EINVALID, "%s", pe.Message)
	} else if err != nil {
		return err
	}
	if params.Preview() {
		return render(w, r, http.StatusOK, web.Consent(web.ConsentView{
			Page:   web.Page{Title: "Consent", Study: st.Title, Preview: true},
			Text:   st.ConsentText,
			Action: "/s/" + url.PathEscape(st.Slug) + "/preview/instructions",
			Method: "get",
		}))
	}
	if st.ProlificStudyID != "" && params.StudyID != "" && params.StudyID != st.ProlificStudyID {
		return study.Errorf(study.EINVALID, "This link belongs to a different Prolific study. Please open the study again from Prolific.")
	}

	// A browser that already holds a session for this participant keeps it.
	if _, p, err := s.participant(r); err == nil && p.PID == params.PID {
		return redirect(w, r, stepURL(st.Slug, p.Step()))
	}
	// On a study linked to Prolific, Prolific confirms the session before
	// a place or slot is taken (prolific_entry.go).
	verified, err := s.verifyEntry(r.Context(), st, params)
	if err != nil {
		return err
	}
	token, hash := newToken()
	p, err := s.store.Join(r.Context(), st, params, s.seed(), hash)
	if err != nil {
		return err
	}
	if verified != "" {
		if err := s.store.SetProlificVerified(r.Context(), p.ID, verified); err != nil {
			return err
		}
	}
	s.setSession(w, r, st.Slug, token)
	return redirect(w, r, stepURL(st.Slug, p.Step()))
}
