package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
)

// newEnvAt is newEnv with the server's clock given.
func newEnvAt(t *testing.T, n int, now func() time.Time) *env {
	t.Helper()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "towers", n)
	srv := httptest.NewServer(server.New(server.Config{Store: store, Now: now}).Handler())
	t.Cleanup(srv.Close)
	return &env{srv: srv, pool: pool, store: store, study: st}
}

func link(i int, sessionID string) string {
	return "/s/towers?PROLIFIC_PID=" + pid(i) + "&STUDY_ID=" + prolificStudy + "&SESSION_ID=" + sessionID
}

// TestIdentity: a record is bound to the Prolific session that opened it;
// a linked study takes only links with its STUDY_ID; a link without
// PROLIFIC_PID records nothing and says why; a POST from another site's page
// is refused.
func TestIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	ctx := context.Background()
	t.Run("ErrOtherSession", func(t *testing.T) {
		a := e.client(t)
		if p := e.do(t, a, "GET", link(1, session(1)), nil); p.status != http.StatusSeeOther {
			t.Fatalf("first opening = %d", p.status)
		}
		if p := e.do(t, a, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}}); p.status != http.StatusSeeOther {
			t.Fatalf("consent = %d", p.status)
		}
		b := e.client(t)
		p := e.do(t, b, "GET", link(1, session(2)), nil)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "another Prolific session") || p.header.Get("Set-Cookie") != "" {
			t.Fatalf("another SESSION_ID = %d, cookie %q:\n%s", p.status, p.header.Get("Set-Cookie"), p.body)
		}
		for _, path := range []string{"/s/towers/instructions", "/s/towers/trial", "/s/towers/done"} {
			if p := e.do(t, b, "GET", path, nil); p.status != http.StatusUnauthorized {
				t.Errorf("GET %s from the other session = %d, want 401", path, p.status)
			}
		}
		if p := e.do(t, b, "POST", "/s/towers/about-you", url.Values{"skip": {"yes"}}); p.status != http.StatusUnauthorized {
			t.Errorf("about-you from the other session = %d, want 401", p.status)
		}
		// The same session on another device resumes the record.
		c := e.client(t)
		if p := e.do(t, c, "GET", link(1, session(1)), nil); p.status != http.StatusSeeOther || p.location != "/s/towers/instructions" {
			t.Fatalf("same SESSION_ID elsewhere = %d %q, want the current step", p.status, p.location)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_session_id = $1`, session(1)); n != 1 {
			t.Fatalf("%d records for the session", n)
		}
	})
	t.Run("StudyID", func(t *testing.T) {
		if _, err := e.pool.Exec(ctx, `UPDATE studies SET prolific_study_id = $1`, prolificStudy); err != nil {
			t.Fatal(err)
		}
		defer e.pool.Exec(ctx, `UPDATE studies SET prolific_study_id = ''`)
		for name, c := range map[string]struct {
			query string
			says  string
		}{
			"ErrMissing": {"PROLIFIC_PID=" + pid(5) + "&SESSION_ID=" + session(5), "STUDY_ID, so it cannot be checked"},
			"ErrWrong":   {"PROLIFIC_PID=" + pid(5) + "&SESSION_ID=" + session(5) + "&STUDY_ID=60ffe5c8371090c7041d43fa", "different Prolific study"},
		} {
			p := e.do(t, e.client(t), "GET", "/s/towers?"+c.query, nil)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, c.says) {
				t.Errorf("%s: %d:\n%s", name, p.status, p.body)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1`, pid(5)); n != 0 {
			t.Fatalf("a refused link made a record")
		}
		if p := e.do(t, e.client(t), "GET", link(5, session(5)), nil); p.status != http.StatusSeeOther {
			t.Fatalf("the right STUDY_ID = %d", p.status)
		}
	})
	t.Run("ErrNoPID", func(t *testing.T) {
		before := e.count(t, `SELECT count(*) FROM participants`)
		p := e.do(t, e.client(t), "GET", "/s/towers", nil)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "must be opened from Prolific") || p.header.Get("Set-Cookie") != "" {
			t.Fatalf("link without PID = %d:\n%s", p.status, p.body)
		}
		if e.count(t, `SELECT count(*) FROM participants`) != before {
			t.Fatal("a link without PID made a record")
		}
	})
	t.Run("ErrCrossOrigin", func(t *testing.T) {
		c := e.client(t)
		e.do(t, c, "GET", link(7, session(7)), nil)
		req, _ := http.NewRequest("POST", e.srv.URL+"/s/towers/consent", strings.NewReader("consent=yes"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST from another origin = %d, want 403", resp.StatusCode)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND consented_at IS NOT NULL`, pid(7)); n != 0 {
			t.Fatal("a POST from another origin was recorded")
		}
		req, _ = http.NewRequest("POST", e.srv.URL+"/s/towers/consent", strings.NewReader("consent=yes"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.srv.URL)
		if resp, err = c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST from the study's own page = %v %v", resp, err)
		}
		resp.Body.Close()
	})
}

// TestReservationWindow: 100 made-up PIDs that open the link and never
// answer fill a 100-place study; past the reservation window (the server's
// clock moved on) they hold no place.
func TestReservationWindow(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	e := newEnvAt(t, 2, clk.now)
	for i := range 100 {
		if p := e.do(t, e.client(t), "GET", link(100+i, session(100+i)), nil); p.status != http.StatusSeeOther {
			t.Fatalf("made-up PID %d = %d", i, p.status)
		}
	}
	if p := e.do(t, e.client(t), "GET", link(1, session(1)), nil); p.status != http.StatusGone || !strings.Contains(p.body, "All places") {
		t.Fatalf("a real participant with every place held = %d:\n%s", p.status, p.body)
	}
	// The clock moves to just past the window of the last of them.
	var last time.Time
	if err := e.pool.QueryRow(context.Background(), `SELECT max(started_at) FROM participants`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	clk.mu.Lock()
	clk.t = last.Add(time.Duration(study.DefaultReservationMinutes)*time.Minute + time.Second)
	clk.mu.Unlock()
	c := e.client(t)
	if p := e.do(t, c, "GET", link(1, session(1)), nil); p.status != http.StatusSeeOther {
		var started, limit, now string
		_ = e.pool.QueryRow(context.Background(), `SELECT max(started_at)::text, max(st.reservation_minutes)::text, $1::timestamptz::text
			FROM participants p JOIN studies st ON st.id = p.study_id`, clk.now()).Scan(&started, &limit, &now)
		t.Fatalf("after the window = %d (latest start %s, window %s min, clock %s):\n%s", p.status, started, limit, now, p.body)
	}
	if n := e.count(t, `SELECT count(*) FROM participants WHERE status = 'timed_out' AND status_reason LIKE '%reservation%'`); n != 100 {
		t.Fatalf("%d of 100 made-up PIDs released", n)
	}
	if n := e.count(t, `SELECT count(*) FROM participants WHERE status = 'started'`); n != 1 {
		t.Fatalf("%d participants hold a place, want 1", n)
	}
}
