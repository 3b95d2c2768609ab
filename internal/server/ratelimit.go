package server

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cubelab/cubelab/web"
)

// limiter counts requests per client address in fixed one-minute windows.
// It lives in one process: with several server processes behind a load
// balancer each keeps its own count, so an address may open the study link
// up to limit times per process per minute. Sharing the count through the
// database would add a write to every entry for little gain, since the
// entry's own transaction already bounds what a flood can do (places).
type limiter struct {
	limit int
	now   func() time.Time

	mu     sync.Mutex
	start  time.Time
	counts map[string]int
}

// maxTracked bounds the limiter's memory; past it, new addresses are let
// through rather than refused, so a flood of addresses cannot lock out
// participants.
const maxTracked = 100_000

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{limit: perMinute, now: now, counts: map[string]int{}}
}

// allow counts one request of key and reports whether it is within the
// limit, and if not, how long until the window ends.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.start) >= time.Minute {
		l.start = now
		clear(l.counts)
	}
	n, ok := l.counts[key]
	if !ok && len(l.counts) >= maxTracked {
		return true, 0
	}
	if n >= l.limit {
		return false, time.Minute - now.Sub(l.start)
	}
	l.counts[key] = n + 1
	return true, 0
}

// limitEntry refuses an address that opens study links too often with 429
// Too Many Requests, before any database work.
func (s *Server) limitEntry(next http.Handler) http.Handler {
	if s.entryLimiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.entryLimiter.allow(s.limitKey(r))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		v := web.ErrorView{Page: web.Page{Title: "Too many requests", Study: "cubelab"}, Status: http.StatusTooManyRequests,
			Message: "This study link was opened too many times from your network in the last minute. Please wait a minute and open it again."}
		if err := render(w, r, http.StatusTooManyRequests, web.Error(v)); err != nil {
			s.log.WarnContext(r.Context(), "writing a 429 page failed", "err", err)
		}
	})
}

// limitKey is the address a limit counts: the peer's, or behind a trusted
// reverse proxy the one the proxy appended last to X-Forwarded-For (entries
// before it were written by the client and prove nothing).
func (s *Server) limitKey(r *http.Request) string {
	if s.trustForwarded {
		xff := r.Header.Values("X-Forwarded-For")
		if len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				return last
			}
		}
	}
	return clientIP(r)
}
