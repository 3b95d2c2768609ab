package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// maxBrowserRTMs bounds the browser's response time: a day, beyond which the
// number is not a response time.
const maxBrowserRTMs = 24 * 3600 * 1000

// maxImagePx bounds the rendered picture size the page reports.
const maxImagePx = 100000

// parseAnswerForm validates the trial form: the position and the answer,
// and what the page's script measured (absent from a plain form without
// JavaScript, whose answer is then stored as untimed). The form names no
// participant and no item, so a participant can answer only their own list.
func parseAnswerForm(r *http.Request) (study.Submission, error) {
	var f study.Submission
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return f, err // a 413
		}
		// A body that is not form encoding is the sender's fault, not ours.
		return f, problem.Errorf(problem.EINVALID, "The answer form could not be read. Nothing was recorded.")
	}
	pos, err := strconv.Atoi(r.PostForm.Get("position"))
	if err != nil || pos < 1 {
		return f, problem.Errorf(problem.EINVALID, "The answer did not say which trial it was for. Nothing was recorded.")
	}
	f.Position = pos
	f.Answer = r.PostForm.Get("answer")
	if !task.ValidAnswer(f.Answer) {
		return f, problem.Errorf(problem.EINVALID, "The answer must be Yes or No. Nothing was recorded.")
	}
	if rt := r.PostForm.Get("rt"); rt != "" {
		n, err := strconv.Atoi(rt)
		if err != nil || n < 0 || n > maxBrowserRTMs {
			return f, problem.Errorf(problem.EINVALID, "The response time sent with the answer is not a number of milliseconds. Nothing was recorded.")
		}
		f.BrowserRTMs = &n
	}
	f.Timed = r.PostForm.Get("timing") == "script"
	switch r.PostForm.Get("hidden") {
	case "1":
		f.Hidden = ptr(true)
	case "0":
		f.Hidden = ptr(false)
	}
	if d, ok := study.ParseDevice(r.PostForm.Get); ok {
		f.Device = &d
	}
	if px := r.PostForm.Get("px"); px != "" {
		if n, err := strconv.Atoi(px); err == nil && n >= 0 && n <= maxImagePx {
			f.ImagePx = &n
		}
	}
	return f, nil
}

// recordDevice keeps the participant's device (study.Device) after an
// answer: whenever the page's script reported one (trial.js sends it once
// per browser tab), and from the user agent alone on a first answer without
// the script. A failure is logged, never shown: the answer is committed.
func (s *Server) recordDevice(r *http.Request, slug string, hash []byte, f study.Submission) {
	var d study.Device
	switch {
	case f.Device != nil:
		d = *f.Device
	case f.Position == 1:
	default:
		return
	}
	d.UserAgent = r.UserAgent()
	if err := s.store.RecordDeviceBySession(r.Context(), slug, hash, d); err != nil {
		s.log.WarnContext(r.Context(), "recording a device failed", "err", err)
	}
}

func ptr[T any](v T) *T { return &v }

// handleAnswer records one answer and moves on. Only after the last answer is
// committed does the participant see the end page with the completion link.
//
// The ordinary answer, the next one of a participant on their trials, is one
// statement found by the session token; anything else (no session, a
// replay, an answer out of order) takes the general path, which explains it.
func (s *Server) handleAnswer(w http.ResponseWriter, r *http.Request) error {
	f, err := parseAnswerForm(r)
	if err != nil {
		return err
	}
	if slug, hash, ok := sessionToken(r); ok {
		f.PictureServedAt = s.pictureEvidence(r, slug, hash, f.Position)
		resp, done, err := s.store.SubmitBySession(r.Context(), slug, hash, f)
		if err != nil {
			return err
		}
		if done {
			s.recordDevice(r, slug, hash, f)
		}
		if done && resp.Completed {
			s.completePool(r, slug)
			return redirect(w, r, "/s/"+slug+"/done")
		} else if done {
			return redirect(w, r, nextURL(slug, resp))
		}
	}
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	resp, err := s.store.Submit(r.Context(), p.ID, f)
	if err == nil {
		if slug, hash, ok := sessionToken(r); ok {
			s.recordDevice(r, slug, hash, f)
		}
	}
	if problem.Code(err) == problem.ETIMEUP {
		// Nothing was recorded: say why, and the way back to Prolific.
		return s.renderTimeUp(w, r, http.StatusGone, st, p)
	}
	if err != nil {
		if problem.Code(err) == problem.ECONFLICT || problem.Code(err) == problem.EGONE {
			return withLink(err, stepURL(st.Slug, p.Step()), "Go to the current page")
		}
		return err
	}
	if resp.Completed {
		s.completePool(r, st.Slug)
		return redirect(w, r, "/s/"+st.Slug+"/done")
	}
	return redirect(w, r, nextURL(st.Slug, resp))
}

// nextURL is the page after an answer that did not complete the study: a
// break (study.BreakAfter) or the next trial.
func nextURL(slug string, resp study.Response) string {
	if resp.Break {
		return breakURL(slug)
	}
	return "/s/" + slug + "/trial"
}

// completePool moves the pool study at slug to complete when the answer
// just committed was the last one it needed (study.Status.PoolComplete).
// The participant's answer is stored either way: a failure here is logged,
// and the sweeper tries again.
func (s *Server) completePool(r *http.Request, slug string) {
	st, err := s.store.StudyBySlug(r.Context(), slug)
	if err == nil && st.Design == study.Pool && st.Status == study.Published {
		_, err = s.store.CompleteAnsweredPools(r.Context(), st.ID)
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "complete pool study", "slug", slug, "err", err)
	}
}
