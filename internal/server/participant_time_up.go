package server

import (
	"net/http"
	"time"

	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleTimeUp is the page of a participant whose time is up; the trial
// page's countdown goes here at zero. Anyone else is sent to their step.
func (s *Server) handleTimeUp(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if !p.TimeUp(st, s.now()) {
		return redirect(w, r, stepURL(st.Slug, p.Step()))
	}
	return s.renderTimeUp(w, r, http.StatusOK, st, p)
}

// renderTimeUp explains that the time is up and links back to Prolific.
func (s *Server) renderTimeUp(w http.ResponseWriter, r *http.Request, status int, st study.Study, p study.Participant) error {
	return render(w, r, status, web.TimeUp(web.TimeUpView{
		Page:               web.Page{Title: "Time is up", Study: st.Title},
		LimitMinutes:       st.TimeLimitMinutes,
		Answered:           p.NAnswered,
		Total:              p.NTrials,
		Released:           p.Status == study.TimedOut && s.now().Before(p.Deadline(st)),
		ReservationMinutes: st.ReservationMinutes,
		ProlificURL:        prolific.SubmissionsURL,
	}))
}

func timeUpURL(slug string) string { return "/s/" + slug + "/time-up" }

// clock is the time limit of a page of the study at slug, with left to go.
func clock(slug string, left time.Duration) web.Clock {
	return web.Clock{TimeLeft: study.TimeLeftText(left), SecondsLeft: int(left.Seconds()),
		WarnSeconds: int(study.WarnBefore.Seconds()), Warn: left <= study.WarnBefore, TimeUpURL: timeUpURL(slug)}
}
