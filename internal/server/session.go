package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// cookieName is per study, so that one browser can take part in two studies.
func cookieName(slug string) string { return "cubelab_" + slug }

// newToken returns a random session token and the hash the database keeps.
func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	token = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// setSession gives the browser the participant's token for this study only,
// for as long as the database keeps it: the study's time limit and a day.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, st study.Study, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName(st.Slug),
		Value:    token,
		Path:     "/s/" + st.Slug,
		MaxAge:   st.TimeLimitMinutes*60 + 24*3600,
		HttpOnly: true,
		Secure:   r.TLS != nil || strings.HasPrefix(s.baseURL, "https://"),
		SameSite: http.SameSiteLaxMode,
	})
}

// participant finds the study and participant of the request by its cookie.
func (s *Server) participant(r *http.Request) (study.Study, study.Participant, error) {
	slug := chi.URLParam(r, "slug")
	c, err := r.Cookie(cookieName(slug))
	if err != nil || c.Value == "" {
		return study.Study{}, study.Participant{}, withLink(
			problem.Errorf(problem.EUNAUTHORIZED, "We could not recognise your session (cookies may be blocked). Please open the study again from its Prolific link."),
			"", "")
	}
	return s.store.Session(r.Context(), slug, tokenHash(c.Value))
}

// stepURL is the page of a step of the participant path.
func stepURL(slug string, step study.Step) string {
	base := "/s/" + slug + "/"
	switch step {
	case study.StepConsent:
		return base + "consent"
	case study.StepInstructions:
		return base + "instructions"
	case study.StepPractice:
		return base + "practice"
	case study.StepTrial:
		return base + "trial"
	case study.StepDone, study.StepInactive:
		return base + "done"
	}
	return base + "consent"
}

// participantOnStep is the request's participant, when they are on one of
// steps with time left; otherwise it sends them to their step or to the
// time-up page and sent is true, and the handler has nothing more to do.
func (s *Server) participantOnStep(w http.ResponseWriter, r *http.Request, steps ...study.Step) (st study.Study, p study.Participant, sent bool, err error) {
	if st, p, err = s.participant(r); err != nil {
		return st, p, false, err
	}
	if onStep(w, r, st, p, steps...) {
		return st, p, true, nil
	}
	if p.TimeUp(st, s.now()) {
		return st, p, true, redirect(w, r, timeUpURL(st.Slug))
	}
	return st, p, false, nil
}

// onStep sends the participant to their current page unless they are on one
// of the allowed steps; it reports whether it redirected.
func onStep(w http.ResponseWriter, r *http.Request, st study.Study, p study.Participant, allowed ...study.Step) bool {
	cur := p.Step()
	for _, a := range allowed {
		if cur == a {
			return false
		}
	}
	_ = redirect(w, r, stepURL(st.Slug, cur))
	return true
}

// sessionToken returns the study's slug and the hash of the participant's
// session token from the request's cookie, for the one-statement paths of
// the store (Store.AnswerBySession and its kin); ok is false without a cookie.
func sessionToken(r *http.Request) (slug string, hash []byte, ok bool) {
	slug = chi.URLParam(r, "slug")
	c, err := r.Cookie(cookieName(slug))
	if err != nil || c.Value == "" {
		return slug, nil, false
	}
	return slug, tokenHash(c.Value), true
}
