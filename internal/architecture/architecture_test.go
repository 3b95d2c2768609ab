package architecture

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cubelab/cubelab"

// A rule forbids every package matching From to depend, directly or through
// other packages, on a package matching one of To. Patterns are import paths
// relative to the module ("internal/study"), or absolute ones for the
// standard library and other modules ("net/http", "github.com/jackc/pgx/...");
// a trailing "/..." matches the path and everything below it.
type rule struct {
	From []string
	To   []string
	Why  string
}

// pure are the packages of rules, computations, parsers and writers: no
// storage, no HTTP. modelout, prolific and loadgen are HTTP clients, so they
// may use net/http, but neither the store nor the server.
var pure = []string{
	"internal/account", "internal/analysis", "internal/csvout", "internal/cubeworld", "internal/export",
	"internal/plot", "internal/problem", "internal/stimulus", "internal/study", "internal/task",
}

var rules = []rule{
	{
		From: pure,
		To:   []string{"internal/postgres/...", "internal/server/...", "web/...", "net/http", "github.com/jackc/pgx/...", "github.com/go-chi/chi/..."},
		Why:  "pure packages know nothing of storage or HTTP",
	},
	{
		From: []string{"internal/modelout", "internal/prolific/...", "internal/loadgen"},
		To:   []string{"internal/postgres/...", "internal/server/...", "web/...", "github.com/jackc/pgx/..."},
		Why:  "HTTP clients know nothing of the store or the server",
	},
	{
		From: []string{"internal/postgres/..."},
		To:   []string{"internal/server/...", "web/...", "github.com/go-chi/chi/...", "github.com/a-h/templ/..."},
		Why:  "the store knows nothing of the web front end",
	},
	{
		From: []string{"web/..."},
		To:   []string{"internal/postgres/...", "internal/server/...", "github.com/jackc/pgx/..."},
		Why:  "templates render view models; they never reach the store",
	},
	{
		From: []string{"internal/problem"},
		To:   []string{"internal/...", "web/..."},
		Why:  "the one way to refuse is neutral: every package may use it, so it uses none of ours",
	},
	{
		From: []string{"cmd/..."},
		To:   []string{"testing", "internal/postgres/pgtest"},
		Why:  "a shipped binary does not link test code",
	},
}

// pkg is what the test reads of `go list -deps -json`.
type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// graph maps an import path to its direct (non-test) imports.
type graph map[string][]string

func loadGraph(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Standard", module+"/...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	g := graph{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		g[p.ImportPath] = p.Imports
	}
	if len(g[module+"/internal/study"]) == 0 {
		t.Fatalf("go list did not list %s/internal/study: the graph is not the module's", module)
	}
	return g
}

// matches reports whether path (absolute) matches pattern (module-relative or
// absolute, with an optional trailing "/...").
func matches(pattern, path string) bool {
	abs := pattern
	if strings.HasPrefix(pattern, "internal/") || strings.HasPrefix(pattern, "cmd/") || pattern == "web" || strings.HasPrefix(pattern, "web/") {
		abs = module + "/" + pattern
	}
	if base, ok := strings.CutSuffix(abs, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == abs
}

func matchesAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return matches(p, path) })
}

// violations lists, for every rule, each package that reaches a forbidden one,
// with the chain of imports that gets there (shortest first found).
func violations(g graph, rules []rule) []string {
	var found []string
	froms := make([]string, 0, len(g))
	for p := range g {
		froms = append(froms, p)
	}
	slices.Sort(froms)
	for _, r := range rules {
		for _, from := range froms {
			if !matchesAny(r.From, from) {
				continue
			}
			// Breadth first, so the chain printed is a shortest one.
			prev := map[string]string{from: ""}
			queue := []string{from}
			for len(queue) > 0 {
				p := queue[0]
				queue = queue[1:]
				for _, q := range g[p] {
					if _, seen := prev[q]; seen {
						continue
					}
					prev[q] = p
					if matchesAny(r.To, q) {
						chain := []string{q}
						for c := p; c != ""; c = prev[c] {
							chain = append(chain, c)
						}
						slices.Reverse(chain)
						for i := range chain {
							chain[i] = strings.TrimPrefix(chain[i], module+"/")
						}
						found = append(found, fmt.Sprintf("%s: %s", r.Why, strings.Join(chain, " -> ")))
						continue
					}
					queue = append(queue, q)
				}
			}
		}
	}
	return found
}

func TestImports(t *testing.T) {
	g := loadGraph(t)
	for _, v := range violations(g, rules) {
		t.Errorf("forbidden import (docs/ARCHITECTURE.md): %s", v)
	}
}

// TestRulesCatchForbiddenEdges checks the checker on a made-up graph: each
// forbidden edge, direct or through another package, is reported.
func TestRulesCatchForbiddenEdges(t *testing.T) {
	m := func(p string) string { return module + "/" + p }
	g := graph{
		m("internal/study"):           {m("internal/task"), m("internal/modelout")},
		m("internal/modelout"):        {"net/http"},
		m("internal/analysis"):        {"github.com/jackc/pgx/v5"},
		m("internal/postgres"):        {m("web")},
		m("web"):                      {m("internal/postgres")},
		m("cmd/loadgen"):              {m("internal/postgres/pgtest")},
		m("internal/postgres/pgtest"): {"testing"},
		m("internal/task"):            {"fmt"},
	}
	got := violations(g, rules)
	want := []string{
		"internal/study -> internal/modelout -> net/http",
		"internal/analysis -> github.com/jackc/pgx/v5",
		"internal/postgres -> web",
		"web -> internal/postgres",
		"cmd/loadgen -> internal/postgres/pgtest",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasSuffix(v, ": "+w) }) {
			t.Errorf("not reported: %s\ngot %q", w, got)
		}
	}
	clean := graph{m("internal/study"): {m("internal/task")}, m("internal/task"): {"fmt"}, m("cmd/server"): {m("internal/study")}}
	if v := violations(clean, rules); len(v) != 0 {
		t.Errorf("clean graph reported: %q", v)
	}
}
