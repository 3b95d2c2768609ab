package server

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/cubelab/cubelab/web"
)

// reportSeed seeds the bootstrap of every report page and download, so the
// page, its CSV and "server analyze" with its defaults give the same numbers.
const reportSeed = 0

// reportSubject is what a report is of: one study, or every study on a set.
type reportSubject struct {
	sel      postgres.MatrixSelection
	base     string // the report page's URL
	heading  string
	subtitle string
	stem     string // start of download file names
	items    string // a study's URL, under which its item pages are; "" for a set
}

// studySubject reads the study of a /admin/studies/{id}/report URL.
func (s *Server) studySubject(r *http.Request) (reportSubject, error) {
	st, err := s.studyParam(r)
	if err != nil {
		return reportSubject{}, err
	}
	override, err := exclusionOverride(r.URL.Query().Get("exclude"))
	if err != nil {
		return reportSubject{}, err
	}
	return reportSubject{
		sel:      postgres.MatrixSelection{StudyID: st.ID, Exclude: override},
		base:     studyURL(st.ID) + "/report",
		items:    studyURL(st.ID),
		heading:  "People and models: " + st.Title,
		subtitle: fmt.Sprintf("Study /s/%s, task %s: its completed and approved participants against every model run on its stimulus set.", st.Slug, st.Domain),
		stem:     st.Slug,
	}, nil
}

// setSubject reads the set of a /admin/sets/{set}/report URL.
func (s *Server) setSubject(r *http.Request) (reportSubject, error) {
	name := chi.URLParam(r, "set")
	id, err := s.store.SetIDByName(r.Context(), name)
	if err != nil {
		return reportSubject{}, err
	}
	override, err := exclusionOverride(r.URL.Query().Get("exclude"))
	if err != nil {
		return reportSubject{}, err
	}
	return reportSubject{
		// Only the studies this account sees are pooled (study.Study.VisibleTo).
		sel:      postgres.MatrixSelection{SetID: id, Exclude: override, Viewer: adminSession(r).Admin.ID},
		base:     setReportURL(name),
		heading:  "People and models: set " + name,
		subtitle: "Every study on this stimulus set that you can see pooled (completed and approved participants), against every model run on it.",
		stem:     name,
	}, nil
}

// page serves a report page of the subject that subject reads.
func (rp *reports) page(subject func(*http.Request) (reportSubject, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		subj, err := subject(r)
		if err != nil {
			return err
		}
		choice, err := rp.chooseRuns(r, subj)
		if err != nil {
			return err
		}
		full, info, err := rp.analyze(r, subj, choice.analysed(), analysis.Options{})
		if err != nil {
			return err
		}
		// Downloads carry the page's rule, picks and table page, so that they
		// hold what the page shows.
		query := choice.query(subj, choice.page)
		rep := only(full, choice.picked)
		v := web.ReportView{
			AdminPage: adminPage(r, subj.heading, "studies"), Heading: subj.heading, Subtitle: subj.subtitle,
			Facts: reportFacts(info), Missing: reportMissing(info), CSVURL: subj.base + ".csv" + query,
			Exclusion: info.Exclusion, Override: r.URL.Query().Get("exclude"), ItemsURL: subj.items,
			Method: fmt.Sprintf("Accuracy: Wilson score 95%% intervals. Mean kappas: bootstrap 95%% percentile intervals, %d resamples, seed %d "+
				"(people resampled for model-human; pairs, and in the CSV's kappa_human_human_people also people, for human-human; items for "+
				"the ground truth). An undefined kappa (both observers "+
				"always right, or always wrong) is shown as n/a and left out of every mean. Seeds of one model and condition are averaged.",
				rep.Resamples, rep.Seed),
			Runs: runPicker(choice, subj),
		}
		v.Runs.DefaultURL = subj.base + runChoice{}.query(subj, 0)
		v.Method += " " + chanceMethod
		for _, d := range rep.Tasks() {
			table := only(full, choice.tableModels())
			t := web.ReportTask{Name: taskName(d), Rows: reportRows(table, d), Split: reportSplit(table, d)}
			for _, fig := range plot.ReportFigures() {
				if fig.Name == "heatmap" && len(choice.picked) == 0 {
					continue // an empty grid says nothing; the missing note or the picker says why
				}
				var svg bytes.Buffer
				if err := fig.WritePrint(rep, d, 0, true, false, &svg); err != nil {
					return err
				}
				url := subj.base + "/" + string(d) + "/" + fig.Name
				t.Figures = append(t.Figures, web.ReportFigure{ID: string(d) + "-" + fig.Name, SVG: svg.String(), SVGURL: url + ".svg" + query, CSVURL: url + ".csv" + query,
					PDF1URL: withParam(url+".pdf"+query, "width=single"), PDF2URL: withParam(url+".pdf"+query, "width=double")})
			}
			v.Tasks = append(v.Tasks, t)
		}
		for _, e := range info.Excluded {
			v.Excluded = append(v.Excluded, e.PID+" ("+e.Study+"): "+strings.Join(e.Reasons, "; "))
		}
		return render(w, r, http.StatusOK, web.Report(v))
	}
}

