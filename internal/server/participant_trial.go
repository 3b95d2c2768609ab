package server

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleTrial shows the participant's next unanswered trial. Reloading,
// reopening the link or the back button all land here, on the same trial.
// The first showing of a trial is one statement found by the session token;
// a reload or a participant on another step takes the general path.
func (s *Server) handleTrial(w http.ResponseWriter, r *http.Request) error {
	if slug, hash, ok := sessionToken(r); ok {
		title, t, shown, err := s.store.ShowTrialBySession(r.Context(), slug, hash)
		if err != nil {
			return err
		}
		if shown {
			return renderTrial(w, r, slug, title, t)
		}
	}
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if onStep(w, r, st, p, study.StepTrial) {
		return nil
	}
	t, err := s.store.ShowTrial(r.Context(), p, p.NAnswered+1)
	if err != nil {
		return err
	}
	return renderTrial(w, r, st.Slug, st.Title, t)
}

// renderTrial writes the trial page of t in the study at slug.
func renderTrial(w http.ResponseWriter, r *http.Request, slug, title string, t study.Trial) error {
	base := "/s/" + slug
	v := web.TrialView{
		Page:     web.Page{Title: "Trial " + strconv.Itoa(t.Position) + " of " + strconv.Itoa(t.Total), Study: title},
		Position: t.Position,
		Total:    t.Total,
		Prompt:   t.Domain.Prompt(),
		Image:    base + "/image/" + strconv.Itoa(t.Position),
		Action:   base + "/trial",
		Method:   "post",
	}
	if t.Position < t.Total {
		v.NextImage = base + "/image/" + strconv.Itoa(t.Position+1)
	}
	return render(w, r, http.StatusOK, web.Trial(v))
}

// handleTrialImage serves the picture of one of the participant's trials by
// position, so that no stimulus id ever reaches the browser. Only pictures up
// to the one after the current trial (the preload) are served.
func (s *Server) handleTrialImage(w http.ResponseWriter, r *http.Request) error {
	pos, perr := strconv.Atoi(chi.URLParam(r, "position"))
	if slug, hash, ok := sessionToken(r); ok && perr == nil && pos >= 1 {
		img, ct, found, err := s.store.TrialImageBySession(r.Context(), slug, hash, pos)
		if err != nil {
			return err
		}
		if found {
			return writeImage(w, img, ct, "private, max-age=86400")
		}
	}
	_, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if perr != nil || pos < 1 || pos > p.NTrials || pos > p.NAnswered+2 || p.ConsentedAt == nil {
		return study.Errorf(study.ENOTFOUND, "There is no such picture in your list yet.")
	}
	img, ct, err := s.store.TrialImage(r.Context(), p.ID, pos)
	if err != nil {
		return err
	}
	return writeImage(w, img, ct, "private, max-age=86400")
}
