package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/cubelab/cubelab/web"
)

// The practice trials (study/practice.go): the trial page, gated as a
// trial, with its own list of pictures, then a feedback page after each
// answer. Every page is plain HTML with forms and links, so the practice
// works without JavaScript too.

func practiceURL(slug string) string { return "/s/" + slug + "/practice" }

func feedbackURL(slug string, pos int) string {
	return practiceURL(slug) + "/feedback/" + strconv.Itoa(pos)
}

// handlePractice shows the participant's next practice trial.
func (s *Server) handlePractice(w http.ResponseWriter, r *http.Request) error {
	st, p, sent, err := s.participantOnStep(w, r, study.StepPractice)
	if sent || err != nil {
		return err
	}
	t, err := s.store.ShowPractice(r.Context(), p)
	if err != nil {
		return err
	}
	return renderPractice(w, r, st.Slug, st.Title, t, s.now())
}

// renderPractice is renderTrial for a practice trial: its own picture
// address and form, no preload, and a note that it is practice.
func renderPractice(w http.ResponseWriter, r *http.Request, slug, title string, t study.Trial, now time.Time) error {
	left := t.Deadline.Sub(now)
	pos, total := strconv.Itoa(t.Position), strconv.Itoa(t.Total)
	return render(w, r, http.StatusOK, web.Trial(web.TrialView{
		Page:      web.Page{Title: "Practice " + pos + " of " + total, Study: title},
		Practice:  true,
		Position:  t.Position,
		Total:     t.Total,
		Prompt:    t.Domain.Prompt(),
		Image:     practiceImageURL(r, slug, t.Position),
		Action:    practiceURL(slug),
		Method:    "post",
		MinViewMs: t.MinViewMs,
		Clock:     clock(slug, left),
		YesRight:  t.YesSide == study.SideRight,
	}))
}

// sessionCookie is the participant's session token for slug, "" without one;
// it only keys the cache of their pictures (see trialImageURL).
func sessionCookie(r *http.Request, slug string) string {
	if c, err := r.Cookie(cookieName(slug)); err == nil {
		return c.Value
	}
	return ""
}

// handlePracticeAnswer records a practice answer and shows its feedback.
// Sent again (a double click, the back button), it changes nothing and
// shows the first answer's feedback.
func (s *Server) handlePracticeAnswer(w http.ResponseWriter, r *http.Request) error {
	f, err := parseAnswerForm(r)
	if err != nil {
		return err
	}
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	res, err := s.store.SubmitPractice(r.Context(), p.ID, f)
	switch code := problem.Code(err); {
	case err == nil:
		// The device is known from the first practice answer on (trial.js
		// sends it once per tab and form).
		if slug, hash, ok := sessionToken(r); ok {
			s.recordDevice(r, slug, hash, f)
		}
		return redirect(w, r, feedbackURL(st.Slug, res.Position))
	case code == problem.ETIMEUP:
		return s.renderTimeUp(w, r, http.StatusGone, st, p)
	case code == problem.ECONFLICT || code == problem.EGONE:
		return withLink(err, stepURL(st.Slug, p.Step()), "Go to the current page")
	}
	return err
}

// handlePracticeFeedback says whether practice answer {position} was right,
// with the picture again, and leads on: to the next practice trial, or
// after the last one to the real trials.
func (s *Server) handlePracticeFeedback(w http.ResponseWriter, r *http.Request) error {
	st, p, err := s.participant(r)
	if err != nil {
		return err
	}
	pos, perr := strconv.Atoi(chi.URLParam(r, "position"))
	step := p.Step()
	if step != study.StepPractice && step != study.StepTrial || perr != nil || pos < 1 || pos > p.NPracticeAnswered {
		return redirect(w, r, stepURL(st.Slug, step))
	}
	res, err := s.store.PracticeAnswer(r.Context(), p.ID, pos)
	if err != nil {
		return err
	}
	left := p.Deadline(st).Sub(s.now())
	v := web.FeedbackView{
		Page:     web.Page{Title: "Practice " + strconv.Itoa(pos) + " of " + strconv.Itoa(res.Total), Study: st.Title},
		Position: pos,
		Total:    res.Total,
		Correct:  res.Correct,
		Message:  res.Feedback(),
		Answer:   res.Answer,
		Image:    practiceImageURL(r, st.Slug, pos),
		Next:     stepURL(st.Slug, step),
		Last:     pos == res.Total,
		Clock:    clock(st.Slug, left),
	}
	return render(w, r, http.StatusOK, web.Feedback(v))
}

