package server

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handleTrial shows the participant's next unanswered trial. Reloading,
// reopening the link or the back button all land here, on the same trial.
// The first showing of a trial is one statement found by the session token;
// a reload or a participant on another step takes the general path.
func (s *Server) handleTrial(w http.ResponseWriter, r *http.Request) error {
	if slug, hash, ok := sessionToken(r); ok {
		title, t, pictures, shown, err := s.store.ShowTrialBySession(r.Context(), slug, hash)
		if err != nil {
			return err
		}
		if shown {
			if !s.now().Before(t.Deadline) {
				return redirect(w, r, timeUpURL(slug))
			}
			s.grant(slug, hash, t.Position, pictures)
			return renderTrial(w, r, slug, title, t, s.now())
		}
	}
	st, p, sent, err := s.participantOnStep(w, r, study.StepTrial)
	if sent || err != nil {
		return err
	}
	t, err := s.store.ShowTrial(r.Context(), p, p.NAnswered+1)
	if err != nil {
		return err
	}
	return renderTrial(w, r, st.Slug, st.Title, t, s.now())
}

// renderTrial writes the trial page of t in the study at slug, with the
// time left at now.
func renderTrial(w http.ResponseWriter, r *http.Request, slug, title string, t study.Trial, now time.Time) error {
	left := t.Deadline.Sub(now)
	base := "/s/" + slug
	token := sessionCookie(r, slug)
	v := web.TrialView{
		Page:        web.Page{Title: "Trial " + strconv.Itoa(t.Position) + " of " + strconv.Itoa(t.Total), Study: title},
		Position:    t.Position,
		Total:       t.Total,
		Prompt:      t.Domain.Prompt(),
		Image:       trialImageURL(token, slug, t.Position),
		Action:      base + "/trial",
		Method:      "post",
		MinViewMs:   t.MinViewMs,
		Instruction: study.Instruction(t.InstructedAnswer),
		Clock:       clock(slug, left),
		YesRight:    t.YesSide == study.SideRight,
	}
	if t.Position < t.Total {
		v.NextImage = trialImageURL(token, slug, t.Position+1)
	}
	return render(w, r, http.StatusOK, web.Trial(v))
}

// trialImageURL is the address of the picture at pos of the participant
// whose session token (sessionCookie) is token. Pictures are cached for a
// day, and two participants in one browser (a lab PC, a pilot with test ids)
// have the same path at the same position, so the query part, derived from
// the session token, gives each participant a cache entry of their own. The handler still
// chooses the picture by the cookie alone; the query only keys the cache.
func trialImageURL(token, slug string, pos int) string {
	p := strconv.Itoa(pos)
	return "/s/" + slug + "/image/" + p + "?v=" + cacheKey("trial image", token, p)
}

// practiceImageURL is trialImageURL for the practice picture at pos.
func practiceImageURL(r *http.Request, slug string, pos int) string {
	p := strconv.Itoa(pos)
	return practiceURL(slug) + "/image/" + p + "?v=" + cacheKey("practice image", sessionCookie(r, slug), p)
}

// cacheKey is a short hash of parts for the query of a cached address; it
// reveals nothing of its parts (the session token among them).
func cacheKey(parts ...string) string {
	var b [128]byte // the usual parts fit: no allocation but the key's
	in := b[:0]
	for _, p := range parts {
		in = append(append(in, p...), 0)
	}
	sum := sha256.Sum256(in)
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// maxPosition bounds a trial position from a URL to what an integer column holds.
const maxPosition = 1 << 30

// handleTrialImage serves the picture of one of the participant's trials by
// position, so that no stimulus id ever reaches the browser. Only pictures up
// to the one after the current trial (the preload) are served.
func (s *Server) handleTrialImage(w http.ResponseWriter, r *http.Request) error {
	pos, perr := strconv.Atoi(chi.URLParam(r, "position"))
	if perr == nil && pos > maxPosition {
		perr = strconv.ErrRange
	}
	if slug, hash, ok := sessionToken(r); ok && perr == nil && pos >= 1 {
		id, found, err := s.grantedPicture(w, r, slug, hash, pos)
		if err != nil {
			return err
		}
		if found {
			return s.servePicture(w, r, id, "private, max-age=86400")
		}
	}
	_, p, err := s.participant(r)
	if err != nil {
		return err
	}
	if perr != nil || !p.MaySee(pos) {
		return problem.Errorf(problem.ENOTFOUND, "There is no such picture in your list yet.")
	}
	id, err := s.store.TrialStimulus(r.Context(), p.ID, pos)
	if err != nil {
		return err
	}
	return s.servePicture(w, r, id, "private, max-age=86400")
}

// grant remembers that the session whose token hashes to hash may fetch the
// pictures of the trial at pos and of the next one (a zero id: none), as the
// database has just shown that trial, so that their requests need no
// statement.
func (s *Server) grant(slug string, hash []byte, pos int, pictures [2]uuid.UUID) {
	for i, id := range pictures {
		if k, ok := newGrantKey(slug, hash, pos+i); ok && id != uuid.Nil {
			s.grants.put(k, id)
		}
	}
}

// grantedPicture returns the stimulus id of the picture at pos for the
// session, from a grant when this process showed the trial, else from the
// database; found is false when the session may not see it. Either way the
// serving is recorded, the evidence its answer is checked against: from a
// grant in the picture's signed cookie (picture_evidence.go), so that the
// request runs no statement, else by the database's statement itself.
func (s *Server) grantedPicture(w http.ResponseWriter, r *http.Request, slug string, hash []byte, pos int) (id uuid.UUID, found bool, err error) {
	k, ok := newGrantKey(slug, hash, pos)
	if ok {
		if id, ok := s.grants.get(k); ok {
			return id, true, s.recordPictureServed(w, r, slug, hash, pos)
		}
	}
	return s.store.TrialStimulusBySession(r.Context(), slug, hash, pos)
}
