package plot

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/cubelab/cubelab/internal/analysis"
)

// WidthCurve is the sample-size planner's figure: the predicted width of the
// 95% interval against the number of participants, the band in which eight
// simulated studies in ten fall, the closed-form limit where one exists, the
// target width and the plan's answer.
type WidthCurve struct {
	Title  string
	Points []analysis.PlanPoint // in increasing participants
	Target float64              // NaN: none
	Chosen int                  // participants of the plan's answer, 0: none
}

// Render writes the curve as SVG.
func (wc WidthCurve) Render(w io.Writer) error {
	const left, top, plotW, plotH = 64.0, 64.0, 520.0, 280.0
	width := max(left+plotW+24, textWidth(wc.Title, 14)+left+16)
	height := top + plotH + 58
	c := &canvas{}
	c.open(width, height, wc.Title)
	c.text(left, 24, "start", 14, wc.Title, ` font-weight="bold"`)

	maxX, maxY := 1.0, 0.0
	for _, p := range wc.Points {
		maxX = max(maxX, float64(p.Participants))
		for _, v := range []float64{p.Width, p.High, p.Limit} {
			if !math.IsNaN(v) {
				maxY = max(maxY, v)
			}
		}
	}
	if !math.IsNaN(wc.Target) {
		maxY = max(maxY, wc.Target*1.1)
	}
	if maxY <= 0 {
		maxY = 1
	}
	yStep := niceStep(maxY / 5)
	maxY = math.Ceil(maxY/yStep) * yStep
	xStep := niceStep(maxX / 6)
	maxX = math.Ceil(maxX/xStep) * xStep
	x := func(v float64) float64 { return left + plotW*v/maxX }
	y := func(v float64) float64 { return top + plotH*(1-v/maxY) }

	var ticks []float64
	for t := 0.0; t <= maxY+yStep/2; t += yStep {
		ticks = append(ticks, t)
	}
	c.yAxis(left, left+plotW, y, ticks, "%.3g", "Width of the 95% interval", top, top+plotH)
	c.line(left, top+plotH, left+plotW, top+plotH, "#333333", 1, "")
	for t := 0.0; t <= maxX+xStep/2; t += xStep {
		c.line(x(t), top+plotH, x(t), top+plotH+5, "#333333", 1, "")
		c.text(x(t), top+plotH+19, "middle", fontSize, fmt.Sprint(int(t)), "")
	}
	c.text(left+plotW/2, top+plotH+44, "middle", fontSize, "Participants", "")

	// Legend across the top.
	lx := left
	swatch := func(kind, label string) {
		switch kind {
		case "band":
			c.f(`<rect x="%.1f" y="36" width="22" height="12" fill="#0072B2" fill-opacity="0.2"/>`, lx)
		case "curve":
			c.line(lx, 42, lx+22, 42, "#0072B2", 2, "")
		case "limit":
			c.line(lx, 42, lx+22, 42, "#000000", 1.2, ` stroke-dasharray="2 3"`)
		case "target":
			c.line(lx, 42, lx+22, 42, "#D55E00", 1.4, ` stroke-dasharray="6 4"`)
		}
		c.text(lx+28, 46, "start", smallFont, label, "")
		lx += 40 + textWidth(label, smallFont)
	}
	swatch("band", "8 studies in 10")
	swatch("curve", "predicted width")
	hasLimit := false
	for _, p := range wc.Points {
		hasLimit = hasLimit || !math.IsNaN(p.Limit)
	}
	if hasLimit {
		swatch("limit", "closed form")
	}
	if !math.IsNaN(wc.Target) {
		swatch("target", "target")
	}

	// The band: the 10th percentile left to right, then the 90th back.
	var band, mean, limit []string
	for _, p := range wc.Points {
		if !math.IsNaN(p.Low) {
			band = append(band, fmt.Sprintf("%.1f,%.1f", x(float64(p.Participants)), y(p.Low)))
		}
		if !math.IsNaN(p.Width) {
			mean = append(mean, fmt.Sprintf("%.1f,%.1f", x(float64(p.Participants)), y(p.Width)))
		}
		if !math.IsNaN(p.Limit) {
			limit = append(limit, fmt.Sprintf("%.1f,%.1f", x(float64(p.Participants)), y(p.Limit)))
		}
	}
	for i := len(wc.Points) - 1; i >= 0; i-- {
		if p := wc.Points[i]; !math.IsNaN(p.High) {
			band = append(band, fmt.Sprintf("%.1f,%.1f", x(float64(p.Participants)), y(p.High)))
		}
	}
	if len(band) > 2 {
		c.f(`<polygon class="band" points="%s" fill="#0072B2" fill-opacity="0.2" stroke="none"/>`+"\n", strings.Join(band, " "))
	}
	if len(limit) > 1 {
		c.f(`<polyline class="limit" fill="none" stroke="#000000" stroke-width="1.2" stroke-dasharray="2 3" points="%s"/>`+"\n", strings.Join(limit, " "))
	}
	if len(mean) > 1 {
		c.f(`<polyline class="curve" fill="none" stroke="#0072B2" stroke-width="2" points="%s"/>`+"\n", strings.Join(mean, " "))
	}
	for _, p := range wc.Points {
		if math.IsNaN(p.Width) {
			continue
		}
		tip := fmt.Sprintf("%d participants: width %s (8 in 10 studies %s to %s)", p.Participants, fmtWidth(p.Width), fmtWidth(p.Low), fmtWidth(p.High))
		c.marker(0, x(float64(p.Participants)), y(p.Width), 3.2, "#0072B2", "point", tip)
	}
	if !math.IsNaN(wc.Target) {
		c.line(left, y(wc.Target), left+plotW, y(wc.Target), "#D55E00", 1.4, ` class="target" stroke-dasharray="6 4"`)
	}
	if wc.Chosen > 0 {
		cx := x(float64(wc.Chosen))
		c.line(cx, top, cx, top+plotH, "#D55E00", 1.2, ` class="chosen"`)
		anchor, dx := "start", 4.0
		if cx > left+plotW*0.7 {
			anchor, dx = "end", -4
		}
		c.text(cx+dx, top+14, anchor, smallFont, fmt.Sprintf("%d participants", wc.Chosen), ` fill="#A33F00"`)
	}
	return c.close(w)
}

// niceStep rounds a raw axis step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// fmtWidth prints a width with three significant digits; NaN is "n/a".
func fmtWidth(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.3g", v)
}
