package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
)

// ProlificConfig is how cubelab talks to Prolific's researcher API.
type ProlificConfig struct {
	// Client carries the token (PROLIFIC_TOKEN; never stored or logged) and
	// the base URL; without a token there is no client. Its Log is set by
	// the server.
	Client prolific.ClientConfig
	// WebhookSecret is the workspace's hook secret
	// (PROLIFIC_WEBHOOK_SECRET); without it the webhook refuses everything.
	WebhookSecret string
	// SyncEvery is how often each linked study's submissions are read
	// (default 1 minute); a webhook brings the next read forward.
	SyncEvery time.Duration
	// VerifyWait bounds how long a first opening waits for Prolific to
	// confirm the submission (default 4 s); VerifyCache is how long an
	// answer is reused (default 30 s).
	VerifyWait, VerifyCache time.Duration
	// PayGrace is how long after a pay call whose outcome is unknown
	// Prolific's bonuses must show nothing before the batch may be paid
	// again (default 1 hour): Prolific pays asynchronously.
	PayGrace time.Duration
}

// prolificSide is the server's Prolific state: the client (nil without a
// token), the webhook secret, the entry cache and the sync wake-ups.
type prolificSide struct {
	client *prolific.Client
	cfg    ProlificConfig
	err    string // why there is no client, for the settings page

	mu      sync.Mutex
	entries *lru[string, entryAnswer] // SESSION_ID -> Prolific's answer
	flights map[string]*entryFlight

	wake chan uuid.UUID // studies to sync now (webhook)
}

// entryCacheSize bounds the remembered entry checks: a launch burst is
// thousands of sessions, not millions.
const entryCacheSize = 10000

func (s *Server) newProlificSide(cfg ProlificConfig) *prolificSide {
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = time.Minute
	}
	if cfg.VerifyWait <= 0 {
		cfg.VerifyWait = 4 * time.Second
	}
	if cfg.VerifyCache <= 0 {
		cfg.VerifyCache = 30 * time.Second
	}
	if cfg.PayGrace <= 0 {
		cfg.PayGrace = time.Hour
	}
	p := &prolificSide{cfg: cfg, entries: newLRU[string](entryCacheSize, func(entryAnswer) int { return 1 }), flights: map[string]*entryFlight{},
		wake: make(chan uuid.UUID, 64)}
	if cfg.Client.Token == "" {
		p.err = "No API token: set PROLIFIC_TOKEN in the server's environment."
		return p
	}
	cc := cfg.Client
	cc.Log = s.logProlificCall
	c, err := prolific.NewClient(cc)
	if err != nil {
		p.err = err.Error()
		return p
	}
	p.client = c
	return p
}

