package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/cubelab/cubelab/web"
)

// handleExport shows the fine-tuning export form.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) error {
	v, err := s.exportView(r, nil, "")
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.Export(v))
}

// exportView fills the form's choices from the database.
func (s *Server) exportView(r *http.Request, form url.Values, msg string) (web.ExportView, error) {
	ctx := r.Context()
	v := web.ExportView{AdminPage: adminPage(r, "Fine-tuning export", "export"), Error: msg, Form: form,
		DefaultSeed: strconv.Itoa(export.DefaultSeed)}
	studies, err := s.visibleStudies(r)
	if err != nil {
		return v, err
	}
	for _, st := range studies {
		v.Studies = append(v.Studies, web.Option{Value: st.Slug,
			Label: fmt.Sprintf("%s (%s, %s, %d completed)", st.Title, st.Slug, st.Domain, st.Completed)})
	}
	sets, err := s.store.Sets(ctx)
	if err != nil {
		return v, err
	}
	for _, set := range sets {
		v.Sets = append(v.Sets, web.Option{Value: set.Name, Label: fmt.Sprintf("%s (%d items: %s)", set.Name, set.Items, set.Domains)})
	}
	for _, d := range task.Domains {
		v.Domains = append(v.Domains, web.Option{Value: string(d), Label: string(d)})
	}
	choices, err := s.store.ExportChoices(ctx)
	if err != nil {
		return v, err
	}
	for _, n := range choices.Sizes {
		v.Sizes = append(v.Sizes, strconv.Itoa(n))
	}
	v.Splits = choices.Splits
	return v, nil
}

// exportRequest reads a download's options from its query string, checked
// by export.Request as the command line's are; a value missing from the
// form takes the shared default.
func exportRequest(q url.Values) (postgres.ExportSelection, export.Options, error) {
	c, err := export.Request{
		Studies: q["study"], Set: q.Get("set"), Source: q.Get("source"), Format: q.Get("format"),
		Ties: q.Get("ties"), Val: q.Get("val"), Seed: q.Get("seed"),
		Domains: q["domain"], Sizes: q["size"], Splits: q["split"], Exclude: q.Get("exclude"),
	}.Check()
	if err != nil {
		return postgres.ExportSelection{}, export.Options{}, err
	}
	sel := postgres.ExportSelection{Studies: c.Studies, Set: c.Set, Filter: c.Options.Filter, Exclude: c.Exclude}
	return sel, c.Options, nil
}

// exportFileName names the download after what it holds; slugs and set
// names are already safe in a file name.
func exportFileName(sel postgres.ExportSelection, opts export.Options) string {
	what := sel.Set
	if len(sel.Studies) > 0 {
		what = sel.Studies[0]
		if n := len(sel.Studies) - 1; n > 0 {
			what += fmt.Sprintf("-and-%d-more", n)
		}
	}
	return fmt.Sprintf("cubelab-%s-%s-%s.zip", what, opts.Source, opts.Format)
}

// handleExportDownload streams the ZIP while it is written: the rows come
// off the database as the ZIP goes out, so memory stays flat however many
// answers there are. What can be refused is refused before the first byte,
// with the form shown again; a failure after it cuts the download short.
func (s *Server) handleExportDownload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	refuse := func(err error) error {
		code := problem.Code(err)
		if code != problem.EINVALID && code != problem.ENOTFOUND {
			return err
		}
		v, verr := s.exportView(r, q, problem.Message(err))
		if verr != nil {
			return verr
		}
		status, _ := statusOf(code)
		return render(w, r, status, web.Export(v))
	}
	sel, opts, err := exportRequest(q)
	if err != nil {
		return refuse(err)
	}
	if len(sel.Studies) > 0 {
		// Only studies this account sees (study.Study.VisibleTo).
		visible, err := s.visibleStudies(r)
		if err != nil {
			return err
		}
		for _, slug := range sel.Studies {
			if !slices.ContainsFunc(visible, func(v postgres.StudySummary) bool { return v.Slug == slug }) {
				return refuse(problem.Errorf(problem.ENOTFOUND, "There is no study %q.", slug))
			}
		}
	}
	x, err := s.store.OpenExport(ctx, sel)
	if err != nil {
		return refuse(err)
	}
	defer x.Close()
	if opts.Source == export.AsCollected {
		if err := x.CheckOnePerImage(ctx); err != nil {
			return refuse(err)
		}
	}
	opts.Modified = s.now().UTC().Truncate(time.Second)
	opts.Exclusion, opts.Excluded = x.Exclusion()

	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+exportFileName(sel, opts)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	out := &slowClientWriter{w: w, rc: http.NewResponseController(w)}
	out.extend() // the query sorts before the first byte goes out
	sum, err := export.Write(ctx, out, x.Rows(), x.Image, opts)
	if err != nil && out.n == 0 {
		w.Header().Del("Content-Disposition")
		return err // nothing sent yet: an ordinary error page
	}
	if err == nil {
		s.log.InfoContext(ctx, "export", "studies", sel.Studies, "set", sel.Set, "source", opts.Source,
			"format", opts.Format, "images", sum.Images, "examples", sum.Examples, "bytes", out.n)
	}
	return s.streamed(r, err)
}

// slowClientWriter moves the connection's write deadline forward while the
// download makes progress: the server's WriteTimeout suits pages, not a ZIP
// of gigabytes, but a client that stops reading must still be let go.
type slowClientWriter struct {
	w        io.Writer
	rc       *http.ResponseController
	n        int64
	deadline time.Time
}

const exportWriteGrace = time.Minute

// extend moves the deadline a minute ahead once half of it has passed, so
// that most writes cost no more than a clock read.
func (c *slowClientWriter) extend() {
	if now := time.Now(); c.deadline.Sub(now) < exportWriteGrace/2 {
		c.deadline = now.Add(exportWriteGrace)
		_ = c.rc.SetWriteDeadline(c.deadline) // unsupported by a test recorder: nothing to extend then
	}
}

func (c *slowClientWriter) Write(p []byte) (int, error) {
	c.extend()
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
