package server_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/server"
)

// adminToken is the session token of c's admin cookie, hashed as stored.
func adminToken(t *testing.T, e *adminEnv, c *http.Client) []byte {
	t.Helper()
	u, _ := url.Parse(e.srv.URL + "/admin/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "cubelab_admin" {
			sum := sha256.Sum256([]byte(ck.Value))
			return sum[:]
		}
	}
	t.Fatal("no admin cookie")
	return nil
}

// A password changed (from a session) or reset (from the command line) ends
// every other session of the account: a stolen cookie stops working.
func TestPasswordChangeEndsSessions(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	here, there := noRedirects(), noRedirects()
	e.login(t, here, adminPassword)
	e.login(t, there, adminPassword)
	loggedIn := func(c *http.Client) bool {
		resp, _ := e.get(t, c, "/admin/")
		return resp.StatusCode == http.StatusOK
	}
	hash, _ := account.Hash("another long password", account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err := e.store.ChangeAdminPassword(ctx, adminEmail, hash, adminToken(t, e, here)); err != nil {
		t.Fatal(err)
	}
	if !loggedIn(here) || loggedIn(there) {
		t.Errorf("after a change from one session: that one logged in %v (want true), the other %v (want false)", loggedIn(here), loggedIn(there))
	}
	if err := e.store.SetAdminPassword(ctx, adminEmail, hash); err != nil {
		t.Fatal(err)
	}
	if loggedIn(here) {
		t.Error("after a reset, a session is still alive")
	}
}

// loginFrom logs in as email with password from the address addr (as the
// trusted proxy reports it).
func loginFrom(t *testing.T, e *adminEnv, addr, email, password string) int {
	t.Helper()
	c := noRedirects()
	_, body := e.get(t, c, "/admin/login")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no login form")
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/login",
		strings.NewReader(url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Five wrong passwords for an account lock that address out of it, not the
// owner: from another address the owner logs in, after a delay that makes
// guessing from many addresses slow.
func TestLoginLimitPerEmailOnlySlows(t *testing.T) {
	t.Parallel()
	e := newAdminEnvWith(t, server.Config{TrustForwarded: true})
	delays := e.server.RecordDelays()
	for i := range account.MaxFailuresEmail {
		if st := loginFrom(t, e, "203.0.113.9", adminEmail, "wrong password!"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, st)
		}
	}
	if st := loginFrom(t, e, "203.0.113.9", adminEmail, adminPassword); st != http.StatusTooManyRequests {
		t.Errorf("the guessing address, right password: %d, want 429", st)
	}
	if st := loginFrom(t, e, "198.51.100.7", adminEmail, adminPassword); st != http.StatusSeeOther {
		t.Errorf("the owner from another address: %d, want 303 (logged in)", st)
	}
	got := delays()
	if len(got) == 0 || got[len(got)-1] != time.Second {
		t.Errorf("delays %v: the owner's login should have waited 1s", got)
	}
}

// Behind https, every response tells the browser to use nothing else.
func TestHSTS(t *testing.T) {
	t.Parallel()
	e := newAdminEnvWith(t, server.Config{BaseURL: "https://lab.example.org"})
	resp, _ := e.get(t, noRedirects(), "/admin/login")
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("with an https BASE_URL: Strict-Transport-Security %q", got)
	}
	plain := newAdminEnv(t)
	resp, _ = plain.get(t, noRedirects(), "/admin/login")
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("without https: Strict-Transport-Security %q", got)
	}
}

// A participant's session ends a day after the study's time limit, in the
// database and in the cookie.
func TestParticipantSessionExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	c := e.client(t)
	entry := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(1)+"&STUDY_ID=s1&SESSION_ID=x1", nil)
	want := strconv.Itoa(e.study.TimeLimitMinutes*60 + 24*3600)
	if ck := entry.header.Get("Set-Cookie"); !strings.Contains(ck, "Max-Age="+want) {
		t.Errorf("cookie %q, want Max-Age=%s", ck, want)
	}
	ctx := context.Background()
	var exact bool
	if err := e.pool.QueryRow(ctx, `SELECT bool_and(expires_at - created_at = $1 * interval '1 minute' + interval '1 day') FROM participant_sessions`,
		e.study.TimeLimitMinutes).Scan(&exact); err != nil || !exact {
		t.Fatalf("expires_at is not created_at + time limit + a day: %v %v", exact, err)
	}
	if p := e.do(t, c, "GET", "/s/towers/consent", nil); p.status != http.StatusOK {
		t.Fatalf("consent with a live session: %d", p.status)
	}
	// A day and the time limit later.
	if _, err := e.pool.Exec(ctx, `UPDATE participant_sessions SET created_at = created_at - interval '2 days', expires_at = expires_at - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/s/towers/consent", "/s/towers/trial"} {
		if p := e.do(t, c, "GET", path, nil); p.status != http.StatusUnauthorized {
			t.Errorf("%s with an expired session: %d, want 401", path, p.status)
		}
	}
}
