package server

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// planDefaults are the planner form's values before anything is sent: a
// 120-tower evaluation, people at 0.65 and a model at 0.8, the new-study
// form's pay.
var planDefaults = url.Values{
	"human_accuracy": {"0.65"}, "model_accuracy": {"0.8"}, "human_human": {"0"}, "model_human": {"0"},
	"items": {"120"}, "measure": {analysis.MeasureModelHuman}, "target": {"0.1"}, "seed": {"1"},
	"currency": {"GBP"}, "base": {"2.00"}, "per_correct": {"0.01"}, "max_bonus": {"1.00"},
}

// planMeasures are the means a plan can be for, as the form offers them.
func planMeasures() []web.Option {
	return []web.Option{
		{Value: analysis.MeasureModelHuman, Label: "Model-human error consistency (mean over people, bootstrap over people)"},
		{Value: analysis.MeasureHumanHuman, Label: "Human-human error consistency (mean over pairs, bootstrap over pairs: the report's figure)"},
		{Value: analysis.MeasureHumanHumanPeople, Label: "Human-human error consistency, bootstrap over people (the CSV's kappa_human_human_people)"},
	}
}

// planRequest is the planner form, read and checked.
type planRequest struct {
	in           analysis.PlanInput
	target       float64 // NaN: no target
	participants int     // 0: none asked for
	budget       int64   // minor units; 0: none
	pay          study.Pay
}

// readPlanRequest reads the form in q (defaults filled in); every refusal
// names the field.
func readPlanRequest(q url.Values) (planRequest, error) {
	invalid := func(format string, args ...any) error { return problem.Errorf(problem.EINVALID, format, args...) }
	var p planRequest
	num := func(key, what string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(q.Get(key)), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, invalid("%s must be a number, not %q.", what, clipTyped(q.Get(key), 40))
		}
		return v, nil
	}
	var err error
	if p.in.HumanAccuracy, err = num("human_accuracy", "The people's accuracy"); err != nil {
		return p, err
	}
	if p.in.ModelAccuracy, err = num("model_accuracy", "The model's accuracy"); err != nil {
		return p, err
	}
	if p.in.HumanHuman, err = num("human_human", "The expected human-human kappa"); err != nil {
		return p, err
	}
	if p.in.ModelHuman, err = num("model_human", "The expected model-human kappa"); err != nil {
		return p, err
	}
	if p.in.Items, err = strconv.Atoi(strings.TrimSpace(q.Get("items"))); err != nil {
		return p, invalid("The number of items must be a whole number, not %q.", clipTyped(q.Get("items"), 40))
	}
	p.in.Measure = q.Get("measure")
	if p.in.Seed, err = strconv.ParseUint(strings.TrimSpace(q.Get("seed")), 10, 64); err != nil {
		return p, invalid("The seed must be a whole number from 0, not %q.", clipTyped(q.Get("seed"), 40))
	}
	if err := p.in.Validate(); err != nil {
		return p, planInvalid(err)
	}
	p.target = math.NaN()
	if s := strings.TrimSpace(q.Get("target")); s != "" {
		if p.target, err = num("target", "The target width"); err != nil {
			return p, err
		}
		if !(p.target > 0 && p.target <= 2) {
			return p, invalid("The target width must be above 0 and at most 2 (a kappa lies between -1 and 1).")
		}
	}
	if s := strings.TrimSpace(q.Get("participants")); s != "" {
		if p.participants, err = strconv.Atoi(s); err != nil {
			return p, invalid("The participants to price must be a whole number, not %q.", clipTyped(s, 40))
		}
		if lo, hi := 5, p.in.MaxParticipants(); p.participants < lo || p.participants > hi {
			return p, invalid("The participants to price must be from %d to %d (the largest study simulated for %d items).", lo, hi, p.in.Items)
		}
	}
	money := func(key, what string) (int64, error) {
		n, err := prolific.ParseAmount(strings.TrimSpace(q.Get(key)))
		if err != nil || n < 0 {
			return 0, invalid("%s must be an amount like 2.50 (at most two decimals), not %q.", what, clipTyped(q.Get(key), 40))
		}
		return n, nil
	}
	p.pay.Currency = q.Get("currency")
	if !slices.Contains(currencies(), p.pay.Currency) {
		return p, invalid("Choose a currency: %s.", strings.Join(currencies(), ", "))
	}
	if p.pay.BaseMinor, err = money("base", "Base pay"); err != nil {
		return p, err
	}
	if p.pay.PerCorrectMinor, err = money("per_correct", "The bonus per correct answer"); err != nil {
		return p, err
	}
	if p.pay.MaxBonusMinor, err = money("max_bonus", "The maximum bonus"); err != nil {
		return p, err
	}
	if s := strings.TrimSpace(q.Get("budget")); s != "" {
		if p.budget, err = money("budget", "The budget"); err != nil {
			return p, err
		}
		if p.pay.ExpectedCost(p.in.Items, p.in.HumanAccuracy) == 0 {
			return p, invalid("With no pay a budget buys any number of people: give the participants to price instead.")
		}
	}
	return p, nil
}

