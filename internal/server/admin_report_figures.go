package server

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

// figure is one of the report's charts: how to draw it, and how to write
// the numbers it draws, so that the CSV holds exactly what the picture shows.
type figure struct {
	name string
	// opt is the least analysis the figure needs: the bootstrap is nearly
	// all of the work, and only the kappas show it, over all sizes only.
	opt    analysis.Options
	render func(*analysis.Report, task.Domain, io.Writer) error
	csv    func(*analysis.Report, task.Domain, io.Writer) error
	// draw is the figure itself, for print (renderPrint)
	draw func(*analysis.Report, task.Domain) (plot.Figure, error)
}

// printOptions are a figure download's width and title: ?width=single or
// double (one or two columns of a paper; the screen size when absent, a
// PDF two columns) and ?title=no.
type printOptions struct {
	widthPt float64
	title   bool
}

// parsePrint reads the print options of a figure download.
func parsePrint(q url.Values, pdf bool) (printOptions, error) {
	o := printOptions{title: true}
	switch q.Get("width") {
	case "":
		if pdf {
			o.widthPt = plot.DoubleColumnPt
		}
	case "single":
		o.widthPt = plot.SingleColumnPt
	case "double":
		o.widthPt = plot.DoubleColumnPt
	default:
		return o, problem.Errorf(problem.EINVALID, "The width of a figure is single or double (one or two columns of a paper), not %q.", q.Get("width"))
	}
	switch q.Get("title") {
	case "", "yes":
	case "no":
		o.title = false
	default:
		return o, problem.Errorf(problem.EINVALID, "title is yes or no, not %q.", q.Get("title"))
	}
	return o, nil
}

// renderPrint writes a figure as SVG, or as PDF when pdf is set, laid out
// for print as o says.
func renderPrint(f figure, rep *analysis.Report, d task.Domain, o printOptions, pdf bool, w io.Writer) error {
	fig, err := f.draw(rep, d)
	if err != nil {
		return err
	}
	fig = plot.ForPrint(fig, o.widthPt, o.title)
	if !pdf {
		return fig.Render(w)
	}
	var svg bytes.Buffer
	if err := fig.Render(&svg); err != nil {
		return err
	}
	return plot.PDF(svg.Bytes(), w, o.widthPt)
}

// reportFigures are drawn in this order on the report page: the paper's
// Figure 3, Figure 2 and Figure 5.
func reportFigures() []figure {
	return []figure{
		{"accuracy", analysis.Options{Resamples: 1, Grouping: analysis.BySizeAndTask}, renderAccuracy, accuracyCSV,
			func(rep *analysis.Report, d task.Domain) (plot.Figure, error) {
				return plot.AccuracyFigure(rep, d), nil
			}},
		{"heatmap", analysis.Options{Resamples: 1, Grouping: analysis.BySizeAndTask}, renderHeatmap, heatmapCSV,
			func(rep *analysis.Report, d task.Domain) (plot.Figure, error) { return plot.HeatmapFigure(rep, d), nil }},
		{"kappa", analysis.Options{Grouping: analysis.ByTask}, renderKappa, kappaCSV,
			func(rep *analysis.Report, d task.Domain) (plot.Figure, error) { return plot.KappaFigure(rep, d, 0) }},
		{"truth", analysis.Options{Grouping: analysis.ByTask}, renderTruth, truthCSV,
			func(rep *analysis.Report, d task.Domain) (plot.Figure, error) { return plot.TruthFigure(rep, d, 0) }},
	}
}

func renderAccuracy(rep *analysis.Report, d task.Domain, w io.Writer) error {
	return plot.AccuracyFigure(rep, d).Render(w)
}

func renderHeatmap(rep *analysis.Report, d task.Domain, w io.Writer) error {
	return plot.HeatmapFigure(rep, d).Render(w)
}

// renderKappa draws the kappas over all sizes of the task, as the paper does.
func renderKappa(rep *analysis.Report, d task.Domain, w io.Writer) error {
	k, err := plot.KappaFigure(rep, d, 0)
	if err != nil {
		return err
	}
	return k.Render(w)
}

// renderTruth draws Cohen's kappa with the ground truth over all sizes.
func renderTruth(rep *analysis.Report, d task.Domain, w io.Writer) error {
	k, err := plot.TruthFigure(rep, d, 0)
	if err != nil {
		return err
	}
	return k.Render(w)
}

func accuracyCSV(rep *analysis.Report, d task.Domain, w io.Writer) error {
	fig := plot.AccuracyFigure(rep, d)
	rows := [][]string{{"observer", "size", "accuracy", "lo", "hi", "n"}}
	for _, s := range fig.Series {
		for _, p := range s.Points {
			rows = append(rows, []string{s.Name, strconv.Itoa(p.X), csvNum(p.Y), csvNum(p.Lo), csvNum(p.Hi), strconv.Itoa(p.N)})
		}
	}
	return writeCSV(w, rows)
}

func heatmapCSV(rep *analysis.Report, d task.Domain, w io.Writer) error {
	h := plot.HeatmapFigure(rep, d)
	rows := [][]string{{"model", "size", "accuracy", "trained"}}
	for i, name := range h.Rows {
		for j, size := range h.Cols {
			rows = append(rows, []string{name, strconv.Itoa(size), csvNum(h.Values[i][j]), strconv.FormatBool(h.Trained[i][j])})
		}
	}
	return writeCSV(w, rows)
}

func kappaCSV(rep *analysis.Report, d task.Domain, w io.Writer) error {
	k, err := plot.KappaFigure(rep, d, 0)
	if err != nil {
		return err
	}
	return barsCSV(k, w)
}

func truthCSV(rep *analysis.Report, d task.Domain, w io.Writer) error {
	k, err := plot.TruthFigure(rep, d, 0)
	if err != nil {
		return err
	}
	return barsCSV(k, w)
}

// barsCSV writes a kappa panel's numbers: the band (when there is one), then every bar.
func barsCSV(k plot.KappaBars, w io.Writer) error {
	rows := [][]string{{"observer", "measure", "mean", "lo", "hi", "n", "undefined"}}
	if b := k.Band; b != nil {
		rows = append(rows, []string{"People", b.Label, csvNum(b.Mean), csvNum(b.Lo), csvNum(b.Hi), strconv.Itoa(b.N), strconv.Itoa(b.Undefined)})
	}
	for _, g := range k.Groups {
		for _, b := range g.Bars {
			rows = append(rows, []string{g.Label, b.Series, csvNum(b.Value), csvNum(b.Lo), csvNum(b.Hi), strconv.Itoa(b.N), strconv.Itoa(b.Undefined)})
		}
	}
	return writeCSV(w, rows)
}

// csvNum writes six decimals, as "server analyze" does; undefined is empty.
func csvNum(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

func writeCSV(w io.Writer, rows [][]string) error {
	cw := csvout.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("server: figure csv: %w", err)
	}
	return nil
}