// logProlificCall writes one API call to the log and to the table the
// settings page shows. The token is in neither: Call does not hold it.
func (s *Server) logProlificCall(c prolific.Call) {
	attrs := []any{"method", c.Method, "path", c.Path, "status", c.Status, "ms", c.Duration.Milliseconds(), "attempt", c.Attempt}
	if c.Err != nil {
		s.log.Warn("prolific call", append(attrs, "err", prolific.Message(c.Err))...)
	} else {
		s.log.Info("prolific call", attrs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.store.LogProlificCall(ctx, c); err != nil {
		s.log.Warn("logging a prolific call failed", "err", err)
	}
}

// prolificClient is the client, or an error that says how to get one.
func (s *Server) prolificClient() (*prolific.Client, error) {
	if s.pro.client == nil {
		return nil, problem.Errorf(problem.ECONFLICT, "cubelab has no Prolific API token: %s", s.pro.err)
	}
	return s.pro.client, nil
}

// prolificError turns an error of the client into one for people, keeping
// Prolific's own message; an error of ours passes unchanged.
func prolificError(err error) error {
	var ae *prolific.APIError
	var ue *prolific.UnreachableError
	if errors.As(err, &ae) || errors.As(err, &ue) {
		code := problem.ECONFLICT
		if prolific.IsNotFound(err) {
			code = problem.ENOTFOUND
		}
		return problem.Errorf(code, "%s", prolific.Message(err))
	}
	return err
}

// syncStudy reads the study's submissions (and the study) from Prolific and
// applies them, holding the study's advisory lock so that one process at a
// time syncs a study; unless force, it does nothing when the last sync is
// recent. ran is false when another process held the lock or it was not due.
func (s *Server) syncStudy(ctx context.Context, studyID uuid.UUID, force bool) (res postgres.SyncResult, ran bool, err error) {
	c, err := s.prolificClient()
	if err != nil {
		return res, false, err
	}
	ran, err = s.store.WithTryLock(ctx, "prolific-sync:"+studyID.String(), func() error {
		if !force {
			due, err := s.store.ProlificSyncDue(ctx, studyID, s.pro.cfg.SyncEvery*9/10)
			if err != nil || !due {
				return errNotDue
			}
		}
		link, ok, err := s.store.ProlificLinkOf(ctx, studyID)
		if err != nil {
			return err
		}
		if !ok {
			return problem.Errorf(problem.ECONFLICT, "The study is not linked to Prolific.")
		}
		subs, err := c.Submissions(ctx, link.ProlificStudyID)
		if err == nil {
			res, err = s.store.ApplySubmissions(ctx, studyID, subs)
		}
		if err == nil {
			var ps prolific.Study
			if ps, err = c.Study(ctx, link.ProlificStudyID); err == nil {
				err = s.store.RecordProlificStudy(ctx, studyID, ps)
			}
		}
		if err != nil {
			if rerr := s.store.RecordProlificError(ctx, studyID, "Sync: "+prolific.Message(err)); rerr != nil {
				s.log.Warn("recording a prolific error failed", "err", rerr)
			}
		}
		return err
	})
	if errors.Is(err, errNotDue) {
		return res, false, nil
	}
	return res, ran, err
}

var errNotDue = errors.New("sync not due")

// RunProlificSync polls Prolific until ctx ends: every SyncEvery each linked
// study is synced (by one process at a time), batches whose pay outcome is
// unknown are reconciled, and a webhook's study is synced at once. Every
// server process runs it; the advisory locks keep them from doubling up.
func (s *Server) RunProlificSync(ctx context.Context) {
	if s.pro.client == nil {
		return
	}
	t := time.NewTicker(s.pro.cfg.SyncEvery)
	defer t.Stop()
	for {
		s.syncAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case id := <-s.pro.wake:
			if _, _, err := s.syncStudy(ctx, id, true); err != nil && ctx.Err() == nil {
				s.log.Warn("prolific sync", "study", id, "err", err)
			}
		}
	}
}

// syncAll is one round of the poller.
func (s *Server) syncAll(ctx context.Context) {
	links, err := s.store.ProlificLinks(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("prolific sync: links", "err", err)
		}
		return
	}
	for _, l := range links {
		if _, _, err := s.syncStudy(ctx, l.StudyID, false); err != nil && ctx.Err() == nil {
			s.log.Warn("prolific sync", "study", l.StudyID, "err", err)
		}
	}
	if err := s.reconcilePaying(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("prolific bonus reconciliation", "err", err)
	}
}

// handleProlificWebhook receives Prolific's hook requests. A request whose
// signature (HMAC-SHA256 of timestamp and body with the workspace secret)
// does not verify, or whose timestamp is over 5 minutes off, is refused
// with 401 and changes nothing. A submission.status.change of a linked
// study wakes that study's sync: the event only says something changed,
// the sync reads what (Prolific's list is the truth, events may come out
// of order or twice).
func (s *Server) handleProlificWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if !prolific.VerifySignature(s.pro.cfg.WebhookSecret, r.Header.Get(prolific.HeaderTimestamp),
		r.Header.Get(prolific.HeaderSignature), body, s.now(), 5*time.Minute) {
		s.log.Warn("prolific webhook: bad signature refused")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	ev, err := decodeEvent(body)
	if err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	if ev.EventType == prolific.EventSubmissionStatus && ev.ResourceID != "" {
		id, ok, err := s.store.StudyOfSubmission(r.Context(), ev.ResourceID)
		if err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if ok {
			select {
			case s.pro.wake <- id:
			default: // a sync is already queued; the poller catches up
			}
		}
	}
	w.WriteHeader(http.StatusOK)
}
