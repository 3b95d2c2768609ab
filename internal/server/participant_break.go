package server

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleBreak is the pause a study takes every N trials (study.BreakAfter):
// the participant's progress, the time left (which keeps running) and a
// Continue link to the next trial, all plain HTML. It holds no state: a
// participant who is not at a break point is sent to their step, so a
// reload stays here and a resume goes straight on.
func (s *Server) handleBreak(w http.ResponseWriter, r *http.Request) error {
	st, p, sent, err := s.participantOnStep(w, r, study.StepTrial)
	if sent || err != nil {
		return err
	}
	if !study.BreakAfter(st.BreakEvery, p.NAnswered, p.NTrials) {
		return redirect(w, r, stepURL(st.Slug, study.StepTrial))
	}
	left := p.Deadline(st).Sub(s.now())
	return render(w, r, http.StatusOK, web.Break(web.BreakView{
		Page:  web.Page{Title: "Break", Study: st.Title},
		Done:  p.NAnswered,
		Total: p.NTrials,
		Next:  stepURL(st.Slug, study.StepTrial),
		Clock: clock(st.Slug, left),
	}))
}

func breakURL(slug string) string { return "/s/" + slug + "/break" }

// handlePreviewBreak is the break of a preview after trial {done}; it has no
// time limit and records nothing.
func (s *Server) handlePreviewBreak(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	ids := pv.Trials
	done, err := previewPosition(chi.URLParam(r, "done"), len(ids))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.Break(web.BreakView{
		Page:  web.Page{Title: "Break", Study: st.Title, Preview: true},
		Done:  done,
		Total: len(ids),
		Next:  previewBase(st) + "/trial/" + strconv.Itoa(min(done+1, len(ids))),
	}))
}
