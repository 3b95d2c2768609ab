package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
)

const (
	adminEmail    = "ada@example.org"
	adminPassword = "a long enough password"
)

// adminEnv is a server with one experimenter account and one published
// study with a participant.
type adminEnv struct {
	srv     *httptest.Server
	handler http.Handler
	server  *server.Server
	store   *postgres.Store
	study   study.Study
	part    study.Participant
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	return newAdminEnvWith(t, server.Config{})
}

// newAdminEnvWith is newAdminEnv with a server built from cfg (its Store is
// set here).
func newAdminEnvWith(t *testing.T, cfg server.Config) *adminEnv {
	t.Helper()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	// Cheap argon2 parameters: the hash records them, so Check uses them too.
	hash, err := account.Hash(adminPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAdmin(ctx, adminEmail, hash); err != nil {
		t.Fatal(err)
	}
	st := pgtest.NewStudy(t, store, "towers", 4)
	p, err := store.Join(ctx, st, prolific.Params{PID: pid(1)}, 1, []byte("01234567890123456789012345678901"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = store
	s := server.New(cfg)
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &adminEnv{srv: srv, handler: h, server: s, store: store, study: st, part: p}
}

// noRedirects is a cookie-keeping client that shows every redirect.
func noRedirects() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post sends a form as a browser on this site would: with an Origin header.
func (e *adminEnv) post(t *testing.T, c *http.Client, path string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (e *adminEnv) get(t *testing.T, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// login logs c in and returns the session's CSRF token.
func (e *adminEnv) login(t *testing.T, c *http.Client, password string) (*http.Response, string) {
	t.Helper()
	return e.loginAs(t, c, "ADA@example.org ", password)
}

// loginAs is login with any email.
func (e *adminEnv) loginAs(t *testing.T, c *http.Client, email, password string) (*http.Response, string) {
	t.Helper()
	_, body := e.get(t, c, "/admin/login")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("login page has no CSRF field:\n%s", body)
	}
	resp := e.post(t, c, "/admin/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}}, e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		return resp, ""
	}
	_, page := e.get(t, c, "/admin/")
	m = csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("logged in, but the study list has no CSRF field:\n%s", page)
	}
	return resp, m[1]
}

// adminRoutes lists every /admin route of the real route table with its
// parameters filled in, except the login form.
func (e *adminEnv) adminRoutes(t *testing.T) []struct{ method, path string } {
	t.Helper()
	var out []struct{ method, path string }
	fill := strings.NewReplacer("{id}", e.study.ID.String(), "{participant}", e.part.ID.String(),
		"{action}", "approve", "{number}", "1", "{review}", "1", "{stimulus}", "00000000-0000-0000-0000-000000000001")
	err := chi.Walk(e.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !strings.HasPrefix(route, "/admin") || route == "/admin/login" {
			return nil
		}
		out = append(out, struct{ method, path string }{method, fill.Replace(route)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("only %d admin routes found: %v", len(out), out)
	}
	return out
}

// Every admin route refuses a request without a session, and every unsafe
// one a request without the CSRF token or from another site, even with a
// session. The list comes from the route table, so a new route is covered.
func TestAdminRoutesNeedSessionAndCSRF(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	anon := noRedirects()
	user := noRedirects()
	resp, token := e.login(t, user, adminPassword)
	if token == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	routes := e.adminRoutes(t)
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			req, _ := http.NewRequest(rt.method, e.srv.URL+rt.path, strings.NewReader(url.Values{"csrf": {token}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", e.srv.URL)
			resp, err := anon.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if rt.method == "GET" {
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
					t.Errorf("without a session: %d %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without a session: %d, want 401", resp.StatusCode)
			}
			for name, c := range map[string]struct {
				form   url.Values
				origin string
			}{
				"no token":    {url.Values{}, e.srv.URL},
				"wrong token": {url.Values{"csrf": {token + "x"}}, e.srv.URL},
				"other site":  {url.Values{"csrf": {token}}, "https://evil.example"},
				"no origin":   {url.Values{"csrf": {token}}, ""},
			} {
				if resp := e.post(t, user, rt.path, c.form, c.origin); resp.StatusCode != http.StatusForbidden {
					t.Errorf("with a session, %s: %d, want 403", name, resp.StatusCode)
				}
			}
		})
	}
	// The same session with the token and this site's origin gets through.
	if resp := e.post(t, user, "/admin/studies/"+e.study.ID.String()+"/status", url.Values{"csrf": {token}, "status": {"paused"}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a valid form was refused: %d", resp.StatusCode)
	}
}

func TestAdminLogin(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()

	// A login form without the double-submit token is refused.
	if resp := e.post(t, c, "/admin/login", url.Values{"email": {adminEmail}, "password": {adminPassword}}, e.srv.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without its token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.login(t, c, "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", resp.StatusCode)
	}
	resp, token := e.login(t, c, adminPassword)
	if token == "" {
		t.Fatalf("right password: %d", resp.StatusCode)
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "cubelab_admin" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/admin" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/admin", cookie)
	}
	// Logout deletes the session: the old cookie no longer works.
	if resp := e.post(t, c, "/admin/logout", url.Values{"csrf": {token}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	replay := noRedirects()
	u, _ := url.Parse(e.srv.URL + "/admin/")
	replay.Jar.SetCookies(u, []*http.Cookie{{Name: "cubelab_admin", Value: cookie.Value, Path: "/admin"}})
	if resp, _ := e.get(t, replay, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a logged-out session still opens the study list: %d", resp.StatusCode)
	}
}

// After five failures for one email, even the right password is refused.
func TestAdminLoginRateLimit(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	for i := range account.MaxFailuresEmail {
		if resp, _ := e.login(t, noRedirects(), "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := e.login(t, noRedirects(), adminPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures: %d, want 429", account.MaxFailuresEmail, resp.StatusCode)
	}
}

// After twenty failures from one address, for any emails, that address is
// refused even with the right password.
func TestAdminLoginRateLimitByAddress(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	for i := range account.MaxFailuresIP {
		if resp, _ := e.loginAs(t, noRedirects(), fmt.Sprintf("guess%d@example.org", i), "wrong password!"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp, _ := e.login(t, noRedirects(), adminPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d failures from one address: %d, want 429", account.MaxFailuresIP, resp.StatusCode)
	}
}

// While every place of the login semaphore is taken, a login is refused at
// once with 429 and a page saying so, not queued; it is not counted as a
// failure, and the same login succeeds once the places are free.
func TestAdminLoginConcurrencyBound(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	release := e.server.HoldLogins()
	c := noRedirects()
	c.Timeout = 10 * time.Second // a queued login would wait until release
	_, body := e.get(t, c, "/admin/login")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("login page has no CSRF field:\n%s", body)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/login",
		strings.NewReader(url.Values{"csrf": {m[1]}, "email": {adminEmail}, "password": {adminPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		release()
		t.Fatalf("login with the semaphore held: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	release()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(page), "Too many logins are being checked") ||
		resp.Header.Get("Retry-After") == "" {
		t.Fatalf("login with the semaphore held = %d, Retry-After %q:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), page)
	}
	if resp, _ := e.login(t, noRedirects(), adminPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after release = %d, want 303", resp.StatusCode)
	}
}

// The admin pages read the server's clock, not the system's: a session
// expires SessionLifetime after the clock's login time, and the monitor is
// stamped with it.
func TestAdminClock(t *testing.T) {
	t.Parallel()
	clock := time.Now().Add(-5*time.Hour - 17*time.Minute).Truncate(time.Second)
	e := newAdminEnvWith(t, server.Config{Now: func() time.Time { return clock }})
	c := noRedirects()
	if resp, _ := e.login(t, c, adminPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	var expires time.Time
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT max(expires_at) FROM admin_sessions`).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if want := clock.Add(account.SessionLifetime); !expires.Equal(want) {
		t.Errorf("session expires at %v, want %v (the clock's login time + %v)", expires, want, account.SessionLifetime)
	}
	resp, body := e.get(t, c, "/admin/studies/"+e.study.ID.String()+"/monitor")
	if stamp := clock.UTC().Format("15:04:05 UTC"); resp.StatusCode != http.StatusOK || !strings.Contains(body, stamp) {
		t.Errorf("monitor = %d, want it stamped %s:\n%s", resp.StatusCode, stamp, body)
	}
}
