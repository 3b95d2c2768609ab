package server

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/web"
)

// maxModelUpload bounds a model output file: a batch output line is a few
// kilobytes, so 64 MB holds some ten thousand answers with room to spare.
const maxModelUpload = 64 << 20

// uploadMemory is how much of an upload is kept in memory; the rest of the
// file waits in a temporary file until the request ends.
const uploadMemory = 8 << 20

// handleModels shows the models page.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) error {
	v, err := s.modelsView(r, web.ModelForm{Format: "auto"})
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.Models(v))
}

// modelsView fills the page's lists from the database.
func (s *Server) modelsView(r *http.Request, form web.ModelForm) (web.ModelsView, error) {
	ctx := r.Context()
	v := web.ModelsView{AdminPage: adminPage(r, "Models", "models"), Form: form, MaxUpload: fmt.Sprintf("%d MB", maxModelUpload>>20)}
	sets, err := s.store.Sets(ctx)
	if err != nil {
		return v, err
	}
	for _, set := range sets {
		v.Sets = append(v.Sets, web.Option{Value: set.Name, Label: fmt.Sprintf("%s (%d items: %s)", set.Name, set.Items, set.Domains)})
	}
	studies, err := s.visibleStudies(r)
	if err != nil {
		return v, err
	}
	for _, st := range studies {
		v.Studies = append(v.Studies, web.Option{Value: studyURL(st.ID) + "/report",
			Label: fmt.Sprintf("Study %s (%s, %d completed)", st.Title, st.Slug, st.Completed)})
	}
	runs, err := s.store.ModelRuns(ctx, "")
	if err != nil {
		return v, err
	}
	for _, run := range runs {
		v.Runs = append(v.Runs, web.ModelRunRow{
			Set: run.Set, SetReport: setReportURL(run.Set), Model: run.Model, Condition: run.Condition, Trained: run.Trained,
			Seed: strconv.FormatInt(run.Seed, 10), Outputs: strconv.Itoa(run.Outputs), Flagged: strconv.Itoa(run.Flagged),
			NoAnswer: strconv.Itoa(run.NoAnswer), SourceFile: run.SourceFile, ImportedAt: when(run.ImportedAt),
		})
	}
	return v, nil
}

