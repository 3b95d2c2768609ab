package server

import (
	"context"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/go-chi/chi/v5"
)

// handleHealth answers 200 when the database answers and 503 when it does not,
// so a load balancer stops sending participants to a process that cannot
// record their answers.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ping(ctx); err != nil {
		s.log.WarnContext(ctx, "health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// staticFiles serves the embedded CSS and JavaScript. They change only with a
// new build, so browsers may keep them for an hour.
func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return problem.Errorf(problem.ENOTFOUND, "There is no page at this address.")
}

// methodNotAllowed answers 405 with the methods the address takes. chi's
// Match cannot say (it answers yes for any method below a sub-router), so
// the methods come from the route table itself.
func (s *Server) methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	type route struct {
		method string
		re     *regexp.Regexp
	}
	var table []route
	_ = chi.Walk(routes, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		re := routeParamRE.ReplaceAllString(regexp.QuoteMeta(pattern), `[^/]+`)
		if rest, ok := strings.CutSuffix(re, `/\*`); ok {
			re = rest + `(/.*)?`
		} else {
			re = strings.TrimSuffix(re, "/") + "/?" // chi routes a sub-router's "/" with or without it
		}
		table = append(table, route{method, regexp.MustCompile("^" + re + "$")})
		return nil
	})
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, rt := range table {
			if rt.re.MatchString(r.URL.Path) && !slices.Contains(allow, rt.method) {
				allow = append(allow, rt.method)
			}
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		err := withStatus(http.StatusMethodNotAllowed, "Not allowed this way",
			problem.Errorf(problem.EINVALID, "This address cannot be used with %s.", r.Method))
		s.Error(w, r, err)
	}
}

// routeParamRE is a {param} of a quoted route pattern.
var routeParamRE = regexp.MustCompile(`\\\{[a-z]+\\\}`)
