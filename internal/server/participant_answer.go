package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// maxBrowserRTMs bounds the browser's response time: a day, beyond which the
// number is not a response time.
const maxBrowserRTMs = 24 * 3600 * 1000

// answerForm is what the trial form carries: nothing that names a participant
// or an item, so a participant can answer only their own list.
type answerForm struct {
	Position    int
	Answer      string
	BrowserRTMs *int
}

// parseAnswerForm validates the trial form.
func parseAnswerForm(r *http.Request) (answerForm, error) {
	var f answerForm
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return f, err // a 413
		}
		// A body that is not form encoding is the sender's fault, not ours.
		return f, study.Errorf(study.EINVALID, "The answer form could not be read. Nothing was recorded.")
	}
	pos, err := strconv.Atoi(r.PostForm.Get("position"))
	if err != nil || pos < 1 {
		return f, study.Errorf(study.EINVALID, "The answer did not say which trial it was for. Nothing was recorded.")
	}
	f.Position = pos
	f.Answer = r.PostForm.Get("answer")
	if !task.ValidAnswer(f.Answer) {
		return f, study.Errorf(study.EINVALID, "The answer must be Yes or No. Nothing was recorded.")
	}
	if rt := r.PostForm.Get("rt"); rt != "" {
		n, err := strconv.Atoi(rt)
		if err != nil || n < 0 || n > maxBrowserRTMs {
			return f, study.Errorf(study.EINVALID, "The response time sent with the answer is not a number of milliseconds. Nothing was recorded.")
		}
		f.BrowserRTMs = &n
	}
	return f, nil
}

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
		resp, done, err := s.store.AnswerBySession(r.Context(), slug, hash, f.Position, f.Answer, f.BrowserRTMs)
		if err != nil {
			return err
		}
		if done && resp.Completed {
			return redirect(w, r, "/s/"+slug+"/done")
		} else if done {
			return redirect(w, r, "/s/"+slug+"/trial")
		}
	}
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	resp, err := s.store.Answer(r.Context(), p.ID, f.Position, f.Answer, f.BrowserRTMs)
	if err != nil {
		if study.ErrorCode(err) == study.ECONFLICT || study.ErrorCode(err) == study.EGONE {
			return withLink(err, stepURL(st.Slug, p.Step()), "Go to the current page")
		}
		return err
	}
	if resp.Completed {
		return redirect(w, r, "/s/"+st.Slug+"/done")
	}
	return redirect(w, r, "/s/"+st.Slug+"/trial")
}
