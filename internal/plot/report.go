package plot

import (
	"fmt"
	"math"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/task"
)

// SizeLabel names the size axis of a task.
func SizeLabel(d task.Domain) string {
	if d == task.Tower {
		return "Tower size (blocks)"
	}
	return "Pyramid size (rows)"
}

func taskTitle(d task.Domain) string {
	switch d {
	case task.Tower:
		return "Towers"
	case task.Pyramid:
		return "Pyramids (counterfactual)"
	case task.PyramidRemoved:
		return "Pyramids with the red block removed"
	}
	return string(d)
}

// ModelLabel is how a model and condition are named in every figure.
func ModelLabel(m analysis.ModelResult) string {
	label := m.Model
	if m.Condition != "" {
		label += ", " + m.Condition
	}
	if len(m.Seeds) > 1 {
		label += fmt.Sprintf(" (%d seeds)", len(m.Seeds))
	}
	return label
}

// bySize returns the report's per-size groups of one task, in size order.
func bySize(r *analysis.Report, d task.Domain) []analysis.Group {
	var gs []analysis.Group
	for _, g := range r.Groups {
		if g.Task == d && g.Size != 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

// AccuracyFigure is Figure 3 for one task: people and every model by size.
func AccuracyFigure(r *analysis.Report, d task.Domain) AccuracyBySize {
	gs := bySize(r, d)
	fig := AccuracyBySize{Title: taskTitle(d) + ": accuracy by size", XLabel: SizeLabel(d)}
	var people Series
	humans := 0
	models := map[string]int{}
	for _, g := range gs {
		humans = max(humans, g.Humans)
		a := g.HumanAccuracy
		people.Points = append(people.Points, Point{X: g.Size, Y: a.P, Lo: a.Lo, Hi: a.Hi, N: a.N})
		for _, m := range g.Models {
			label := ModelLabel(m)
			i, ok := models[label]
			if !ok {
				i = len(fig.Series)
				models[label] = i
				fig.Series = append(fig.Series, Series{Name: label})
			}
			a := m.Accuracy
			fig.Series[i].Points = append(fig.Series[i].Points, Point{X: g.Size, Y: a.P, Lo: a.Lo, Hi: a.Hi, N: a.N})
		}
	}
	people.Name = fmt.Sprintf("People (n = %d)", humans)
	fig.Series = append([]Series{people}, fig.Series...)
	return fig
}

// HeatmapFigure is Figure 2 for one task: accuracy of people (the first row,
// when anyone answered) and of every model and condition by size.
func HeatmapFigure(r *analysis.Report, d task.Domain) Heatmap {
	gs := bySize(r, d)
	h := Heatmap{Title: taskTitle(d) + ": accuracy of people and every model and condition", XLabel: SizeLabel(d)}
	rows := map[string]int{}
	people := false
	for _, g := range gs {
		people = people || g.HumanAccuracy.N > 0
	}
	if people {
		// People come first, as in the paper's figure: the row models are read against.
		rows["People"] = 0
		h.Rows = append(h.Rows, "People")
		h.Values = append(h.Values, nanRow(len(gs)))
		h.Trained = append(h.Trained, make([]bool, len(gs)))
	}
	for ci, g := range gs {
		h.Cols = append(h.Cols, g.Size)
		if people {
			h.Values[0][ci] = g.HumanAccuracy.P
		}
		for _, m := range g.Models {
			label := ModelLabel(m)
			ri, ok := rows[label]
			if !ok {
				ri = len(h.Rows)
				rows[label] = ri
				h.Rows = append(h.Rows, label)
				h.Values = append(h.Values, nanRow(len(gs)))
				h.Trained = append(h.Trained, make([]bool, len(gs)))
			}
			h.Values[ri][ci] = m.Accuracy.P
			h.Trained[ri][ci] = m.Split != nil && *m.Split == analysis.SplitIn
		}
	}
	return h
}

func nanRow(n int) []float64 {
	row := make([]float64, n)
	for i := range row {
		row[i] = math.NaN()
	}
	return row
}

// KappaFigure is Figure 5's error-consistency panel for one task and size
// (0: all sizes): each model's mean error consistency with people, against
// the human-human ceiling drawn as a band across the models (its interval
// bootstrapped over people, the unit of sampling). Cohen's kappa with the
// ground truth is a different measure and has its own panel (TruthFigure).
func KappaFigure(r *analysis.Report, d task.Domain, size int) (KappaBars, error) {
	g, err := group(r, d, size)
	if err != nil {
		return KappaBars{}, err
	}
	k := KappaBars{Title: sizedTitle(taskTitle(d)+": error consistency with people", size), YLabel: "Error consistency (kappa)"}
	hh := g.HumanHumanPeople
	if !hh.Defined && g.HumanHuman.Defined {
		hh = g.HumanHuman // a report computed without the people bootstrap
	}
	k.Band = &Band{Label: "human-human (95% over people)", Mean: hh.Mean, Lo: hh.Lo, Hi: hh.Hi, N: hh.N, Undefined: hh.Undefined}
	for _, m := range g.Models {
		mh := m.ModelHuman
		k.Groups = append(k.Groups, BarGroup{Label: ModelLabel(m), Bars: []Bar{
			{Series: "model-human", Value: mh.Mean, Lo: mh.Lo, Hi: mh.Hi, N: mh.N, Undefined: mh.Undefined},
		}})
	}
	return k, nil
}

// TruthFigure is Figure 5's other panel: each model's Cohen's kappa with the
// ground truth (averaged over seeds, bootstrapped over items).
func TruthFigure(r *analysis.Report, d task.Domain, size int) (KappaBars, error) {
	g, err := group(r, d, size)
	if err != nil {
		return KappaBars{}, err
	}
	k := KappaBars{Title: sizedTitle(taskTitle(d)+": Cohen's kappa with the ground truth", size), YLabel: "Cohen's kappa"}
	for _, m := range g.Models {
		mt := m.ModelTruth
		k.Groups = append(k.Groups, BarGroup{Label: ModelLabel(m), Bars: []Bar{
			{Series: "model-ground truth", Value: mt.Mean, Lo: mt.Lo, Hi: mt.Hi, N: mt.N, Undefined: mt.Undefined},
		}})
	}
	return k, nil
}

func group(r *analysis.Report, d task.Domain, size int) (analysis.Group, error) {
	for _, g := range r.Groups {
		if g.Task == d && g.Size == size {
			return g, nil
		}
	}
	return analysis.Group{}, fmt.Errorf("plot: the report has no %s results for size %d", d, size)
}

func sizedTitle(title string, size int) string {
	if size != 0 {
		return fmt.Sprintf("%s, size %d", title, size)
	}
	return title
}
