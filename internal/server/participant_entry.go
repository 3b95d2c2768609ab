package server

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
)

// handleEntry is the study link Prolific sends participants to. It finds or
// creates the participant, sets the study's cookie and sends them to their
// current step. A link without PROLIFIC_PID records nothing and says why
// (previews live under /s/{slug}/preview); a linked study needs its
// STUDY_ID; a record resumes only with the SESSION_ID that opened it; and
// places held without an answer past the reservation window are given back
// before the places are counted.
func (s *Server) handleEntry(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.StudyBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	params, err := prolific.ParseParams(r.URL.Query())
	var pe *prolific.ParamError
	if errors.As(err, &pe) {
		return problem.Errorf(problem.EINVALID, "%s", pe.Message)
	} else if err != nil {
		return err
	}
	if params.Preview() {
		err := problem.Errorf(problem.EINVALID, "This study must be opened from Prolific: the link lacks your Prolific ID (PROLIFIC_PID), "+
			"so nothing you did here could be recorded. Please go back to Prolific and open the study from there.")
		if s.isAdmin(r) {
			return withLink(err, previewBase(st), "Preview the study instead")
		}
		return err
	}
	if err := st.CheckLink(params.StudyID); err != nil {
		return err
	}
	// A browser that already holds a session for this participant keeps it.
	if _, p, err := s.participant(r); err == nil && p.PID == params.PID && p.MayResume(params.SessionID) == nil {
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
	if problem.Code(err) == problem.EGONE && st.Status.AcceptsNew() {
		// Places and pool slots held by people who opened the study but gave
		// no answer within the reservation window go back when a join finds
		// none free (the sweeper gives back the rest every 30 s): releasing
		// them on every entry read every started participant of the study,
		// a cost that grew with each one who joined.
		n, rerr := s.store.ReleaseReservations(r.Context(), st.ID, s.now())
		if rerr != nil {
			return rerr
		}
		if n > 0 {
			p, err = s.store.Join(r.Context(), st, params, s.seed(), hash)
		}
	}
	if err != nil {
		return err
	}
	if verified != "" {
		if err := s.store.SetProlificVerified(r.Context(), p.ID, verified); err != nil {
			return err
		}
	}
	s.setSession(w, r, st, token)
	return redirect(w, r, stepURL(st.Slug, p.Step()))
}
