package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/task"
)

// Markup a page must never carry: the CSP forbids inline scripts, inline
// event handlers and inline styles, and a page that needed them would break.
var (
	inlineScript  = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`)
	scriptSrc     = regexp.MustCompile(`(?i)\ssrc=`)
	inlineHandler = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	inlineStyle   = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
)

// TestHostileStudyTextAndHeaders gives a study a title and texts full of
// markup and walks a participant through it: every page shows the markup as
// text, carries no inline script, handler or style, and every response (pages,
// redirects, pictures, errors, static files) carries the CSP with
// frame-ancestors 'none'.
func TestHostileStudyTextAndHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	if _, err := e.pool.Exec(context.Background(), `UPDATE studies SET title = $1, consent_text = $1, instructions_text = $1`, hostile); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	check := func(what string, p response) {
		t.Helper()
		csp := p.header.Get("Content-Security-Policy")
		if what == "image" {
			// A picture runs nothing and loads nothing (pictures_test.go).
			if csp != "default-src 'none'; sandbox" || p.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: CSP %q", what, csp)
			}
		} else if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") || p.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: CSP %q, X-Frame-Options %q", what, csp, p.header.Get("X-Frame-Options"))
		}
		if strings.Contains(p.body, "alert(") && !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the hostile text is not escaped:\n%s", what, p.body)
		}
		for _, tag := range inlineScript.FindAllString(p.body, -1) {
			if !scriptSrc.MatchString(tag) {
				t.Errorf("%s: inline script %q", what, tag)
			}
		}
		if m := inlineHandler.FindString(p.body); m != "" {
			t.Errorf("%s: inline event handler in %q", what, m)
		}
		if m := inlineStyle.FindString(p.body); m != "" {
			t.Errorf("%s: inline style in %q", what, m)
		}
		if strings.Contains(strings.ToLower(p.body), "javascript:") {
			t.Errorf("%s: a javascript: URL", what)
		}
	}

	entry := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(1), nil)
	check("entry", entry)
	check("preview", e.do(t, e.client(t), "GET", "/s/towers", nil))
	consent := e.do(t, c, "GET", "/s/towers/consent", nil)
	check("consent", consent)
	if !strings.Contains(consent.body, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;") {
		t.Fatalf("the consent page does not show the hostile text as text:\n%s", consent.body)
	}
	check("consent form", e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}}))
	check("instructions", e.do(t, c, "GET", "/s/towers/instructions", nil))
	check("about you", e.do(t, c, "GET", "/s/towers/about-you", nil))
	check("about you refused", e.do(t, c, "POST", "/s/towers/about-you", url.Values{"gender": {hostile}}))
	check("about you form", e.do(t, c, "POST", "/s/towers/about-you", url.Values{"skip": {"yes"}}))
	for pos := 1; pos <= 2; pos++ {
		trial := e.do(t, c, "GET", "/s/towers/trial", nil)
		check("trial", trial)
		check("image", e.do(t, c, "GET", "/s/towers/image/"+string(rune('0'+pos)), nil))
		check("answer refused", e.do(t, c, "POST", "/s/towers/trial", url.Values{"position": {"1"}, "answer": {hostile}}))
		check("answer", e.answer(t, c, pos, task.Yes))
	}
	check("end", e.do(t, c, "GET", "/s/towers/done", nil))
	check("not found", e.do(t, c, "GET", "/s/towers/%3Cscript%3E", nil))
	check("no session", e.do(t, e.client(t), "GET", "/s/towers/trial", nil))
	check("static", e.do(t, c, "GET", "/static/trial.js", nil))
	check("health", e.do(t, c, "GET", "/healthz", nil))

	// The session cookie: HttpOnly, SameSite, the study's path only, and
	// Secure whenever the server is public over HTTPS (BaseURL https://).
	if ck := entry.header.Get("Set-Cookie"); !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
		t.Errorf("session cookie %q", ck)
	}
	if entry.status != http.StatusSeeOther {
		t.Fatalf("entry = %d", entry.status)
	}
}

// TestSecureCookie: behind HTTPS (BaseURL https://) the session cookie is
// Secure, so a browser never sends it over plain HTTP.
func TestSecureCookie(t *testing.T) {
	t.Parallel()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	pgtest.NewStudy(t, store, "towers", 1)
	h := server.New(server.Config{Store: store, BaseURL: "https://lab.example.org"}).Handler()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/s/towers?PROLIFIC_PID="+pid(1), nil))
	ck := w.Header().Get("Set-Cookie")
	for _, want := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/s/towers"} {
		if !strings.Contains(ck, want) {
			t.Errorf("session cookie %q lacks %s", ck, want)
		}
	}
}

// TestBodyLimits posts a megabyte to every form a participant can reach, with
// a valid session: each is refused with 413 before anything is stored, and
// the admin login refuses it without a 5xx.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	c := e.client(t)
	if p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(1), nil); p.status != http.StatusSeeOther {
		t.Fatalf("entry = %d", p.status)
	}
	big := "consent=yes&age=30&position=1&answer=Yes&x=" + strings.Repeat("a", 1<<20)
	for _, path := range []string{"/s/towers/consent", "/s/towers/about-you", "/s/towers/trial"} {
		if p := postRaw(t, c, e.srv.URL+path, big); p.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with 1 MiB = %d, want 413", path, p.status)
		}
		if path == "/s/towers/consent" {
			// Consent properly, so that the next forms are reached.
			e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}})
		}
	}
	if p := postRaw(t, c, e.srv.URL+"/admin/login", "email=a&password="+strings.Repeat("a", 1<<20)); p.status < 400 || p.status >= 500 {
		t.Errorf("POST /admin/login with 1 MiB = %d, want a 4xx", p.status)
	}
	if n := e.count(t, `SELECT count(*) FROM participants WHERE demographics_at IS NOT NULL`) +
		e.count(t, `SELECT count(*) FROM responses`); n != 0 {
		t.Fatalf("oversized forms stored something (%d rows)", n)
	}
}

// TestHostileModelName imports a model output whose model name and study
// title are markup: the models page, the set's report and the study list
// show them as text.
func TestHostileModelName(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	const hostile = `<script>alert(1)</script>`
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE studies SET title = $1`, hostile); err != nil {
		t.Fatal(err)
	}
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	status, body := e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set", "format": "auto", "model": hostile},
		"out.jsonl", []byte(towersBatch(4)))
	if status != http.StatusOK {
		t.Fatalf("upload = %d:\n%s", status, body)
	}
	pages := map[string]string{"upload result": body}
	for _, path := range []string{"/admin/models", "/admin/sets/towers-set/report", "/admin/"} {
		resp, b := e.get(t, c, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		pages[path] = b
	}
	for name, b := range pages {
		if strings.Contains(b, hostile) {
			t.Errorf("%s shows the markup as markup", name)
		}
	}
	if !strings.Contains(pages["/admin/models"], "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the models page does not show the model name as text:\n%s", pages["/admin/models"])
	}
	if !strings.Contains(pages["/admin/"], "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the study list does not show the title as text")
	}
}
