package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

const planUsage = `usage: server plan [--human P] [--model P] [--human-human K] [--model-human K] [--items N]
       [--pilot REPORT.json [--pilot-model MODEL[:COND]] [--task TASK]]
       [--measure kappa_model_human|kappa_human_human|kappa_human_human_people]
       [--target WIDTH] [--participants N] [--budget AMOUNT] [--base AMOUNT] [--per-correct AMOUNT]
       [--max-bonus AMOUNT] [--currency GBP] [--studies N] [--seed S] [--svg FILE] [--format text|json]

Plans a study's size before it is paid for. It simulates whole studies (people at the given
accuracy, a model at its own, items whose difficulty people and model share as the expected
kappas say) and measures the 95% interval the report would print for the mean kappa.
--target finds the fewest participants whose expected width is at most WIDTH; --participants
and --budget say what width a number of people, or a budget at the expected pay per person
(base pay and the expected bonus), buys. A curve of width against participants is printed,
and drawn as SVG with --svg. --pilot takes the accuracies, kappas and items from a pilot's
"server analyze --format json" output instead. Needs no database; the same numbers and seed
give the same plan as the planner page.`

// planOutput is the JSON document of a plan.
type planOutput struct {
	Input      analysis.PlanInput   `json:"input"`
	Notes      []string             `json:"notes,omitempty"`
	CostMinor  int64                `json:"cost_per_participant_minor"`
	Currency   string               `json:"currency"`
	Target     *float64             `json:"target,omitempty"`
	Needed     *analysis.PlanPoint  `json:"needed,omitempty"`
	Reached    bool                 `json:"reached"`
	Priced     []analysis.PlanPoint `json:"priced,omitempty"` // --participants and --budget
	Curve      []analysis.PlanPoint `json:"curve"`
	ClosedForm bool                 `json:"closed_form"`
}