// csv serves every number of a report as the tidy CSV that
// "server analyze --format csv" prints.
func (rp *reports) csv(subject func(*http.Request) (reportSubject, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		subj, err := subject(r)
		if err != nil {
			return err
		}
		choice, err := rp.chooseRuns(r, subj)
		if err != nil {
			return err
		}
		rep, _, err := rp.analyze(r, subj, choice.analysed(), analysis.Options{})
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := rep.WriteCSV(&buf); err != nil {
			return err
		}
		return sendFile(w, subj.stem+"-report.csv", "text/csv; charset=utf-8", buf.Bytes())
	}
}

// figure serves one figure of a report as SVG, or its numbers as CSV:
// {task}/{figure}.svg or .csv.
func (rp *reports) figure(subject func(*http.Request) (reportSubject, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		subj, err := subject(r)
		if err != nil {
			return err
		}
		d, err := task.ParseDomain(chi.URLParam(r, "task"))
		if err != nil {
			return problem.Errorf(problem.ENOTFOUND, "There is no such task.")
		}
		name, ext, _ := strings.Cut(chi.URLParam(r, "figure"), ".")
		var fig *plot.ReportFigure
		for _, f := range plot.ReportFigures() {
			if f.Name == name {
				fig = &f
			}
		}
		if fig == nil || (ext != "svg" && ext != "csv" && ext != "pdf") {
			return problem.Errorf(problem.ENOTFOUND, "There is no such figure.")
		}
		po, err := parsePrint(r.URL.Query(), ext == "pdf")
		if err != nil {
			return err
		}
		choice, err := rp.chooseRuns(r, subj)
		if err != nil {
			return err
		}
		// The page's models, so that the page's report serves its figures;
		// the figure draws the picked ones.
		full, _, err := rp.analyze(r, subj, choice.analysed(), fig.Options)
		if err != nil {
			return err
		}
		rep := only(full, choice.picked)
		var buf bytes.Buffer
		file := fig.FileName(subj.stem, d, ext)
		if ext == "svg" || ext == "pdf" {
			if err := fig.WritePrint(rep, d, po.widthPt, po.title, ext == "pdf", &buf); err != nil {
				return err
			}
			return sendFile(w, file, map[string]string{"svg": "image/svg+xml", "pdf": "application/pdf"}[ext], buf.Bytes())
		}
		if err := fig.CSV(rep, d, &buf); err != nil {
			return err
		}
		return sendFile(w, file, "text/csv; charset=utf-8", buf.Bytes())
	}
}

// withParam adds one query parameter to a URL that may have a query already.
func withParam(u, param string) string {
	if strings.Contains(u, "?") {
		return u + "&" + param
	}
	return u + "?" + param
}

