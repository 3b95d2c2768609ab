package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/cubeworld"
	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// The item pages of a study: people's share of Yes on each item against the
// models' P(Yes) (soft labels), and the items people answer against the
// ground truth more than chance. Both read the answers that the report counts
// (completed and approved participants, the study's exclusion rule,
// attention checks left out).

// studyItemAnswers reads a study and its people's answers to each item.
func (s *Server) studyItemAnswers(r *http.Request) (study.Study, []analysis.ItemAnswers, postgres.MatrixInfo, error) {
	st, err := s.studyParam(r)
	if err != nil {
		return st, nil, postgres.MatrixInfo{}, err
	}
	m, info, err := s.store.LoadMatrix(r.Context(), postgres.MatrixSelection{StudyID: st.ID, Models: []analysis.Condition{}})
	if err != nil {
		return st, nil, info, err
	}
	return st, analysis.HumanItemAnswers(m), info, nil
}

// softRows is what the soft-label page and its CSV show: each model's comparison.
type softModel struct {
	pyes postgres.ModelPYes
	cmp  analysis.SoftComparison
}

func (s *Server) softModels(r *http.Request, st study.Study, items []analysis.ItemAnswers) ([]softModel, error) {
	models, err := s.store.ModelPYesOf(r.Context(), postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		return nil, err
	}
	out := make([]softModel, len(models))
	for i, m := range models {
		out[i] = softModel{pyes: m, cmp: analysis.CompareSoft(items, m.PYes)}
	}
	return out, nil
}

// handleSoftLabels shows people's share of Yes on each item against each
// model's P(Yes): correlation and calibration curve.
func (s *Server) handleSoftLabels(w http.ResponseWriter, r *http.Request) error {
	st, items, info, err := s.studyItemAnswers(r)
	if err != nil {
		return err
	}
	models, err := s.softModels(r, st, items)
	if err != nil {
		return err
	}
	base := studyURL(st.ID)
	v := web.SoftView{
		AdminPage: adminPage(r, "Soft labels: "+st.Title, "studies"), Heading: "People's P(Yes) against the models': " + st.Title,
		StudyURL: base, ReportURL: base + "/report", CSVURL: base + "/soft.csv", DisagreementsURL: base + "/disagreements",
	}
	soft, answers := 0, 0
	for _, a := range items {
		if a.N >= analysis.MinSoftAnswers {
			soft++
		}
		answers += a.N
	}
	v.Facts = []string{
		fmt.Sprintf("%d items, %d of them answered by at least %d people", len(items), soft, analysis.MinSoftAnswers),
		fmt.Sprintf("%d answers from %d people", answers, info.Humans),
		fmt.Sprintf("%d models", len(models)),
	}
	if soft == 0 {
		v.Missing = append(v.Missing, fmt.Sprintf("No item has %d answers yet: a share of Yes needs several people per item.", analysis.MinSoftAnswers))
	}
	if len(models) == 0 {
		v.Missing = append(v.Missing, "No model outputs with a P(Yes) on this study's set yet: import them on the models page.")
	}
	fig := plot.Calibration{Title: "People's share of Yes against the model's P(Yes), by bins of P(Yes)"}
	for _, m := range models {
		name := plot.ModelLabel(analysis.ModelResult{Model: m.pyes.Model, Condition: m.pyes.Condition.Condition})
		v.Models = append(v.Models, web.SoftModelRow{
			Name: name, Seeds: strconv.Itoa(m.pyes.Seeds), Items: strconv.Itoa(m.cmp.Items),
			Pearson: pct(m.cmp.Pearson), CI: interval(m.cmp.Lo, m.cmp.Hi), MAD: pct(m.cmp.MeanAbsDiff),
		})
		fig.Series = append(fig.Series, plot.CalibrationSeries{Name: name, Bins: m.cmp.Bins})
	}
	if len(models) > 0 && soft > 0 {
		var svg bytes.Buffer
		if err := fig.Render(&svg); err != nil {
			return err
		}
		v.SVG = svg.String()
	}
	v.Method = fmt.Sprintf("An item's soft label is the share of its answers that are Yes, over items answered by at least %d people "+
		"(completed and approved participants under the study's exclusion rule; attention checks left out). A model's P(Yes) is its "+
		"softmax over the Yes and No tokens, averaged over seeds. Pearson's r over items, with a Fisher-z 95%% interval; the "+
		"calibration curve bins items by the model's P(Yes) in tenths and pools people's answers in each bin (Wilson 95%% intervals). "+
		"The CSV has one row per item and model.", analysis.MinSoftAnswers)
	return render(w, r, http.StatusOK, web.SoftLabels(v))
}

