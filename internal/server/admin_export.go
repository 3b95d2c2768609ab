package server

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/study"
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
		DefaultSeed: strconv.FormatUint(export.DefaultSeed, 10)}
	studies, err := s.store.Studies(ctx)
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

// exportRequest reads a download's options from its query string; a value
// missing from the form takes the form's default.
func exportRequest(q url.Values) (postgres.ExportSelection, export.Options, error) {
	var sel postgres.ExportSelection
	var opts export.Options
	invalid := func(format string, args ...any) error { return study.Errorf(study.EINVALID, format, args...) }
	sel.Studies = nonEmpty(q["study"])
	sel.Set = q.Get("set")
	var err error
	if opts.Source, err = export.ParseSource(q.Get("source")); err != nil {
		return sel, opts, invalid("Choose a label source: every answer, majority, as collected or ground truth.")
	}
	switch {
	case len(sel.Studies) > 0 && sel.Set != "":
		return sel, opts, invalid("Choose studies or a stimulus set, not both.")
	case len(sel.Studies) == 0 && sel.Set == "":
		return sel, opts, invalid("Choose at least one study, or a stimulus set for the ground truth.")
	case sel.Set != "" && opts.Source != export.GroundTruth:
		return sel, opts, invalid("A stimulus set has no answers: with a set, choose the ground truth as the label source.")
	}
	if opts.Format, err = export.ParseFormat(q.Get("format")); err != nil {
		return sel, opts, invalid("Choose a format: TRL, LLaMA-Factory, chat messages, imagefolder, CSV or OpenAI.")
	}
	if opts.Ties, err = export.ParseTies(cmp.Or(q.Get("ties"), string(export.DropTies))); err != nil {
		return sel, opts, invalid("Choose what to do with tied majorities: drop them or toss a coin.")
	}
	if opts.ValidationFraction, err = strconv.ParseFloat(cmp.Or(q.Get("val"), "0.1"), 64); err != nil ||
		!(opts.ValidationFraction >= 0 && opts.ValidationFraction < 1) {
		return sel, opts, invalid("The validation share must be a number from 0 up to, not including, 1.")
	}
	if opts.Seed, err = strconv.ParseUint(cmp.Or(q.Get("seed"), strconv.FormatUint(export.DefaultSeed, 10)), 10, 64); err != nil {
		return sel, opts, invalid("The seed must be a whole number from 0.")
	}
	for _, d := range nonEmpty(q["domain"]) {
		dom, err := task.ParseDomain(d)
		if err != nil {
			return sel, opts, invalid("There is no task %q.", d)
		}
		sel.Filter.Domains = append(sel.Filter.Domains, dom)
	}
	for _, f := range nonEmpty(q["size"]) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return sel, opts, invalid("A size must be a whole number from 1, not %q.", f)
		}
		sel.Filter.Sizes = append(sel.Filter.Sizes, n)
	}
	sel.Filter.SetSplits = nonEmpty(q["split"])
	if ex := strings.TrimSpace(q.Get("exclude")); ex != "" {
		rule, err := study.ParseExclusion(ex)
		if err != nil {
			return sel, opts, err
		}
		sel.Exclude = &rule
	}
	opts.Filter = sel.Filter
	opts.Filter.Studies = sel.Studies
	return sel, opts, nil
}

func nonEmpty(values []string) []string {
	var out []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
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
		code := study.ErrorCode(err)
		if code != study.EINVALID && code != study.ENOTFOUND {
			return err
		}
		v, verr := s.exportView(r, q, study.ErrorMessage(err))
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
