package server_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
)

// clock is a settable time for the limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestEntryRateLimit(t *testing.T) {
	t.Parallel()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	pgtest.NewStudy(t, store, "towers", 2)
	clk := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	h := server.New(server.Config{Store: store, EntryLimit: 3, Now: clk.now}).Handler()
	e := &env{pool: pool}

	enter := func(addr string, i int) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/s/towers?PROLIFIC_PID="+pid(i), nil)
		r.RemoteAddr = addr + ":40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 3 {
		if w := enter("203.0.113.7", i); w.Code != http.StatusSeeOther {
			t.Fatalf("entry %d = %d, want 303", i, w.Code)
		}
	}
	w := enter("203.0.113.7", 3)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("fourth entry in a minute = %d (Retry-After %q), want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if n := e.count(t, `SELECT count(*) FROM participants`); n != 3 {
		t.Fatalf("%d participants after a refused entry, want 3", n)
	}
	t.Run("OtherAddress", func(t *testing.T) {
		if w := enter("198.51.100.1", 10); w.Code != http.StatusSeeOther {
			t.Fatalf("another address = %d, want 303", w.Code)
		}
	})
	t.Run("OnlyTheEntry", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/s/towers/consent", nil)
		r.RemoteAddr = "203.0.113.7:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusTooManyRequests {
			t.Fatalf("a page after the entry was limited")
		}
	})
	t.Run("NextMinute", func(t *testing.T) {
		clk.add(time.Minute)
		if w := enter("203.0.113.7", 4); w.Code != http.StatusSeeOther {
			t.Fatalf("entry a minute later = %d, want 303", w.Code)
		}
	})
}

// TestEntryRateLimitBehindProxy: behind a trusted proxy every request comes
// from the proxy's address, and the limit counts the client's instead.
func TestEntryRateLimitBehindProxy(t *testing.T) {
	t.Parallel()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	pgtest.NewStudy(t, store, "towers", 1)
	h := server.New(server.Config{Store: store, EntryLimit: 2, TrustForwarded: true}).Handler()
	enter := func(forwarded string, i int) int {
		r := httptest.NewRequest("GET", "/s/towers?PROLIFIC_PID="+pid(i), nil)
		r.RemoteAddr = "10.0.0.2:5000" // the proxy
		r.Header.Set("X-Forwarded-For", forwarded)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range 2 {
		if c := enter("1.1.1.1, 203.0.113.7", i); c != http.StatusSeeOther {
			t.Fatalf("entry %d = %d", i, c)
		}
	}
	// A forged first entry does not help: the proxy's own entry comes last.
	if c := enter("9.9.9.9, 203.0.113.7", 2); c != http.StatusTooManyRequests {
		t.Fatalf("third entry from 203.0.113.7 = %d, want 429", c)
	}
	if c := enter("198.51.100.1", 3); c != http.StatusSeeOther {
		t.Fatalf("another client behind the proxy = %d, want 303", c)
	}
}
