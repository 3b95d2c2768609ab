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

// HeatmapFigure is Figure 2 for one task: accuracy of every model and condition by size.
func HeatmapFigure(r *analysis.Report, d task.Domain) Heatmap {
	gs := bySize(r, d)
	h := Heatmap{Title: taskTitle(d) + ": accuracy of every model and condition", XLabel: SizeLabel(d)}
	rows := map[string]int{}
	for ci, g := range gs {
		h.Cols = append(h.Cols, g.Size)
		for _, m := range g.Models {
			label := ModelLabel(m)
			ri, ok := rows[label]
			if !ok {
				ri = len(h.Rows)
				rows[label] = ri
				h.Rows = append(h.Rows, label)
				h.Values = append(h.Values, nanRow(len(gs)))
			}
			h.Values[ri][ci] = m.Accuracy.P
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

// KappaFigure is Figure 5 for one task and size (0: all sizes): human-human,
// and model-human and model-ground truth for every model.
func KappaFigure(r *analysis.Report, d task.Domain, size int) (KappaBars, error) {
	for _, g := range r.Groups {
		if g.Task != d || g.Size != size {
			continue
		}
		title := taskTitle(d) + ": error consistency and agreement with the ground truth"
		if size != 0 {
			title = fmt.Sprintf("%s, size %d", title, size)
		}
		k := KappaBars{Title: title, YLabel: "Kappa"}
		hh := g.HumanHuman
		k.Groups = append(k.Groups, BarGroup{Label: "People", Bars: []Bar{{"human-human", hh.Mean, hh.Lo, hh.Hi, hh.N}}})
		for _, m := range g.Models {
			mh, mt := m.ModelHuman, m.ModelTruth
			k.Groups = append(k.Groups, BarGroup{Label: ModelLabel(m), Bars: []Bar{
				{"model-human", mh.Mean, mh.Lo, mh.Hi, mh.N},
				{"model-ground truth", mt.Mean, mt.Lo, mt.Hi, mt.N},
			}})
		}
		return k, nil
	}
	return KappaBars{}, fmt.Errorf("plot: the report has no %s results for size %d", d, size)
}