func runPlan(_ context.Context, args []string, e env) error {
	var in analysis.PlanInput
	var target float64
	var participants int
	var budget, base, perCorrect, maxBonus, currency, pilot, pilotModel, domain, svgFile, format string
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), planUsage)
		fs.PrintDefaults()
	}
	fs.Float64Var(&in.HumanAccuracy, "human", 0.65, "people's expected accuracy")
	fs.Float64Var(&in.ModelAccuracy, "model", 0.8, "the model's expected accuracy")
	fs.Float64Var(&in.HumanHuman, "human-human", 0, "expected human-human error consistency (0: errors independent of the item)")
	fs.Float64Var(&in.ModelHuman, "model-human", 0, "expected model-human error consistency")
	fs.IntVar(&in.Items, "items", 120, "items every participant answers")
	fs.StringVar(&in.Measure, "measure", analysis.MeasureModelHuman, "the mean whose interval is planned")
	fs.IntVar(&in.Studies, "studies", analysis.DefaultPlanStudies, "simulated studies per number of participants")
	fs.Uint64Var(&in.Seed, "seed", 1, "the same seed and numbers give the same plan")
	fs.Float64Var(&target, "target", math.NaN(), "target width of the 95% interval")
	fs.IntVar(&participants, "participants", 0, "a number of participants to price and predict")
	fs.StringVar(&budget, "budget", "", "a budget in the currency, e.g. 500.00")
	fs.StringVar(&base, "base", "2.00", "base pay per participant")
	fs.StringVar(&perCorrect, "per-correct", "0.01", "bonus per correct answer")
	fs.StringVar(&maxBonus, "max-bonus", "1.00", "maximum bonus per participant")
	fs.StringVar(&currency, "currency", "GBP", "currency of the amounts")
	fs.StringVar(&pilot, "pilot", "", `a pilot's "server analyze --format json" output`)
	fs.StringVar(&pilotModel, "pilot-model", "", "the pilot's model, MODEL or MODEL:CONDITION (default: its first)")
	fs.StringVar(&domain, "task", "", "the pilot's task when it has several")
	fs.StringVar(&svgFile, "svg", "", "write the curve as SVG to this file")
	fs.StringVar(&format, "format", "text", "output: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: plan takes no arguments, got %q", errUsage, fs.Args())
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("%w: --format is text or json, not %q", errUsage, format)
	}
	out := planOutput{Currency: currency}
	if pilot != "" {
		var notes []string
		var err error
		if in, notes, err = pilotPlan(in, pilot, pilotModel, domain); err != nil {
			return err
		}
		out.Notes = notes
	}
	if err := in.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	out.Input = in
	var pay study.Pay
	pay.Currency = currency
	for _, a := range []struct {
		flag, value string
		dst         *int64
	}{{"base", base, &pay.BaseMinor}, {"per-correct", perCorrect, &pay.PerCorrectMinor}, {"max-bonus", maxBonus, &pay.MaxBonusMinor}} {
		n, err := prolific.ParseAmount(a.value)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: --%s must be an amount like 2.50, not %q", errUsage, a.flag, a.value)
		}
		*a.dst = n
	}
	out.CostMinor = pay.ExpectedCost(in.Items, in.HumanAccuracy)
	var marks []int
	if !math.IsNaN(target) {
		pt, ok, err := analysis.ParticipantsFor(in, target)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		out.Target, out.Needed, out.Reached = &target, &pt, ok
		marks = append(marks, pt.Participants)
	}
	price := func(h int) error {
		pt, err := analysis.PredictWidth(in, h)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		out.Priced = append(out.Priced, pt)
		marks = append(marks, h)
		return nil
	}
	if participants > 0 {
		if err := price(participants); err != nil {
			return err
		}
	}
	if budget != "" {
		b, err := prolific.ParseAmount(budget)
		if err != nil || b <= 0 {
			return fmt.Errorf("%w: --budget must be an amount like 500.00, not %q", errUsage, budget)
		}
		if out.CostMinor == 0 {
			return fmt.Errorf("%w: with no pay a budget buys any number of people: give --participants instead", errUsage)
		}
		if err := price(min(int(b/out.CostMinor), in.MaxParticipants())); err != nil {
			return err
		}
	}
	most := 60
	for _, m := range marks {
		most = max(most, m*3/2)
	}
	counts := append(analysis.CurveCounts(in, most, 14), marks...)
	slices.Sort(counts)
	curve, err := analysis.WidthCurve(in, slices.Compact(counts))
	if err != nil {
		return err
	}
	out.Curve = curve
	out.ClosedForm = in.HumanHuman == 0 && in.ModelHuman == 0
	if svgFile != "" {
		wc := plot.WidthCurve{Title: fmt.Sprintf("Width of the 95%% interval of %s, %d items", in.Measure, in.Items), Points: curve, Target: target}
		if out.Needed != nil && out.Reached {
			wc.Chosen = out.Needed.Participants
		}
		f, err := os.Create(svgFile)
		if err != nil {
			return err
		}
		if err := wc.Render(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(jsonSafePlan(out))
	}
	return writePlanText(e, out, pay)
}

// jsonSafePlan replaces NaN (no closed form, no interval) by -1: JSON has no NaN.
func jsonSafePlan(out planOutput) planOutput {
	fix := func(p *analysis.PlanPoint) {
		for _, v := range []*float64{&p.Width, &p.Low, &p.High, &p.MeanKappa, &p.Limit} {
			if math.IsNaN(*v) {
				*v = -1
			}
		}
	}
	out.Curve = slices.Clone(out.Curve)
	for i := range out.Curve {
		fix(&out.Curve[i])
	}
	out.Priced = slices.Clone(out.Priced)
	for i := range out.Priced {
		fix(&out.Priced[i])
	}
	if out.Needed != nil {
		n := *out.Needed
		fix(&n)
		out.Needed = &n
	}
	return out
}