// handleSoftCSV downloads every item's soft label beside each model's P(Yes).
func (s *Server) handleSoftCSV(w http.ResponseWriter, r *http.Request) error {
	st, items, _, err := s.studyItemAnswers(r)
	if err != nil {
		return err
	}
	models, err := s.softModels(r, st, items)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	cw := csvout.NewWriter(&buf)
	if err := cw.Write([]string{"stimulus_id", "domain", "size", "ground_truth", "human_yes", "n_answers", "p_yes", "model", "condition", "model_p_yes"}); err != nil {
		return err
	}
	for _, a := range items {
		head := []string{a.Item.ID, string(a.Item.Task), strconv.Itoa(a.Item.Size), a.Item.Truth.String(), strconv.Itoa(a.Yes), strconv.Itoa(a.N), floatCell(a.PYes())}
		wrote := false
		for _, m := range models {
			p, ok := m.pyes.PYes[a.Item.ID]
			if !ok {
				continue
			}
			if err := cw.Write(append(head, m.pyes.Model, m.pyes.Condition.Condition, floatCell(p))); err != nil {
				return err
			}
			wrote = true
		}
		if !wrote {
			if err := cw.Write(append(head, "", "", "")); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return sendFile(w, st.Slug+"-soft-labels.csv", "text/csv; charset=utf-8", buf.Bytes())
}

// floatCell writes a float for a CSV cell; NaN is empty.
func floatCell(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// defaultFDR is the false discovery rate the disagreement list controls.
const defaultFDR = 0.05

// disagreementRequest reads the page's false discovery rate.
func disagreementRequest(r *http.Request) (float64, error) {
	s := strings.TrimSpace(r.URL.Query().Get("fdr"))
	if s == "" {
		return defaultFDR, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0 && f < 1) {
		return 0, problem.Errorf(problem.EINVALID, "The false discovery rate must be a number above 0 and below 1, such as 0.05, not %q.", clipTyped(s, 40))
	}
	return f, nil
}

// disagreementList tests every item and reads the margins and pictures of
// those the page lists: the found ones, or, when none is found, the ten
// nearest to it.
func (s *Server) disagreementList(r *http.Request) (study.Study, []analysis.Disagreement, float64, int, map[string]postgres.StudyItem, error) {
	fdr, err := disagreementRequest(r)
	if err != nil {
		return study.Study{}, nil, 0, 0, nil, err
	}
	st, items, _, err := s.studyItemAnswers(r)
	if err != nil {
		return st, nil, 0, 0, nil, err
	}
	d := analysis.Disagreements(items, fdr)
	listed := 0
	for listed < len(d) && d[listed].Found {
		listed++
	}
	if listed == 0 {
		listed = min(10, len(d))
	}
	ids := make([]string, listed)
	for i := range ids {
		ids[i] = d[i].Item.ID
	}
	stored, err := s.store.StudyItems(r.Context(), st.ID, ids)
	return st, d, fdr, listed, stored, err
}

// marginText says an item's statics margin in millimetres, from its stored
// scene: "+12.3 mm" stands with that to spare, "-4.0 mm" falls by that much.
func marginText(it postgres.StudyItem) (string, float64) {
	if len(it.Scene) == 0 {
		return "no scene", math.NaN()
	}
	var sc cubeworld.Scene
	if err := json.Unmarshal(it.Scene, &sc); err != nil {
		return "bad scene", math.NaN()
	}
	m, err := cubeworld.Margin(sc)
	if err != nil {
		return "undecided", math.NaN()
	}
	text := fmt.Sprintf("%+.1f mm", m*1000)
	if math.Abs(m) >= cubeworld.MarginLimit {
		text = fmt.Sprintf("%s%.0f mm or more", map[bool]string{true: "+", false: "-"}[m > 0], cubeworld.MarginLimit*1000)
	}
	return text, m
}

// handleDisagreements lists the items people answer against the ground
// truth more often than chance, with their pictures and statics margins.
func (s *Server) handleDisagreements(w http.ResponseWriter, r *http.Request) error {
	st, d, fdr, listed, stored, err := s.disagreementList(r)
	if err != nil {
		return err
	}
	base := studyURL(st.ID)
	v := web.DisagreementView{
		AdminPage: adminPage(r, "Where people and physics disagree: "+st.Title, "studies"),
		Heading:   "Where people and physics disagree: " + st.Title,
		StudyURL:  base, ReportURL: base + "/report", SoftURL: base + "/soft",
		CSVURL: base + "/disagreements.csv" + map[bool]string{true: "", false: "?fdr=" + strconv.FormatFloat(fdr, 'f', -1, 64)}[fdr == defaultFDR],
		FDR:    strconv.FormatFloat(fdr, 'f', -1, 64), Tested: len(d),
	}
	for _, x := range d {
		if x.Found {
			v.Found++
		}
	}
	switch {
	case len(d) == 0:
		v.Note = "No item has answers yet."
	case v.Found == 0:
		v.Note = fmt.Sprintf("No item is answered against the ground truth more often than chance at a false discovery rate of %s. "+
			"The %d items closest to it are listed, for a look.", v.FDR, listed)
	}
	for _, x := range d[:listed] {
		row := web.DisagreementRow{
			ID: x.Item.ID, Task: string(x.Item.Task), Size: strconv.Itoa(x.Item.Size), Truth: x.Item.Truth.String(),
			Against: fmt.Sprintf("%d of %d answers (%.0f%%)", x.Wrong, x.N, 100*float64(x.Wrong)/float64(x.N)),
			P:       pValue(x.P), Q: pValue(x.Q), Found: x.Found, Margin: "n/a",
		}
		if it, ok := stored[x.Item.ID]; ok {
			row.ImageURL = base + "/items/" + it.ID.String() + "/image"
			row.Margin, _ = marginText(it)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Method = fmt.Sprintf("For each item answered by anyone, a one-sided exact binomial test of H0: a person answers it against the "+
		"ground truth with probability at most 1/2 (a coin toss between Yes and No), on the answers of completed and approved "+
		"participants under the study's exclusion rule. The p-values of all %d items tested are adjusted by Benjamini and "+
		"Hochberg's procedure; an item is listed when its adjusted p (q) is at most %s. Few answers per item cannot reach it: "+
		"5 of 5 wrong gives p = 0.031. The statics margin is how far the blocks asked about lie from the stability boundary "+
		"(positive: they stand with that to spare; negative: they fall by that much), computed from the stored scene; near 0 "+
		"suggests a bad stimulus, far from 0 a candidate illusion. The CSV holds every item tested.", len(d), v.FDR)
	return render(w, r, http.StatusOK, web.Disagreements(v))
}

// pValue writes a p-value for people: three significant digits, small ones in e-notation.
func pValue(p float64) string {
	if p < 0.001 {
		return strconv.FormatFloat(p, 'e', 2, 64)
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// handleDisagreementsCSV downloads every item's test, the listed ones with
// their margins.
func (s *Server) handleDisagreementsCSV(w http.ResponseWriter, r *http.Request) error {
	st, d, fdr, _, stored, err := s.disagreementList(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	cw := csvout.NewWriter(&buf)
	if err := cw.Write([]string{"stimulus_id", "domain", "size", "ground_truth", "n_answers", "wrong", "p", "q_bh", "fdr", "found", "margin_m"}); err != nil {
		return err
	}
	for _, x := range d {
		margin := ""
		if it, ok := stored[x.Item.ID]; ok {
			// Metres to the hundredth of a millimetre: the bisection's resolution is a tenth.
			if _, m := marginText(it); !math.IsNaN(m) {
				margin = strconv.FormatFloat(m, 'f', 5, 64)
			}
		}
		if err := cw.Write([]string{x.Item.ID, string(x.Item.Task), strconv.Itoa(x.Item.Size), x.Item.Truth.String(), strconv.Itoa(x.N),
			strconv.Itoa(x.Wrong), floatCell(x.P), floatCell(x.Q), floatCell(fdr), strconv.FormatBool(x.Found), margin}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return sendFile(w, st.Slug+"-disagreements.csv", "text/csv; charset=utf-8", buf.Bytes())
}

// handleStudyItemImage serves the picture of one of a study's items to its
// experimenters (the disagreement list's thumbnails).
func (s *Server) handleStudyItemImage(w http.ResponseWriter, r *http.Request) error {
	st, err := s.studyParam(r)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(chi.URLParam(r, "stimulus"))
	if err != nil {
		return problem.Errorf(problem.ENOTFOUND, "This study has no such item.")
	}
	if err := s.store.CheckStudyStimulus(r.Context(), st.ID, id); err != nil {
		return err
	}
	return s.servePicture(w, r, id, "private, max-age=3600")
}
