package plot

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/task"
)

// ReportFigure is one of the report's charts: how to draw it, and how to
// write the numbers it draws, so that the CSV holds exactly what the picture
// shows. The report page, its downloads and "server figures" all use these.
type ReportFigure struct {
	Name string
	// Options is the least analysis the figure needs: the bootstrap is
	// nearly all of the work, and only the kappas show it, over all sizes only.
	Options analysis.Options
	Draw    func(*analysis.Report, task.Domain) (Figure, error)
	CSV     func(*analysis.Report, task.Domain, io.Writer) error
}

// ReportFigures are the report's figures in the page's order: the paper's
// Figure 3, Figure 2 and Figure 5 (its two panels).
func ReportFigures() []ReportFigure {
	return []ReportFigure{
		{"accuracy", analysis.Options{Resamples: 1, Grouping: analysis.BySizeAndTask},
			func(r *analysis.Report, d task.Domain) (Figure, error) { return AccuracyFigure(r, d), nil }, accuracyCSV},
		{"heatmap", analysis.Options{Resamples: 1, Grouping: analysis.BySizeAndTask},
			func(r *analysis.Report, d task.Domain) (Figure, error) { return HeatmapFigure(r, d), nil }, heatmapCSV},
		{"kappa", analysis.Options{Grouping: analysis.ByTask},
			func(r *analysis.Report, d task.Domain) (Figure, error) { return KappaFigure(r, d, 0) }, kappaCSV},
		{"truth", analysis.Options{Grouping: analysis.ByTask},
			func(r *analysis.Report, d task.Domain) (Figure, error) { return TruthFigure(r, d, 0) }, truthCSV},
	}
}

// FileName is the name a download of the figure gets: the study's slug or
// the set's name, the task, the figure, the extension (svg, pdf or csv).
func (f ReportFigure) FileName(stem string, d task.Domain, ext string) string {
	return fmt.Sprintf("%s-%s-%s.%s", stem, d, f.Name, ext)
}

// WritePrint writes the figure as SVG, or as PDF when pdf is set, laid out
// for print at widthPt points (0: the screen size, SVG only) and with its
// title or without.
func (f ReportFigure) WritePrint(r *analysis.Report, d task.Domain, widthPt float64, title, pdf bool, w io.Writer) error {
	fig, err := f.Draw(r, d)
	if err != nil {
		return err
	}
	fig = ForPrint(fig, widthPt, title)
	if !pdf {
		return fig.Render(w)
	}
	var svg bytes.Buffer
	if err := fig.Render(&svg); err != nil {
		return err
	}
	return PDF(svg.Bytes(), w, widthPt)
}

func accuracyCSV(r *analysis.Report, d task.Domain, w io.Writer) error {
	fig := AccuracyFigure(r, d)
	rows := [][]string{{"observer", "size", "accuracy", "lo", "hi", "n"}}
	for _, s := range fig.Series {
		for _, p := range s.Points {
			rows = append(rows, []string{s.Name, strconv.Itoa(p.X), csvout.Num(p.Y), csvout.Num(p.Lo), csvout.Num(p.Hi), strconv.Itoa(p.N)})
		}
	}
	return writeCSV(w, rows)
}

func heatmapCSV(r *analysis.Report, d task.Domain, w io.Writer) error {
	h := HeatmapFigure(r, d)
	rows := [][]string{{"model", "size", "accuracy", "trained"}}
	for i, name := range h.Rows {
		for j, size := range h.Cols {
			rows = append(rows, []string{name, strconv.Itoa(size), csvout.Num(h.Values[i][j]), strconv.FormatBool(h.Trained[i][j])})
		}
	}
	return writeCSV(w, rows)
}

func kappaCSV(r *analysis.Report, d task.Domain, w io.Writer) error {
	k, err := KappaFigure(r, d, 0)
	if err != nil {
		return err
	}
	return barsCSV(k, w)
}

func truthCSV(r *analysis.Report, d task.Domain, w io.Writer) error {
	k, err := TruthFigure(r, d, 0)
	if err != nil {
		return err
	}
	return barsCSV(k, w)
}

// barsCSV writes a kappa panel's numbers: the band (when there is one), then every bar.
func barsCSV(k KappaBars, w io.Writer) error {
	rows := [][]string{{"observer", "measure", "mean", "lo", "hi", "n", "undefined"}}
	if b := k.Band; b != nil {
		rows = append(rows, []string{"People", b.Label, csvout.Num(b.Mean), csvout.Num(b.Lo), csvout.Num(b.Hi), strconv.Itoa(b.N), strconv.Itoa(b.Undefined)})
	}
	for _, g := range k.Groups {
		for _, b := range g.Bars {
			rows = append(rows, []string{g.Label, b.Series, csvout.Num(b.Value), csvout.Num(b.Lo), csvout.Num(b.Hi), strconv.Itoa(b.N), strconv.Itoa(b.Undefined)})
		}
	}
	return writeCSV(w, rows)
}

func writeCSV(w io.Writer, rows [][]string) error {
	cw := csvout.NewWriter(w)
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("plot: figure csv: %w", err)
	}
	return nil
}
