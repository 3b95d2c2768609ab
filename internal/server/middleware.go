package server

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// contentSecurityPolicy allows nothing inline and nothing from elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries. Behind https
// (BASE_URL https://), browsers are told to use nothing else for a year.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	hsts := strings.HasPrefix(s.baseURL, "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		setHeaders(h, "Content-Security-Policy", contentSecurityPolicy, "X-Content-Type-Options", "nosniff",
			"Referrer-Policy", "same-origin", "X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// setHeaders sets headers as Header.Set does, each a name in canonical form
// followed by its value, with all their values in one allocation instead of
// one each: every response carries several.
func setHeaders(h http.Header, kv ...string) {
	if len(kv)%2 != 0 {
		panic("server: setHeaders takes names and values in pairs")
	}
	vs := make([]string, len(kv)/2)
	for i := range vs {
		vs[i] = kv[2*i+1]
		h[kv[2*i]] = vs[i : i+1 : i+1] // capped: an Add appends to a copy
	}
}

// logRequests logs one line per request. The query is left out: study links
// carry participants' Prolific ids.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Duration("took", time.Since(start)))
	})
}

// participantOrigin refuses a participant's POST sent from another site's
// page: a browser says where a form came from in Origin (or, failing that,
// Referer, or Sec-Fetch-Site). A request naming no source at all (a script)
// is let through to the checks of its session; the cookie is SameSite=Lax,
// so another site's form cannot carry it anyway.
func (s *Server) participantOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			named := r.Header.Get("Referer") != "" || (r.Header.Get("Origin") != "" && r.Header.Get("Origin") != "null")
			crossSite := r.Header.Get("Sec-Fetch-Site") == "cross-site"
			if crossSite || (named && !s.sameOrigin(r)) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte("This form did not come from this study's pages, so nothing was recorded. Please open the study again from Prolific.\n"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; participant forms are a few hundred bytes.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}