// handlePracticeImage serves a practice picture by position, up to the
// current practice trial.
func (s *Server) handlePracticeImage(w http.ResponseWriter, r *http.Request) error {
	_, p, err := s.participant(r)
	if err != nil {
		return err
	}
	pos, perr := strconv.Atoi(chi.URLParam(r, "position"))
	if perr != nil || !p.MaySeePractice(pos) {
		return problem.Errorf(problem.ENOTFOUND, "There is no such practice picture in your list.")
	}
	id, err := s.store.PracticeStimulus(r.Context(), p.ID, pos)
	if err != nil {
		return err
	}
	return s.servePicture(w, r, id, "private, max-age=86400")
}

// previewFirst is where a preview goes after the instructions: the first
// practice trial, or the first trial.
func previewFirst(pv postgres.Preview) string {
	if len(pv.Practice) > 0 {
		return "/practice/1"
	}
	return "/trial/1"
}

// handlePreviewPractice is a practice trial of the preview; its answer goes
// by GET and is not kept.
func (s *Server) handlePreviewPractice(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	pos, err := previewPosition(chi.URLParam(r, "position"), len(pv.Practice))
	if err != nil {
		return err
	}
	base := previewBase(st)
	return render(w, r, http.StatusOK, web.Trial(web.TrialView{
		Page:      web.Page{Title: "Practice " + strconv.Itoa(pos) + " of " + strconv.Itoa(len(pv.Practice)), Study: st.Title, Preview: true},
		Practice:  true,
		Position:  pos,
		Total:     len(pv.Practice),
		Prompt:    st.Domain.Prompt(),
		Image:     base + "/practice/image/" + strconv.Itoa(pos) + "?v=" + cacheKey("preview practice", pv.Practice[pos-1].String()),
		Action:    base + "/practice/answer",
		Method:    "get",
		MinViewMs: st.MinViewMs,
	}))
}

// handlePreviewPracticeAnswer moves the preview to the feedback on a
// practice answer, carried in the URL.
func (s *Server) handlePreviewPracticeAnswer(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	pos, err := previewPosition(r.URL.Query().Get("position"), len(pv.Practice))
	if err != nil {
		return err
	}
	answer := r.URL.Query().Get("answer")
	if !task.ValidAnswer(answer) {
		return problem.Errorf(problem.EINVALID, "The answer must be Yes or No.")
	}
	return redirect(w, r, previewBase(st)+"/practice/feedback/"+strconv.Itoa(pos)+"?"+url.Values{"answer": {answer}}.Encode())
}

// handlePreviewPracticeFeedback is the feedback page of the preview.
func (s *Server) handlePreviewPracticeFeedback(w http.ResponseWriter, r *http.Request) error {
	st, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	pos, err := previewPosition(chi.URLParam(r, "position"), len(pv.Practice))
	if err != nil {
		return err
	}
	answer := r.URL.Query().Get("answer")
	if !task.ValidAnswer(answer) {
		return problem.Errorf(problem.EINVALID, "The answer must be Yes or No.")
	}
	truth, err := s.store.StimulusAnswer(r.Context(), pv.Practice[pos-1])
	if err != nil {
		return err
	}
	res := study.PracticeResult{Position: pos, Total: len(pv.Practice), Domain: st.Domain, Answer: answer, Truth: truth, Correct: answer == truth}
	base := previewBase(st)
	next := base + "/practice/" + strconv.Itoa(pos+1)
	if pos == len(pv.Practice) {
		next = base + "/trial/1"
	}
	return render(w, r, http.StatusOK, web.Feedback(web.FeedbackView{
		Page:     web.Page{Title: "Practice " + strconv.Itoa(pos) + " of " + strconv.Itoa(res.Total), Study: st.Title, Preview: true},
		Position: pos,
		Total:    res.Total,
		Correct:  res.Correct,
		Message:  res.Feedback(),
		Answer:   answer,
		Image:    base + "/practice/image/" + strconv.Itoa(pos) + "?v=" + cacheKey("preview practice", pv.Practice[pos-1].String()),
		Next:     next,
		Last:     pos == res.Total,
	}))
}

// handlePreviewPracticeImage serves a practice picture of the preview.
func (s *Server) handlePreviewPracticeImage(w http.ResponseWriter, r *http.Request) error {
	_, pv, err := s.previewItems(r)
	if err != nil {
		return err
	}
	pos, err := previewPosition(chi.URLParam(r, "position"), len(pv.Practice))
	if err != nil {
		return err
	}
	return s.servePicture(w, r, pv.Practice[pos-1], "private, max-age=3600")
}
