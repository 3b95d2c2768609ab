// Package server is cubelab's HTTP side: chi routes, small handlers that
// return errors, one function that turns errors into pages, and middleware.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/stimulus"
)

// Config is what a Server needs from outside.
type Config struct {
	Store   *postgres.Store
	Log     *slog.Logger
	BaseURL string // e.g. https://lab.example.org; "" when unknown

	// Seed draws a participant's order seed; nil means crypto/rand.
	Seed func() int64

	// EntryLimit is how many times one address may open study links per
	// minute in this process; 0 means no limit.
	EntryLimit int
	// TrustForwarded takes the client's address from the last
	// X-Forwarded-For entry, as written by the one reverse proxy in front;
	// set it only behind such a proxy, since anyone can write the header.
	TrustForwarded bool
	// ImageLimits bound the pictures of an uploaded stimulus set; zero
	// values mean stimulus.DefaultImageLimits.
	ImageLimits stimulus.ImageLimits
	// Now is the server's clock (limits, session expiry, page stamps); nil
	// means time.Now.
	Now func() time.Time
	// Prolific configures the researcher API (prolific_side.go); without a
	// token cubelab works beside Prolific: pasted links, CSV bonuses.
	Prolific ProlificConfig
}

// Server serves every route of cubelab.
type Server struct {
	store   *postgres.Store
	log     *slog.Logger
	baseURL string
	seed    func() int64
	now     func() time.Time

	imageLimits stimulus.ImageLimits

	entryLimiter   *limiter // nil: no limit
	trustForwarded bool

	// delay waits before a login for an email that failed often (a
	// variable so that tests can see the wait without waiting).
	delay func(ctx context.Context, d time.Duration) error

	// reportsComputed counts report computations (tests read it).
	reportsComputed atomic.Int64
	// beforeAnalysis, when set (tests), runs on a report computation's
	// context after its matrix is read and before its analysis.
	beforeAnalysis func(context.Context)

	// logins bounds the password checks running at once: each argon2id
	// check takes 64 MiB, so unbounded parallel logins could exhaust memory.
	logins chan struct{}

	// images caches stimulus pictures by id for the trial pages; grants
	// remembers which picture a session may fetch at a position.
	images *lru[uuid.UUID, picture]
	grants *lru[grantKey, uuid.UUID]
	// picKeys holds the key of the picture cookies (picture_evidence.go).
	picKeys pictureKeys

	pro *prolificSide

	// live holds each study's live comparison (admin_live.go).
	live *liveStates
	// liveRebuilds counts full reads of a live comparison (tests read it).
	liveRebuilds atomic.Int64
}

// maxLogins is how many password checks may run at once.
const maxLogins = 2

// New builds a Server from cfg.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, log: cfg.Log, baseURL: strings.TrimRight(cfg.BaseURL, "/"), seed: cfg.Seed,
		trustForwarded: cfg.TrustForwarded, logins: make(chan struct{}, maxLogins), now: cfg.Now,
		images: newImageCache(), grants: newGrantCache(), live: newLiveStates()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.seed == nil {
		s.seed = randomSeed
	}
	s.imageLimits = cfg.ImageLimits
	if s.imageLimits.MaxBytes <= 0 {
		s.imageLimits.MaxBytes = stimulus.DefaultImageLimits.MaxBytes
	}
	if s.imageLimits.MaxSide <= 0 {
		s.imageLimits.MaxSide = stimulus.DefaultImageLimits.MaxSide
	}
	s.delay = sleep
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.EntryLimit > 0 {
		s.entryLimiter = newLimiter(cfg.EntryLimit, s.now)
	}
	s.pro = s.newProlificSide(cfg.Prolific)
	return s
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randomSeed() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// render writes a page. Pages hold a participant's state, so no cache may
// keep them: the back button then reloads and lands on the current trial.
//
// A page is rendered into a buffer and sent in one write with its
// Content-Length: streaming it as it renders costs a chunked response
// flushed in several system calls (templ flushes at the end of each
// component). A page that fails to render has sent nothing, so its error
// gets a whole error page. Only a page larger than maxBufferedPage is
// streamed, from there on, so that no page holds more memory than that.
func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	buf.Grow(pageBufferSize)
	pw := pageWriter{w: w, status: status, buf: &buf}
	if err := c.Render(r.Context(), &pw); err != nil {
		return err
	}
	if pw.streaming {
		return nil
	}
	pw.writeHeader(buf.Len())
	_, err := w.Write(buf.Bytes())
	return err
}

// maxBufferedPage is the largest page render sends in one piece.
const maxBufferedPage = 256 << 10

// pageBufferSize is what render's buffer starts with: a participant's
// page (a trial page is about 2.5 KB) fits without growing it.
const pageBufferSize = 4 << 10

// pageWriter collects a page for render, and streams it once it outgrows
// maxBufferedPage.
type pageWriter struct {
	w         http.ResponseWriter
	status    int
	buf       *bytes.Buffer
	streaming bool
}

func (p *pageWriter) Write(b []byte) (int, error) {
	if p.streaming {
		return p.w.Write(b)
	}
	if p.buf.Len()+len(b) <= maxBufferedPage {
		return p.buf.Write(b)
	}
	p.streaming = true
	p.writeHeader(-1)
	if _, err := p.w.Write(p.buf.Bytes()); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// writeHeader sends the page's status and headers, with its length when
// known (n >= 0).
func (p *pageWriter) writeHeader(n int) {
	h := p.w.Header()
	if n >= 0 {
		setHeaders(h, "Content-Type", "text/html; charset=utf-8", "Cache-Control", "no-store", "Content-Length", strconv.Itoa(n))
	} else {
		setHeaders(h, "Content-Type", "text/html; charset=utf-8", "Cache-Control", "no-store")
	}
	p.w.WriteHeader(p.status)
}

// redirect answers a form or an out-of-place request with 303 See Other, so
// that reloading the next page never re-sends the form.
func redirect(w http.ResponseWriter, r *http.Request, url string) error {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, url, http.StatusSeeOther)
	return nil
}

// Ping reports whether the database answers, for /healthz.
func (s *Server) ping(ctx context.Context) error { return s.store.Ping(ctx) }
