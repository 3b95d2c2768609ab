package plot

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/cubelab/cubelab/internal/analysis"
)

// Calibration is the soft-label figure: for each model, items binned by the
// model's P(Yes), the share of people's answers that are Yes in each bin
// with its Wilson interval, against the model's mean P(Yes) there; the
// diagonal is a model whose P(Yes) is people's.
type Calibration struct {
	Title  string
	Series []CalibrationSeries
}

// CalibrationSeries is one model and condition's curve.
type CalibrationSeries struct {
	Name string
	Bins []analysis.CalibrationBin
}

// Render writes the chart as SVG.
func (cb Calibration) Render(w io.Writer) error {
	const left, top, plot, bottomPad = 64.0, 44.0, 320.0, 58.0
	legendW := 24.0
	for _, s := range cb.Series {
		legendW = max(legendW, 34+textWidth(clip(s.Name, 44), smallFont))
	}
	width := max(left+plot+40+legendW, textWidth(cb.Title, 14)+left+16)
	height := max(top+plot+bottomPad, top+8+20*float64(len(cb.Series))+12)
	c := &canvas{}
	c.open(width, height, cb.Title)
	c.text(left, 24, "start", 14, cb.Title, ` font-weight="bold"`)
	x := func(v float64) float64 { return left + plot*v }
	y := func(v float64) float64 { return top + plot*(1-v) }
	ticks := []float64{0, 0.25, 0.5, 0.75, 1}
	c.yAxis(left, left+plot, y, ticks, "%.2f", "People's share of Yes", top, top+plot)
	c.line(left, top+plot, left+plot, top+plot, "#333333", 1, "")
	for _, t := range ticks {
		c.line(x(t), top+plot, x(t), top+plot+5, "#333333", 1, "")
		c.text(x(t), top+plot+19, "middle", fontSize, fmt.Sprintf("%.2f", t), "")
	}
	c.text(left+plot/2, top+plot+44, "middle", fontSize, "Model's P(Yes)", "")
	c.line(x(0), y(0), x(1), y(1), "#777777", 1.2, ` class="diagonal" stroke-dasharray="5 4"`)
	for si, s := range cb.Series {
		col := colour(si + 1)
		c.f(`<g class="series" data-name="%s">`+"\n", esc(s.Name))
		var path []string
		for _, b := range s.Bins {
			if b.Items == 0 || math.IsNaN(b.Human.P) {
				continue
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(b.ModelMean), y(b.Human.P)))
		}
		if len(path) > 1 {
			c.f(`<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`+"\n", col, strings.Join(path, " "))
		}
		for _, b := range s.Bins {
			if b.Items == 0 || math.IsNaN(b.Human.P) {
				continue
			}
			c.errorBar(x(b.ModelMean), y(b.Human.Lo), y(b.Human.Hi), 3.5, col)
			tip := fmt.Sprintf("%s, P(Yes) %.1f-%.1f: %d items, model %s, people %s [%s, %s] of %d answers",
				s.Name, b.Lo, b.Hi, b.Items, fmtValue(b.ModelMean), fmtValue(b.Human.P), fmtValue(b.Human.Lo), fmtValue(b.Human.Hi), b.Human.N)
			c.marker(shape(si+1), x(b.ModelMean), y(b.Human.P), 4.2, col, "point", tip)
		}
		c.b.WriteString("</g>\n")
	}
	lx := left + plot + 40
	for si, s := range cb.Series {
		ly := top + 8 + float64(si)*20
		c.line(lx, ly, lx+22, ly, colour(si+1), 1.6, "")
		c.marker(shape(si+1), lx+11, ly, 4.2, colour(si+1), "legend-marker", "")
		c.f(`<text x="%.1f" y="%.1f" font-size="%s">%s<title>%s</title></text>`+"\n", lx+30, ly+4, num(smallFont), esc(clip(s.Name, 44)), esc(s.Name))
	}
	return c.close(w)
}