func writePlanText(e env, out planOutput, pay study.Pay) error {
	money := func(m int64) string { return study.FormatMoney(m, pay.Currency) }
	in := out.Input
	fmt.Fprintf(e.stdout, "Plan for %s: people at %.3g, model at %.3g, human-human kappa %.3g, model-human kappa %.3g, %d items; %d simulated studies a point, seed %d.\n",
		in.Measure, in.HumanAccuracy, in.ModelAccuracy, in.HumanHuman, in.ModelHuman, in.Items, in.Studies, in.Seed)
	for _, n := range out.Notes {
		fmt.Fprintln(e.stdout, n)
	}
	fmt.Fprintf(e.stdout, "Cost: %s a participant (base %s and the expected bonus).\n", money(out.CostMinor), money(pay.BaseMinor))
	if out.Needed != nil {
		if out.Reached {
			fmt.Fprintf(e.stdout, "Target width %.3g: %d participants, expected width %.4f (8 studies in 10: %.4f to %.4f), cost %s.\n",
				*out.Target, out.Needed.Participants, out.Needed.Width, out.Needed.Low, out.Needed.High, money(int64(out.Needed.Participants)*out.CostMinor))
		} else {
			fmt.Fprintf(e.stdout, "Target width %.3g: not reached by %d participants (width %.4f).\n", *out.Target, out.Needed.Participants, out.Needed.Width)
		}
	}
	for _, p := range out.Priced {
		fmt.Fprintf(e.stdout, "%d participants: expected width %.4f (8 studies in 10: %.4f to %.4f), cost %s.\n",
			p.Participants, p.Width, p.Low, p.High, money(int64(p.Participants)*out.CostMinor))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "participants\twidth\tp10\tp90\tclosed form\tmean kappa\tcost\t")
	for _, p := range out.Curve {
		limit := "-"
		if !math.IsNaN(p.Limit) {
			limit = fmt.Sprintf("%.4f", p.Limit)
		}
		fmt.Fprintf(tw, "%d\t%.4f\t%.4f\t%.4f\t%s\t%.3f\t%s\t\n", p.Participants, p.Width, p.Low, p.High, limit, p.MeanKappa, money(int64(p.Participants)*out.CostMinor))
	}
	return tw.Flush()
}

// pilotPlan reads a pilot's analyze JSON and takes the plan's numbers from
// its group of one task over all sizes.
func pilotPlan(in analysis.PlanInput, file, model, domain string) (analysis.PlanInput, []string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return in, nil, err
	}
	var doc analyzeOutput
	if err := json.Unmarshal(b, &doc); err != nil || doc.Report == nil {
		return in, nil, fmt.Errorf("%w: --pilot %s is not the JSON of \"server analyze --format json\" (%v)", errUsage, file, err)
	}
	var g *analysis.Group
	for i := range doc.Report.Groups {
		gr := &doc.Report.Groups[i]
		if gr.Size == 0 && (domain == "" || gr.Task == task.Domain(domain)) {
			if g != nil && domain == "" {
				return in, nil, fmt.Errorf("%w: the pilot has several tasks; choose one with --task", errUsage)
			}
			g = gr
		}
	}
	if g == nil {
		return in, nil, fmt.Errorf("%w: the pilot has no task %q", errUsage, domain)
	}
	var m *analysis.ModelResult
	name, cond, _ := strings.Cut(model, ":")
	for i := range g.Models {
		if model == "" && m == nil || g.Models[i].Model == name && g.Models[i].Condition == cond {
			m = &g.Models[i]
		}
	}
	if model != "" && m == nil {
		return in, nil, fmt.Errorf("%w: the pilot has no model %q", errUsage, model)
	}
	in, notes := analysis.PilotInput(in, *g, m)
	notes = append([]string{fmt.Sprintf("From the pilot: %d people, %d items.", g.Humans, g.Items)}, notes...)
	return in, notes, nil
}