// sendFile sends a small generated file as an attachment.
func sendFile(w http.ResponseWriter, name, contentType string, body []byte) error {
	download(w, name)
	w.Header().Set("Content-Type", contentType)
	_, err := w.Write(body)
	return err
}

// taskName heads a task's section; the questions themselves are only ever
// quoted verbatim, so the heading names the kind of task instead.
func taskName(d task.Domain) string {
	switch d {
	case task.Tower:
		return "Towers: intuitive physics"
	case task.Pyramid:
		return "Pyramids: causal reasoning"
	case task.PyramidRemoved:
		return "Pyramids with the red block removed: factual stability"
	}
	return string(d)
}

func reportFacts(info postgres.MatrixInfo) []string {
	facts := []string{
		"Stimulus set " + info.Set,
		fmt.Sprintf("%d people counted (completed or approved)", info.Humans),
		fmt.Sprintf("%d excluded by the exclusion rule", len(info.Excluded)),
		fmt.Sprintf("%d rejected, left out", info.Rejected),
		fmt.Sprintf("%d not finished, not counted", info.Unfinished),
		fmt.Sprintf("%d items", info.Items),
		fmt.Sprintf("%d attention checks, left out", info.AttentionChecks),
		fmt.Sprintf("%d model runs", info.ModelRuns),
	}
	if info.Studies != 1 {
		facts = append(facts[:1], append([]string{fmt.Sprintf("%d studies", info.Studies)}, facts[1:]...)...)
	}
	return facts
}

// reportMissing says in words what a reader will not find, and why.
func reportMissing(info postgres.MatrixInfo) []string {
	var out []string
	switch {
	case info.Items == 0:
		out = append(out, "There are no items to compare on.")
	case info.Studies == 0:
		out = append(out, "No study uses this set yet: the models are compared with the ground truth only.")
	case info.Humans == 0 && len(info.Excluded) > 0:
		out = append(out, fmt.Sprintf("The exclusion rule leaves out all %d finished participants: people's accuracy, the "+
			"human-human kappas and the model-human kappas are missing. Apply another rule below to see them.", len(info.Excluded)))
	case info.Humans == 0:
		out = append(out, "No completed or approved participants yet: people's accuracy, the human-human kappas and the "+
			"model-human kappas are missing until someone finishes.")
	case info.Humans == 1:
		out = append(out, "Only one person so far: the human-human kappa needs at least two.")
	}
	if info.ModelRuns == 0 {
		out = append(out, fmt.Sprintf("No model outputs on set %s yet: import them on the Models page. The model lines, "+
			"the heat map of model accuracy and the model kappas appear then.", info.Set))
	}
	return out
}

// reportRows is the numbers table of one task: people and then each model,
// size by size and then over all sizes.
func reportRows(rep *analysis.Report, d task.Domain) []web.ReportRow {
	var rows []web.ReportRow
	add := func(g analysis.Group) {
		size := fmt.Sprint(g.Size)
		if g.Size == 0 {
			size = "All sizes"
		}
		a := g.HumanAccuracy
		rows = append(rows, web.ReportRow{
			Size: size, First: true, Observer: fmt.Sprintf("People (%d)", g.Humans),
			Accuracy: pct(a.P), AccuracyCI: interval(a.Lo, a.Hi), Counts: fmt.Sprintf("%d/%d", a.Correct, a.N),
			Consistency: estimate(g.HumanHuman), ConsistencyCI: estimateCI(g.HumanHuman), Truth: "", TruthCI: "",
			Range: chanceRange(g.HumanHumanChance), Chance: chanceP(g.HumanHumanChance),
		})
		for _, m := range g.Models {
			a := m.Accuracy
			rows = append(rows, web.ReportRow{
				Size: size, Observer: plot.ModelLabel(m), Trained: m.Split != nil && *m.Split == analysis.SplitIn, Range: chanceRange(m.ModelHumanChance), Chance: chanceP(m.ModelHumanChance),
				Accuracy: pct(a.P), AccuracyCI: interval(a.Lo, a.Hi), Counts: fmt.Sprintf("%d/%d", a.Correct, a.N),
				Consistency: estimate(m.ModelHuman), ConsistencyCI: estimateCI(m.ModelHuman),
				Truth: estimate(m.ModelTruth), TruthCI: estimateCI(m.ModelTruth),
			})
		}
	}
	var all *analysis.Group
	for i, g := range rep.Groups {
		if g.Task != d {
			continue
		}
		if g.Size == 0 {
			all = &rep.Groups[i]
			continue
		}
		add(g)
	}
	if all != nil {
		add(*all)
	}
	return rows
}