// handleModelUpload imports an uploaded model output file, all or nothing.
// Problems are shown on the page with the form as it was sent.
func (s *Server) handleModelUpload(w http.ResponseWriter, r *http.Request) error {
	form := web.ModelForm{
		Set: r.PostFormValue("set"), Model: strings.TrimSpace(r.PostFormValue("model")),
		Condition: strings.TrimSpace(r.PostFormValue("condition")), Seed: strings.TrimSpace(r.PostFormValue("seed")),
		Format: cmp.Or(r.PostFormValue("format"), "auto"), Replace: r.PostFormValue("replace") != "",
		Trained: strings.TrimSpace(r.PostFormValue("trained")),
	}
	refuse := func(status int, summary string, lines []string) error {
		v, err := s.modelsView(r, form)
		if err != nil {
			return err
		}
		v.Problem, v.LineErrors = summary, lines
		return render(w, r, status, web.Models(v))
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		return refuse(http.StatusBadRequest, "Choose a model output file to import. Nothing was stored.", nil)
	}
	defer file.Close()
	name := path.Base(strings.ReplaceAll(header.Filename, `\`, "/")) // browsers on Windows may send a full path
	opt := modelout.Options{Name: name, Model: form.Model, Condition: form.Condition}
	if opt.Format, err = modelout.ParseFormat(form.Format); err != nil {
		return refuse(http.StatusBadRequest, "Choose a format: recognise it, CSV, JSONL or OpenAI batch output.", nil)
	}
	if form.Seed != "" {
		seed, err := strconv.ParseInt(form.Seed, 10, 64)
		if err != nil {
			return refuse(http.StatusBadRequest, fmt.Sprintf("The seed must be a whole number, not %q. Nothing was stored.", form.Seed), nil)
		}
		opt.Seed = &seed
	}
	if form.Set == "" {
		return refuse(http.StatusBadRequest, "Choose the stimulus set the model answered. Nothing was stored.", nil)
	}
	var trained *analysis.Trained
	if form.Trained != "" {
		t, err := analysis.ParseTrained(form.Trained)
		if err != nil {
			return refuse(http.StatusBadRequest, fmt.Sprintf("Refused: %v. Nothing was stored.", err), nil)
		}
		trained = &t
	}

	rows, err := modelout.Parse(file, opt)
	if err == nil {
		var sum postgres.ImportSummary
		sum, err = s.store.ImportModelOutputs(r.Context(), postgres.ModelImport{Set: form.Set, SourceFile: name, Rows: rows, Replace: form.Replace, Trained: trained})
		if err == nil {
			s.log.InfoContext(r.Context(), "model outputs imported", "file", name, "set", form.Set, "runs", len(sum.Runs), "replaced", sum.Replaced)
			v, err := s.modelsView(r, web.ModelForm{Set: form.Set, Format: "auto"})
			if err != nil {
				return err
			}
			for _, run := range sum.Runs {
				v.Imported = append(v.Imported, fmt.Sprintf("Imported %s from %s on set %s: %d outputs, %d flagged, %d without a Yes/No answer.",
					run.Label(), name, run.Set, run.Outputs, run.Flagged, run.NoAnswer))
				if run.Trained != "" {
					v.Imported = append(v.Imported, fmt.Sprintf("%s is recorded as trained on %s.", run.Label(), run.Trained))
				}
			}
			if sum.Replaced > 0 {
				v.Imported = append(v.Imported, fmt.Sprintf("%d run(s) imported before were replaced.", sum.Replaced))
			}
			return render(w, r, http.StatusOK, web.Models(v))
		}
	}
	var lineErrs *problem.Lines
	switch code := problem.Code(err); {
	case errors.As(err, &lineErrs):
		return refuse(http.StatusUnprocessableEntity,
			fmt.Sprintf("%s was not imported: nothing was stored. Problems by line and field:", name), lineErrs.Strings())
	case errors.Is(err, modelout.ErrEmpty):
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("%s holds no model outputs: nothing was stored.", name), nil)
	case code == problem.EINVALID || code == problem.ECONFLICT || code == problem.ENOTFOUND:
		status, _ := statusOf(code)
		return refuse(status, problem.Message(err), nil)
	}
	return err
}

// fileSafe keeps letters, digits, dot, dash and underscore of a name for a
// download's file name, and turns anything else into a dash.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return r
		}
		return '-'
	}, s)
}

// handleBatchInput streams the OpenAI batch input of a set for a model.
func (s *Server) handleBatchInput(w http.ResponseWriter, r *http.Request) error {
	set, model := r.URL.Query().Get("set"), strings.TrimSpace(r.URL.Query().Get("model"))
	if set == "" || model == "" {
		return problem.Errorf(problem.EINVALID, "Choose a stimulus set and name the model the requests are for.")
	}
	if _, err := s.store.SetIDByName(r.Context(), set); err != nil {
		return err
	}
	if r.URL.Query().Get("split") != "" {
		return s.batchInputParts(w, r, set, model)
	}
	fileName := "batch-input-" + set + "-" + fileSafe(model) + ".jsonl"
	w.Header().Set("Content-Type", "application/jsonl")
	w.Header().Set("Content-Disposition", `attachment; filename="`+fileName+`"`)
	w.Header().Set("Cache-Control", "no-store")
	out := &slowClientWriter{w: w, rc: http.NewResponseController(w)}
	out.extend()
	n, err := s.store.WriteBatchInput(r.Context(), set, modelout.NewBatchWriter(out, model))
	if err != nil && out.n == 0 {
		w.Header().Del("Content-Disposition")
		return err
	}
	if err == nil {
		s.log.InfoContext(r.Context(), "batch input", "set", set, "model", model, "requests", n, "bytes", out.n)
	}
	return s.streamed(r, err)
}

// batchInputParts streams the batch input as a ZIP of parts split as the
// command line splits them (modelout.NewSplitBatchWriter: at 50,000
// requests or 190 MB, the batch API's limits), each part
// batch-input-SET-MODEL-001.jsonl, -002, ...; custom_ids are the stimulus
// ids in every part.
func (s *Server) batchInputParts(w http.ResponseWriter, r *http.Request, set, model string) error {
	stem := "batch-input-" + set + "-" + fileSafe(model)
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+stem+`.zip"`)
	w.Header().Set("Cache-Control", "no-store")
	out := &slowClientWriter{w: w, rc: http.NewResponseController(w)}
	out.extend()
	zw := zip.NewWriter(out)
	next := func(part int) (io.Writer, error) {
		return zw.Create(fmt.Sprintf("%s-%03d.jsonl", stem, part))
	}
	n, err := s.store.WriteBatchInput(r.Context(), set, modelout.NewSplitBatchWriter(next, model, 0, 0))
	if err == nil {
		err = zw.Close()
	}
	if err != nil && out.n == 0 {
		w.Header().Del("Content-Disposition")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		return err
	}
	if err == nil {
		s.log.InfoContext(r.Context(), "batch input parts", "set", set, "model", model, "requests", n, "bytes", out.n)
	}
	return s.streamed(r, err)
}

// setReportURL is the report page of a stimulus set; set names are
// restricted to characters that need no escaping in a path.
func setReportURL(set string) string { return "/admin/sets/" + set + "/report" }
