package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleConsent shows the consent text.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if onStep(w, r, st, p, study.StepConsent) {
		return nil
	}
	return render(w, r, http.StatusOK, web.Consent(web.ConsentView{
		Page:               web.Page{Title: "Consent", Study: st.Title},
		Text:               st.ConsentText,
		Action:             "/s/" + st.Slug + "/consent",
		Method:             "post",
		TimeLimitMinutes:   st.TimeLimitMinutes,
		ReservationMinutes: st.ReservationMinutes,
	}))
}

// handleConsentSave records consent, or thanks someone who declines.
func (s *Server) handleConsentSave(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	switch r.PostFormValue("consent") {
	case "yes":
		// Someone past this step (a double click, or after declining) goes
		// to the page of their step instead.
		if onStep(w, r, st, p, study.StepConsent) {
			return nil
		}
		if err := s.store.Consent(r.Context(), p.ID); err != nil {
			return err
		}
		return redirect(w, r, "/s/"+st.Slug+"/instructions")
	case "no":
		// Declining after consenting (the back button) is not a decline:
		// such a participant goes back to their step. A repeated "no" of
		// someone who declined shows the same page again.
		if p.Status != study.Returned && onStep(w, r, st, p, study.StepConsent) {
			return nil
		}
		if err := s.store.DeclineConsent(r.Context(), p.ID); err != nil {
			return err
		}
		return render(w, r, http.StatusOK, web.Declined(web.DeclinedView{Page: web.Page{Title: "Thank you", Study: st.Title}}))
	}
	return problem.Errorf(problem.EINVALID, "Please choose whether you agree to take part.")
}

// handleInstructions shows the exact task prompt and an example image.
func (s *Server) handleInstructions(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if onStep(w, r, st, p, study.StepInstructions, study.StepPractice, study.StepTrial) {
		return nil
	}
	return render(w, r, http.StatusOK, web.Instructions(web.InstructionsView{
		Page:         web.Page{Title: "Instructions", Study: st.Title},
		Text:         st.InstructionsText,
		Prompt:       st.Domain.Prompt(),
		ExampleImage: "/s/" + st.Slug + "/example",
		Next:         "/s/" + st.Slug + "/about-you",
		Total:        p.NTrials,
		Practice:     p.NPractice,
		YesRight:     p.YesSide == study.SideRight,
	}))
}

// handleExampleImage serves the instructions' example picture: an item of
// the study's own set and task, not one of its trials when the set has one.
func (s *Server) handleExampleImage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store.StudyBySlug(r.Context(), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	id, err := s.store.ExampleStimulus(r.Context(), st)
	if err != nil {
		return err
	}
	// private: a draft's example changes as it is edited, and no shared
	// cache needs to keep a study's pictures.
	return s.servePicture(w, r, id, "private, max-age=3600")
}