// reportSplit is the table of each condition with trained sizes on those
// sizes and on the others, from the task's group of all sizes.
func reportSplit(rep *analysis.Report, d task.Domain) []web.ReportSplitRow {
	var rows []web.ReportSplitRow
	for _, g := range rep.Groups {
		if g.Task != d || g.Size != 0 {
			continue
		}
		for _, m := range g.Models {
			for i, p := range m.Parts {
				part := "In distribution"
				if p.Split == analysis.SplitOut {
					part = "Held out"
				}
				sizes := make([]string, len(p.Sizes))
				for k, n := range p.Sizes {
					sizes[k] = fmt.Sprint(n)
				}
				rows = append(rows, web.ReportSplitRow{
					Observer: plot.ModelLabel(m), Trained: m.Trained, Part: part, Sizes: strings.Join(sizes, ", "), First: i == 0,
					People: pct(p.HumanAccuracy.P), Accuracy: pct(p.Accuracy.P), AccuracyCI: interval(p.Accuracy.Lo, p.Accuracy.Hi),
					Consistency: estimate(p.ModelHuman), ConsistencyCI: estimateCI(p.ModelHuman),
					Truth: estimate(p.ModelTruth), TruthCI: estimateCI(p.ModelTruth),
				})
			}
		}
	}
	return rows
}

// chanceMethod says what the attainable range and the p-value are.
const chanceMethod = "Attainable: the mean over pairs of the lowest and highest error consistency each pair's two accuracies allow " +
	"(Klein et al. 2025). p independent: the two-sided p-value of the mean against observers who err independently with the same " +
	"accuracies (each pair's count of trials both got right is hypergeometric; normal for a mean of many pairs, exact for one pair; " +
	"conservative for seeds averaged). Trained sizes: a condition's sizes recorded as trained on are marked, and each task is split " +
	"into those sizes and the held-out ones, people's accuracy on the same items beside."

// chanceRange is a mean kappa's attainable range given the accuracies.
func chanceRange(c analysis.KappaChance) string {
	if c.Units == 0 {
		return ""
	}
	return f3(c.Min) + " to " + f3(c.Max)
}

// chanceP is a mean kappa's p-value against independent observers.
func chanceP(c analysis.KappaChance) string {
	switch {
	case c.Units == 0 || math.IsNaN(c.P):
		return ""
	case c.P < 0.001:
		return "< 0.001"
	}
	return fmt.Sprintf("%.3f", c.P)
}

func pct(p float64) string {
	if math.IsNaN(p) {
		return "n/a"
	}
	return f3(p)
}

// f3 writes three decimals, and a kappa of -0.0001 as 0.000, not -0.000.
func f3(v float64) string {
	if math.Abs(v) < 0.0005 {
		v = 0
	}
	return fmt.Sprintf("%.3f", v)
}

func interval(lo, hi float64) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return ""
	}
	return f3(lo) + " to " + f3(hi)
}

func estimate(e analysis.Estimate) string {
	if !e.Defined {
		return "n/a"
	}
	return f3(e.Mean)
}

func estimateCI(e analysis.Estimate) string {
	if !e.Defined {
		return ""
	}
	return interval(e.Lo, e.Hi)
}
