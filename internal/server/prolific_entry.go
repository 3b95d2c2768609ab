package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

func decodeEvent(body []byte) (prolific.Event, error) {
	var ev prolific.Event
	err := json.Unmarshal(body, &ev)
	return ev, err
}

// entryAnswer is what Prolific said of one SESSION_ID.
type entryAnswer struct {
	sub   prolific.Submission
	found bool  // false: Prolific says there is no such submission
	err   error // Prolific could not be asked
	at    time.Time
}

// entryFlight is one question to Prolific that concurrent openings of the
// same session wait for together.
type entryFlight struct {
	done chan struct{}
	ans  entryAnswer
}

// Entry verification outcomes recorded on the participant.
const (
	entryVerified   = "verified"
	entryUnverified = "unverified"
)

// verifyEntry checks, on a study linked to Prolific, that a first opening's
// SESSION_ID is a submission of that PROLIFIC_PID in that Prolific study
// and is ACTIVE, before a place or slot is taken. It returns how the entry
// was checked ("" for an unlinked study or a returning participant), or a
// refusal for people. When Prolific cannot be asked within VerifyWait, the
// study's setting decides: admit unverified (the next sync confirms them,
// the monitor shows them), or refuse.
func (s *Server) verifyEntry(ctx context.Context, st study.Study, params prolific.Params) (string, error) {
	link, linked, err := s.store.ProlificLinkOf(ctx, st.ID)
	if err != nil || !linked || s.pro.client == nil {
		return "", err
	}
	if exists, err := s.store.ParticipantExists(ctx, st.ID, params.PID); err != nil || exists {
		return "", err
	}
	refuse := problem.Errorf(problem.EFORBIDDEN, "Prolific does not know this session of this study: please open the study "+
		"from your Prolific dashboard (Prolific adds your own PROLIFIC_PID, STUDY_ID and SESSION_ID to the link).")
	if params.SessionID == "" || (params.StudyID != "" && params.StudyID != link.ProlificStudyID) {
		return "", refuse
	}
	ans := s.askSubmission(ctx, params.SessionID)
	switch {
	case ans.err != nil:
		if link.OnUnreachable == postgres.UnreachableRefuse {
			return "", problem.Errorf(problem.EGONE, "We cannot confirm your Prolific session right now. Please try the link "+
				"again in a minute; your place on Prolific is kept while you do.")
		}
		return entryUnverified, nil
	case !ans.found:
		return "", refuse
	case ans.sub.PID() != params.PID || (ans.sub.StudyID != "" && ans.sub.StudyID != link.ProlificStudyID):
		return "", refuse
	case ans.sub.Status != prolific.StatusActive && ans.sub.Status != prolific.StatusReserved:
		return "", problem.Errorf(problem.EGONE, "Prolific says this submission is %s, so it cannot be started again. "+
			"If you think this is wrong, please message the researcher on Prolific.", ans.sub.Status)
	}
	return entryVerified, nil
}

// askSubmission asks Prolific about a submission once for every concurrent
// opening of it, reuses the answer for VerifyCache (a "not found" for a
// tenth of that, since Prolific may not have the session yet), and waits at
// most VerifyWait.
func (s *Server) askSubmission(ctx context.Context, sessionID string) entryAnswer {
	p := s.pro
	now := s.now()
	p.mu.Lock()
	if a, ok := p.entries.get(sessionID); ok && a.err == nil {
		ttl := p.cfg.VerifyCache
		if !a.found {
			ttl /= 10
		}
		if now.Sub(a.at) < ttl {
			p.mu.Unlock()
			return a
		}
	}
	f, waiting := p.flights[sessionID]
	if !waiting {
		f = &entryFlight{done: make(chan struct{})}
		p.flights[sessionID] = f
	}
	p.mu.Unlock()
	if !waiting {
		go func() {
			// Detached from the request: the answer serves every opening
			// of the session, and the cache, even if this one gave up.
			cctx, cancel := context.WithTimeout(context.Background(), p.cfg.VerifyWait)
			defer cancel()
			sub, err := p.client.Submission(cctx, sessionID)
			a := entryAnswer{sub: sub, found: err == nil, at: s.now()}
			if err != nil && !prolific.IsNotFound(err) {
				a.err = err
			}
			p.mu.Lock()
			p.entries.put(sessionID, a)
			delete(p.flights, sessionID)
			p.mu.Unlock()
			f.ans = a
			close(f.done)
		}()
	}
	t := time.NewTimer(p.cfg.VerifyWait)
	defer t.Stop()
	select {
	case <-f.done:
		return f.ans
	case <-t.C:
		return entryAnswer{err: context.DeadlineExceeded}
	case <-ctx.Done():
		return entryAnswer{err: ctx.Err()}
	}
}