// planInvalid turns the planner's complaint about a field into a refusal.
func planInvalid(err error) error {
	if pe, ok := err.(*analysis.PlanError); ok {
		return problem.Errorf(problem.EINVALID, "The %s: %s.", pe.Field, pe.Message)
	}
	return err
}

// clip shortens what a person typed before it is quoted back.
func clipTyped(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// handlePlan serves the sample-size planner. It reads a GET form: a plan
// changes nothing and its link can be kept. With a pilot study and
// from_pilot set, the pilot's accuracies, kappas, items and pay replace
// the form's.
func (rp *reports) plan(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	form := url.Values{}
	for k, v := range planDefaults {
		form[k] = v
	}
	for k, v := range q {
		if len(v) > 0 {
			form[k] = v
		}
	}
	v := web.PlanView{AdminPage: adminPage(r, "Sample-size planner", "plan"), Measures: planMeasures()}
	studies, err := rp.s.visibleStudies(r)
	if err != nil {
		return err
	}
	for _, st := range studies {
		v.Pilots = append(v.Pilots, web.Option{Value: st.ID.String(), Label: fmt.Sprintf("%s (%s, %s, %d completed)", st.Title, st.Slug, st.Domain, st.Completed)})
	}
	v.Currencies = currencies()
	status := http.StatusOK
	refuse := func(err error) error {
		code := problem.Code(err)
		if code != problem.EINVALID && code != problem.ENOTFOUND {
			return err
		}
		v.Error = problem.Message(err)
		status, _ = statusOf(code)
		return nil
	}
	if pilot := strings.TrimSpace(q.Get("pilot")); pilot != "" {
		if err := rp.fillFromPilot(r, pilot, form, &v); err != nil {
			if err := refuse(err); err != nil {
				return err
			}
		}
	}
	v.Form = form
	if v.Error == "" {
		req, err := readPlanRequest(form)
		if err == nil {
			v.Result, err = planResult(req)
		}
		if err != nil {
			if err := refuse(err); err != nil {
				return err
			}
		}
	}
	return render(w, r, status, web.Plan(v))
}

// fillFromPilot reads a pilot study's report (the cached one the report page
// shows) and, when the form asks for it, puts its estimates into the form.
// The models of the pilot become the form's choices either way.
func (rp *reports) fillFromPilot(r *http.Request, pilot string, form url.Values, v *web.PlanView) error {
	id, err := uuid.Parse(pilot)
	if err != nil {
		return problem.Errorf(problem.ENOTFOUND, "There is no such pilot study.")
	}
	st, err := rp.s.visibleStudy(r, id)
	if err != nil {
		return err
	}
	subj := reportSubject{sel: postgres.MatrixSelection{StudyID: st.ID}}
	all, err := rp.s.store.ReportModels(r.Context(), subj.sel)
	if err != nil {
		return err
	}
	// The report page's default runs: the most recently imported.
	var models []analysis.Condition
	for _, m := range all[:min(reportDefaultRuns, len(all))] {
		models = append(models, m.Condition)
	}
	slices.SortFunc(models, compareConditions)
	rep, info, err := rp.analyze(r, subj, models, analysis.Options{})
	if err != nil {
		return err
	}
	var g *analysis.Group
	for i := range rep.Groups {
		if rep.Groups[i].Task == st.Domain && rep.Groups[i].Size == 0 {
			g = &rep.Groups[i]
		}
	}
	if g == nil || g.Humans < 2 {
		return problem.Errorf(problem.EINVALID, "The pilot %q has fewer than two finished participants: its answers say nothing about kappas yet.", st.Slug)
	}
	for _, m := range g.Models {
		v.Models = append(v.Models, web.Option{Value: modelChoice(m), Label: plot.ModelLabel(m)})
	}
	if form.Get("from_pilot") == "" {
		return nil
	}
	chosen := -1
	for i, m := range g.Models {
		if form.Get("model") == "" && chosen < 0 || form.Get("model") == modelChoice(m) {
			chosen = i
		}
	}
	fix := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	var m *analysis.ModelResult
	if chosen >= 0 {
		m = &g.Models[chosen]
	}
	in, moved := analysis.PilotInput(analysis.PlanInput{}, *g, m)
	notes := []string{fmt.Sprintf("Pilot %s: %d people, %d items (%s). People: accuracy %.3f, human-human kappa %s.",
		st.Slug, g.Humans, g.Items, info.Exclusion, g.HumanAccuracy.P, estimateWithCI(g.HumanHuman))}
	form.Set("items", strconv.Itoa(in.Items))
	form.Set("human_accuracy", fix(in.HumanAccuracy))
	form.Set("human_human", fix(in.HumanHuman))
	if m != nil {
		form.Set("model", modelChoice(*m))
		form.Set("model_accuracy", fix(in.ModelAccuracy))
		form.Set("model_human", fix(in.ModelHuman))
		notes = append(notes, fmt.Sprintf("Model %s: accuracy %.3f, model-human kappa %s.", plot.ModelLabel(*m), m.Accuracy.P, estimateWithCI(m.ModelHuman)))
	} else {
		notes = append(notes, "The pilot's set has no model outputs: the model's accuracy and kappa stay as typed.")
	}
	notes = append(notes, moved...)
	notes = append(notes, "Pay as the pilot's.")
	form.Set("currency", st.Pay.Currency)
	form.Set("base", prolific.Amount(st.Pay.BaseMinor))
	form.Set("per_correct", prolific.Amount(st.Pay.PerCorrectMinor))
	form.Set("max_bonus", prolific.Amount(st.Pay.MaxBonusMinor))
	v.PilotNotes = notes
	return nil
}

// modelChoice names a model and condition in the form.
func modelChoice(m analysis.ModelResult) string { return m.Model + "\x1f" + m.Condition }

// planResult runs the plan the request asks for.
func planResult(p planRequest) (*web.PlanResult, error) {
	in := p.in
	perPerson := p.pay.ExpectedCost(in.Items, in.HumanAccuracy)
	money := func(m int64) string { return study.FormatMoney(m, p.pay.Currency) }
	res := &web.PlanResult{
		Measure: in.Measure,
		CostPer: fmt.Sprintf("%s a participant: base pay %s and an expected bonus of %s (%d items at accuracy %.3g, %s each, at most %s).",
			money(perPerson), money(p.pay.BaseMinor), money(perPerson-p.pay.BaseMinor), in.Items, in.HumanAccuracy,
			money(p.pay.PerCorrectMinor), money(p.pay.MaxBonusMinor)),
	}
	marks := []int{}
	chosen := 0
	if !math.IsNaN(p.target) {
		pt, ok, err := analysis.ParticipantsFor(in, p.target)
		if err != nil {
			return nil, planInvalid(err)
		}
		if ok {
			chosen = pt.Participants
			marks = append(marks, pt.Participants)
			res.Needed = fmt.Sprintf("%d participants", pt.Participants)
			res.NeededDetail = fmt.Sprintf("predicted width %s (8 studies in 10: %s to %s), cost %s", f3(pt.Width), f3(pt.Low), f3(pt.High), money(int64(pt.Participants)*perPerson))
		} else {
			res.Needed = fmt.Sprintf("more than %d participants", pt.Participants)
			res.NeededDetail = fmt.Sprintf("%d give a width of %s; more items narrow each person's kappa too", pt.Participants, f3(pt.Width))
		}
	}
	buys := func(h int, what string) error {
		if h < 5 {
			res.Buys = append(res.Buys, what+fmt.Sprintf(" buys %d participants: too few for an interval worth planning.", h))
			return nil
		}
		h = min(h, in.MaxParticipants())
		pt, err := analysis.PredictWidth(in, h)
		if err != nil {
			return planInvalid(err)
		}
		marks = append(marks, h)
		res.Buys = append(res.Buys, fmt.Sprintf("%s: %d participants, width %s (8 studies in 10: %s to %s), cost %s.",
			what, h, f3(pt.Width), f3(pt.Low), f3(pt.High), money(int64(h)*perPerson)))
		return nil
	}
	if p.budget > 0 {
		if err := buys(int(p.budget/perPerson), "A budget of "+money(p.budget)); err != nil {
			return nil, err
		}
	}
	if p.participants > 0 {
		if err := buys(p.participants, fmt.Sprintf("%d participants", p.participants)); err != nil {
			return nil, err
		}
	}
	most := 60
	for _, m := range marks {
		most = max(most, m*3/2)
	}
	counts := append(analysis.CurveCounts(in, most, 14), marks...)
	slices.Sort(counts)
	counts = slices.Compact(counts)
	pts, err := analysis.WidthCurve(in, counts)
	if err != nil {
		return nil, planInvalid(err)
	}
	for _, pt := range pts {
		res.Rows = append(res.Rows, web.PlanRow{
			Participants: strconv.Itoa(pt.Participants), Width: f3(pt.Width), Range: interval(pt.Low, pt.High),
			Limit: pct(pt.Limit),
			Kappa: f3(pt.MeanKappa), Cost: money(int64(pt.Participants) * perPerson), Marked: slices.Contains(marks, pt.Participants),
		})
	}
	// The generative model clamps the model's chance of being right to [0, 1];
	// a model-human kappa beyond what the items' spread allows is then not
	// reached, and the widths are those of the kappa that was.
	expected := in.ModelHuman
	if in.Measure != analysis.MeasureModelHuman {
		expected = in.HumanHuman
	}
	if k := pts[len(pts)-1].MeanKappa; math.Abs(k-expected) > 0.05 {
		res.Buys = append(res.Buys, fmt.Sprintf("Note: the simulated studies' mean kappa is %s, not the %s given: items whose difficulty varies as little "+
			"as a human-human kappa of %s says cannot tie the model to people that closely at these accuracies. The widths are those of a kappa of %s.",
			f3(k), f3(expected), f3(in.HumanHuman), f3(k)))
	}
	var svg bytes.Buffer
	title := "Width of the 95% interval of " + measureName(in.Measure) + ", " + strconv.Itoa(in.Items) + " items"
	if err := (plot.WidthCurve{Title: title, Points: pts, Target: p.target, Chosen: chosen}).Render(&svg); err != nil {
		return nil, err
	}
	res.SVG = svg.String()
	res.Method = fmt.Sprintf("Each point simulates %d studies (seed %d): item difficulties from a Beta distribution whose "+
		"intraclass correlation is the expected human-human kappa, the model's correctness tied to them so that its expected "+
		"kappa with people is the one given, every person answering every item. In each study the interval is the one the "+
		"report prints (bootstrap percentile, to first order); the curve is the mean width, the band holds 8 studies in 10. "+
		"With both kappas 0 the closed form for independent errors is drawn as well.", in.Studies, in.Seed)
	return res, nil
}

// measureName says a plan's measure in words.
func measureName(m string) string {
	switch m {
	case analysis.MeasureHumanHuman:
		return "human-human kappa (pairs)"
	case analysis.MeasureHumanHumanPeople:
		return "human-human kappa (people)"
	}
	return "model-human kappa"
}

// estimateWithCI writes a mean and its interval: "0.213 (0.150 to 0.270)".
func estimateWithCI(e analysis.Estimate) string {
	if ci := estimateCI(e); ci != "" {
		return estimate(e) + " (" + ci + ")"
	}
	return estimate(e)
}
