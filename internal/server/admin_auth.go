package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/web"
)

// Cookies of the admin side. Both are limited to /admin, HttpOnly and
// SameSite=Lax, and Secure when the server is reached over TLS.
const (
	adminCookie      = "cubelab_admin"
	loginCSRFCookie  = "cubelab_login"
	adminCookiePath  = "/admin"
	csrfField        = "csrf"
	maxAdminFormSize = 1 << 20 // every admin body but the two uploads
)

// dummyHash is checked against when a login names no account, so that a
// wrong email takes as long as a wrong password and reveals nothing.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$h6HcBZ2b3tC0TmRvCHxxsZCuMw0OzP2JtDzS7Z1C4D0"

type ctxKey int

const sessionKey ctxKey = 1

// adminSession is the session requireAdmin put in the request's context.
func adminSession(r *http.Request) account.Session {
	ses, _ := r.Context().Value(sessionKey).(account.Session)
	return ses
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.baseURL, "https://")
}

func (s *Server) setAdminCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: adminCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

// requireAdmin lets a request through only with a valid session: a page
// request without one goes to the login page, anything else gets 401.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ses account.Session
		var err error = problem.Errorf(problem.EUNAUTHORIZED, "Please log in.")
		if c, cerr := r.Cookie(adminCookie); cerr == nil && c.Value != "" {
			ses, err = s.store.AdminSession(r.Context(), tokenHash(c.Value))
		}
		if err != nil {
			if problem.Code(err) == problem.EUNAUTHORIZED && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				_ = redirect(w, r, "/admin/login?next="+url.QueryEscape(r.URL.RequestURI()))
				return
			}
			s.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey, ses)))
	})
}

// unsafe reports whether a method may change state.
func unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// sameOrigin checks that a state-changing request comes from a page of this
// site: the Origin header, or the Referer when a browser sends no Origin. A
// request carrying neither is refused; every browser sends Origin on a POST.
// With BASE_URL set, the site is BASE_URL's scheme and host (behind a proxy
// that rewrites Host, the request's Host is the proxy's upstream, not the
// browser's); without it, the request's Host.
func (s *Server) sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return false
	}
	if base, err := url.Parse(s.baseURL); err == nil && base.Host != "" {
		return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Host, base.Host)
	}
	return strings.EqualFold(u.Host, r.Host)
}

// checkCSRF refuses an unsafe request unless it comes from this host and
// carries the session's CSRF token in its form, compared in constant time.
func (s *Server) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unsafe(r.Method) {
			ses := adminSession(r)
			got := r.PostFormValue(csrfField)
			if !s.sameOrigin(r) || ses.CSRFToken == "" ||
				subtle.ConstantTimeCompare([]byte(got), []byte(ses.CSRFToken)) != 1 {
				s.Error(w, r, problem.Errorf(problem.EFORBIDDEN,
					"This form has expired or did not come from this site. Go back, reload the page and try again."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// safeNext keeps a post-login redirect on the admin side of this site.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/admin/"
}

// handleLoginPage shows the login form and gives the browser the
// double-submit token the form must send back: a login form posted from
// another site cannot know it.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) error {
	token := randomToken()
	s.setAdminCookie(w, r, loginCSRFCookie, token, 3600)
	return render(w, r, http.StatusOK, web.Login(web.LoginView{
		AdminPage: web.AdminPage{Title: "Log in"}, LoginCSRF: token, Next: safeNext(r.URL.Query().Get("next")),
	}))
}

// clientIP is the peer's address. The login limit counts limitKey, which
// uses X-Forwarded-For only behind a reverse proxy the server was told to trust.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// withPasswordSlot runs f, argon2 work (64 MiB and most of a core each), in
// one of the bounded slots of s.logins, and reports busy, without running f,
// when every slot is taken: a burst is answered at once rather than queued,
// so it holds neither memory nor connections.
func (s *Server) withPasswordSlot(f func()) (busy bool) {
	select {
	case s.logins <- struct{}{}:
	default:
		return true
	}
	defer func() { <-s.logins }()
	f()
	return false
}

// handleLogin checks the password, within the limits on failed attempts per
// address and per email, and starts a session.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email := strings.TrimSpace(r.PostFormValue("email"))
	next := safeNext(r.PostFormValue("next"))
	fail := func(status int, msg string) error {
		token := randomToken()
		s.setAdminCookie(w, r, loginCSRFCookie, token, 3600)
		return render(w, r, status, web.Login(web.LoginView{
			AdminPage: web.AdminPage{Title: "Log in"}, LoginCSRF: token, Email: email, Next: next, Error: msg,
		}))
	}
	c, err := r.Cookie(loginCSRFCookie)
	if !s.sameOrigin(r) || err != nil || c.Value == "" ||
		subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		return fail(http.StatusForbidden, "The login form expired. Please try again.")
	}
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return fail(http.StatusUnauthorized, "Wrong email or password.")
	}
	ip := s.limitKey(r)
	counts, err := s.store.LoginFailures(ctx, ip, norm, account.Window)
	if err != nil {
		return err
	}
	if counts.Refused() {
		w.Header().Set("Retry-After", "900")
		return fail(http.StatusTooManyRequests, "Too many failed logins from this address. Please wait 15 minutes and try again.")
	}
	// Failures for this email from elsewhere only slow each attempt down:
	// a refusal would let anyone lock the owner out.
	if d := account.EmailDelay(counts.ByEmail); d > 0 {
		if err := s.delay(ctx, d); err != nil {
			return nil // the client left
		}
	}
	admin, hash, err := s.store.AdminByEmail(ctx, norm)
	if problem.Code(err) == problem.ENOTFOUND {
		hash = dummyHash
	} else if err != nil {
		return err
	}
	var cerr error
	if s.withPasswordSlot(func() { cerr = account.Check(r.PostFormValue("password"), hash) }) {
		w.Header().Set("Retry-After", "5")
		return fail(http.StatusTooManyRequests, "Too many logins are being checked at this moment. Please wait a few seconds and try again.")
	}
	if cerr != nil || admin.ID.String() == "00000000-0000-0000-0000-000000000000" {
		if err := s.store.RecordLoginFailure(ctx, ip, norm); err != nil {
			return err
		}
		return fail(http.StatusUnauthorized, "Wrong email or password.")
	}
	token, hashed := newToken()
	if err := s.store.CreateAdminSession(ctx, admin.ID, hashed, randomToken(), s.now().Add(account.SessionLifetime)); err != nil {
		return err
	}
	s.setAdminCookie(w, r, adminCookie, token, int(account.SessionLifetime/time.Second))
	s.setAdminCookie(w, r, loginCSRFCookie, "", -1)
	return redirect(w, r, next)
}

// handleLogout deletes the session's row, so the cookie is worthless even
// if it was copied.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(adminCookie); err == nil {
		if err := s.store.DeleteAdminSession(r.Context(), tokenHash(c.Value)); err != nil {
			return err
		}
	}
	s.setAdminCookie(w, r, adminCookie, "", -1)
	return redirect(w, r, "/admin/login")
}
