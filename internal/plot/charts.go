package plot

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Point is one value with its interval; NaN Y means no data there.
type Point struct {
	X          int // tower blocks or pyramid rows
	Y, Lo, Hi  float64
	N          int // answers behind the value, shown in the tooltip
	Annotation string
}

// Series is one observer's line: people, or one model and condition.
type Series struct {
	Name   string
	Points []Point
}

// AccuracyBySize is Figure 3: accuracy against size for each observer, with
// Wilson intervals as error bars and chance (0.5) dashed.
type AccuracyBySize struct {
	Title  string // "" draws no title (a paper's caption carries it)
	XLabel string // e.g. "Tower size (blocks)"
	Series []Series
	// Width is the figure's width in px (12 px text); 0 sizes it to its
	// content. A narrow figure puts its legend under the plot.
	Width float64
}

// Render writes the chart as SVG.
func (a AccuracyBySize) Render(w io.Writer) error {
	var xs []int
	for _, s := range a.Series {
		for _, p := range s.Points {
			if !slices.Contains(xs, p.X) {
				xs = append(xs, p.X)
			}
		}
	}
	slices.Sort(xs)
	legendW := 24.0
	for _, s := range a.Series {
		legendW = max(legendW, 34+textWidth(clip(s.Name, 44), smallFont))
	}
	const left, bottomPad = 64.0, 58.0
	plotH := printHeight(a.Width, 300)
	top := titleTop(a.Title)
	plotW := max(320, float64(len(xs))*64)
	width := max(left+plotW+48+legendW+12, textWidth(a.Title, 14)+left+16)
	legendBelow := false
	if a.Width > 0 {
		width = a.Width
		legendBelow = width-left-60-legendW < 200
	}
	plotW = width - left - 48 - legendW - 12
	height := max(top+plotH+bottomPad, top+8+20*float64(len(a.Series))+12)
	if legendBelow {
		plotW = width - left - 44
		height = top + plotH + bottomPad + 18*float64(len(a.Series)) + 6
	}
	c := &canvas{}
	c.open(width, height, cmp.Or(a.Title, "Accuracy by size"))
	drawTitle(c, titleX(a.Width, left), a.Title)

	y := func(v float64) float64 { return top + plotH*(1-v) }
	step := plotW / float64(max(len(xs), 1))
	x := func(i int) float64 { return left + step*(float64(i)+0.5) }
	c.yAxis(left, left+plotW, y, []float64{0, 0.25, 0.5, 0.75, 1}, "%.2f", "Accuracy", top, top+plotH)
	c.line(left, y(0.5), left+plotW, y(0.5), "#777777", 1.2, ` stroke-dasharray="5 4"`)
	c.text(left+plotW+4, y(0.5)+4, "start", smallFont, "chance", ` fill="#555555"`)
	c.line(left, top+plotH, left+plotW, top+plotH, "#333333", 1, "")
	for i, v := range xs {
		c.line(x(i), top+plotH, x(i), top+plotH+5, "#333333", 1, "")
		c.text(x(i), top+plotH+19, "middle", fontSize, fmt.Sprint(v), "")
	}
	c.text(left+plotW/2, top+plotH+44, "middle", fontSize, a.XLabel, "")

	// Series side by side at each size so that intervals do not hide each other.
	n := len(a.Series)
	dodge := min(8, step*0.5/float64(max(n, 1)))
	for si, s := range a.Series {
		col := colour(si)
		off := (float64(si) - float64(n-1)/2) * dodge
		pts := slices.Clone(s.Points)
		slices.SortFunc(pts, func(p, q Point) int { return p.X - q.X })
		c.f(`<g class="series" data-name="%s">`+"\n", esc(s.Name))
		// A size without data breaks the line rather than bridging it.
		var path []string
		flush := func() {
			if len(path) > 1 {
				c.f(`<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`+"\n", col, strings.Join(path, " "))
			}
			path = path[:0]
		}
		for _, p := range pts {
			if math.IsNaN(p.Y) {
				flush()
				continue
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(slices.Index(xs, p.X))+off, y(p.Y)))
		}
		flush()
		for _, p := range pts {
			if math.IsNaN(p.Y) {
				continue
			}
			px := x(slices.Index(xs, p.X)) + off
			c.errorBar(px, y(p.Lo), y(p.Hi), 3.5, col)
			tip := fmt.Sprintf("%s, size %d: %s [%s, %s], n = %d", s.Name, p.X, fmtValue(p.Y), fmtValue(p.Lo), fmtValue(p.Hi), p.N)
			c.marker(shape(si), px, y(p.Y), 4.2, col, "point", tip)
		}
		c.b.WriteString("</g>\n")
	}
	// Legend: beside the plot, or under it in a narrow figure.
	lx, ly0, dy, chars := left+plotW+48, top+8, 20.0, 44
	if legendBelow {
		lx, ly0, dy, chars = 16, top+plotH+bottomPad+6, 18, int((width-16-30)/(smallFont*charWidth))
	}
	for si, s := range a.Series {
		ly := ly0 + float64(si)*dy
		c.line(lx, ly, lx+22, ly, colour(si), 1.6, "")
		c.marker(shape(si), lx+11, ly, 4.2, colour(si), "legend-marker", "")
		c.f(`<text x="%.1f" y="%.1f" font-size="%s">%s<title>%s</title></text>`+"\n", lx+30, ly+4, num(smallFont), esc(clip(s.Name, chars)), esc(s.Name))
	}
	return c.close(w)
}

// Heatmap is Figure 2: accuracy of every model and condition (rows) at every
// size (columns), the number in each cell, a colour scale from 0 to 1.
type Heatmap struct {
	Title  string // "" draws no title
	XLabel string
	// Width in px (12 px text); 0 sizes the figure to its content. A
	// narrow figure gets narrower cells and shorter row labels.
	Width  float64
	Rows   []string    // "model, condition"
	Cols   []int       // sizes
	Values [][]float64 // Values[row][col]; NaN draws an empty grey cell
	// Trained[row][col] outlines the cells of sizes the row's condition was
	// fine-tuned on (nil: none), so in-distribution and held-out sizes read
	// apart at a glance.
	Trained [][]bool
}

// Render writes the heat map as SVG.
func (h Heatmap) Render(w io.Writer) error {
	for i, r := range h.Values {
		if len(r) != len(h.Cols) {
			return fmt.Errorf("plot: heat map row %d has %d values for %d columns", i, len(r), len(h.Cols))
		}
	}
	if len(h.Values) != len(h.Rows) {
		return fmt.Errorf("plot: heat map has %d rows of values for %d labels", len(h.Values), len(h.Rows))
	}
	labelChars := 40
	cellW := 58.0
	if h.Width > 0 {
		// Row labels get at most 40% of the width; cells share the rest
		// after the colour scale, never narrower than a number.
		labelChars = max(8, min(40, int(h.Width*0.4/(smallFont*charWidth))))
	}
	labelW := 40.0
	for _, r := range h.Rows {
		labelW = max(labelW, textWidth(clip(r, labelChars), smallFont))
	}
	const cellH = 30.0
	top := titleTop(h.Title)
	left := 16 + labelW + 10
	if h.Width > 0 && len(h.Cols) > 0 {
		cellW = max(34, min(58, (h.Width-left-90)/float64(len(h.Cols))))
	}
	gridW, gridH := cellW*float64(len(h.Cols)), cellH*float64(len(h.Rows))
	width := max(left+gridW+90, textWidth(h.Title, 14)+32)
	if h.Width > 0 {
		width = max(h.Width, left+gridW+90)
	}
	// A short table still fits its colour scale.
	height := top + max(gridH, 90) + 62
	c := &canvas{}
	c.open(width, height, cmp.Or(h.Title, "Accuracy heat map"))
	drawTitle(c, 16, h.Title)
	c.f(`<defs><linearGradient id="viridis" x1="0" y1="1" x2="0" y2="0">`)
	for i := 0; i <= 10; i++ {
		v := float64(i) / 10
		c.f(`<stop offset="%s" stop-color="%s"/>`, num(v), viridis(v))
	}
	c.f("</linearGradient></defs>\n")
	for ri, row := range h.Values {
		ry := top + float64(ri)*cellH
		c.f(`<text x="%.1f" y="%.1f" text-anchor="end" font-size="%s">%s<title>%s</title></text>`+"\n",
			left-8, ry+cellH/2+4, num(smallFont), esc(clip(h.Rows[ri], labelChars)), esc(h.Rows[ri]))
		for ci, v := range row {
			cx := left + float64(ci)*cellW
			fill, ink := "#eeeeee", "#555555"
			if !math.IsNaN(v) {
				fill = viridis(v)
				if v < 0.6 { // dark end of viridis: white numbers
					ink = "#ffffff"
				} else {
					ink = "#000000"
				}
			}
			c.f(`<rect class="cell" x="%.1f" y="%.1f" width="%s" height="%s" fill="%s" stroke="#ffffff" stroke-width="1"><title>%s</title></rect>`+"\n",
				cx, ry, num(cellW), num(cellH), fill, esc(fmt.Sprintf("%s, size %d: %s", h.Rows[ri], h.Cols[ci], fmtValue(v))))
			c.text(cx+cellW/2, ry+cellH/2+4, "middle", fontSize, fmtValue(v), ` fill="`+ink+`"`)
		}
	}
	// Outlines after every cell, so that a neighbour's white border cannot cover them.
	outlined := false
	for ri, row := range h.Trained {
		for ci, t := range row {
			if t && ri < len(h.Rows) && ci < len(h.Cols) {
				outlined = true
				c.f(`<rect class="trained" x="%.1f" y="%.1f" width="%s" height="%s" fill="none" stroke="#d62728" stroke-width="2.5"/>`+"\n",
					left+float64(ci)*cellW+1.75, top+float64(ri)*cellH+1.75, num(cellW-3.5), num(cellH-3.5))
			}
		}
	}
	if outlined {
		c.f(`<rect x="%.1f" y="%.1f" width="16" height="11" fill="none" stroke="#d62728" stroke-width="2.5"/>`+"\n", 16.0, top+gridH+48)
		c.text(38, top+gridH+58, "start", smallFont, "trained size", "")
	}
	for ci, s := range h.Cols {
		c.text(left+(float64(ci)+0.5)*cellW, top+gridH+18, "middle", fontSize, fmt.Sprint(s), "")
	}
	c.text(left+gridW/2, top+gridH+42, "middle", fontSize, h.XLabel, "")
	// Colour scale.
	sx, sh := left+gridW+18, max(gridH, 90)
	c.f(`<rect x="%.1f" y="%.1f" width="14" height="%s" fill="url(#viridis)" stroke="#333333" stroke-width="0.6"/>`+"\n", sx, top, num(sh))
	for _, t := range []float64{0, 0.5, 1} {
		ty := top + sh*(1-t)
		c.line(sx+14, ty, sx+18, ty, "#333333", 1, "")
		c.text(sx+21, ty+4, "start", smallFont, fmtValue(t), "")
	}
	c.f(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%s" transform="rotate(-90 %.1f %.1f)">Accuracy</text>`+"\n",
		sx+58, top+sh/2, num(smallFont), sx+58, top+sh/2)
	return c.close(w)
}

// viridis maps 0..1 onto the viridis scale (perceptually even, readable in
// grey and by colour-blind readers), by linear steps between its tenths.
func viridis(v float64) string {
	stops := [...][3]float64{
		{68, 1, 84}, {72, 40, 120}, {62, 74, 137}, {49, 104, 142}, {38, 130, 142}, {31, 158, 137},
		{53, 183, 121}, {110, 206, 88}, {181, 222, 43}, {253, 231, 37}, {253, 231, 37},
	}
	v = min(1, max(0, v)) * 9
	i := int(v)
	f := v - float64(i)
	var rgb [3]int
	for k := range 3 {
		rgb[k] = int(math.Round(stops[i][k] + f*(stops[i+1][k]-stops[i][k])))
	}
	return fmt.Sprintf("#%02x%02x%02x", rgb[0], rgb[1], rgb[2])
}

// Bar is one kappa with its interval; NaN Value is drawn as "n/a" (an
// undefined kappa is never drawn as 0).
type Bar struct {
	Series string // "model-human", "human-human" or "model-ground truth"
	Value  float64
	Lo, Hi float64
	N      int
	// Undefined counts the kappas left out of the mean (both observers always
	// right or always wrong); noted under the bar when not 0.
	Undefined int
}

// Band is a reference interval drawn across every group: the human-human
// ceiling, its mean a dashed line and its 95% interval shaded.
type Band struct {
	Label        string
	Mean, Lo, Hi float64
	N, Undefined int
}

// BarGroup is the bars of one model and condition (or of people).
type BarGroup struct {
	Label string
	Bars  []Bar
}

// KappaBars is Figure 5: kappa with bootstrap 95% intervals, grouped by
// observer, one colour per measure.
type KappaBars struct {
	Title  string // "" draws no title
	YLabel string // e.g. "Kappa"
	// Width in px (12 px text); 0 sizes the figure to its content. A
	// narrow figure stacks its legend and wraps group labels on three lines.
	Width  float64
	Groups []BarGroup
	Band   *Band // nil: none
}

// Render writes the bar chart as SVG.
func (k KappaBars) Render(w io.Writer) error {
	var series []string
	lo := 0.0
	for _, g := range k.Groups {
		for _, b := range g.Bars {
			if !slices.Contains(series, b.Series) {
				series = append(series, b.Series)
			}
			for _, v := range []float64{b.Value, b.Lo} {
				if !math.IsNaN(v) {
					lo = min(lo, v)
				}
			}
		}
	}
	if b := k.Band; b != nil {
		for _, v := range []float64{b.Mean, b.Lo} {
			if !math.IsNaN(v) {
				lo = min(lo, v)
			}
		}
	}
	lo = math.Floor(lo*4) / 4 // kappa can be negative: show it below a zero line
	maxBars := 1
	for _, g := range k.Groups {
		maxBars = max(maxBars, len(g.Bars))
	}
	const left, barW = 64.0, 26.0
	plotH := printHeight(k.Width, 280)
	groupW := max(float64(maxBars)*barW+34, 120)
	plotW := max(300, groupW*float64(len(k.Groups)))
	legendW := 0.0
	for _, s := range series {
		legendW += 30 + textWidth(s, smallFont)
	}
	if k.Band != nil {
		legendW += 30 + textWidth(bandLegend(k.Band), smallFont)
	}
	width := max(left+plotW+20, left+legendW+20, textWidth(k.Title, 14)+left+16)
	labelLines := 2
	if k.Width > 0 {
		width, labelLines = k.Width, 3
	}
	// The legend runs across the top, on a line of its own per entry when
	// the figure is too narrow for one line.
	legendY := titleTop(k.Title) - 8
	stacked := k.Width > 0 && left+legendW+20 > width
	rows := 1
	if stacked {
		rows = len(series)
		if k.Band != nil {
			rows++
		}
	}
	top := legendY + 18*float64(rows) + 8
	plotW = width - left - 20 // a long title widens the plot, not the margin
	height := top + plotH + 42 + 14*float64(labelLines)
	c := &canvas{}
	c.open(width, height, cmp.Or(k.Title, k.YLabel))
	drawTitle(c, titleX(k.Width, left), k.Title)
	lx, ly := left, legendY
	if stacked {
		lx = 16
	}
	next := func(w float64) {
		if stacked {
			ly += 18
		} else {
			lx += w
		}
	}
	for si, s := range series {
		c.f(`<rect x="%.1f" y="%.1f" width="12" height="12" fill="%s"/>`, lx, ly, colour(si+1))
		c.text(lx+17, ly+10, "start", smallFont, s, "")
		next(30 + textWidth(s, smallFont))
	}
	if k.Band != nil {
		c.f(`<rect x="%.1f" y="%.1f" width="12" height="12" fill="#999999" fill-opacity="0.35" stroke="#555555" stroke-dasharray="3 2"/>`, lx, ly)
		c.text(lx+17, ly+10, "start", smallFont, bandLegend(k.Band), "")
	}
	y := func(v float64) float64 { return top + plotH*(1-v)/(1-lo) }
	var ticks []float64
	for t := lo; t <= 1.0001; t += 0.25 {
		ticks = append(ticks, math.Round(t*100)/100)
	}
	c.yAxis(left, left+plotW, y, ticks, "%.2f", k.YLabel, top, top+plotH)
	c.line(left, y(0), left+plotW, y(0), "#333333", 1, "")
	// The ceiling band goes under the bars, across every model.
	if b := k.Band; b != nil && !math.IsNaN(b.Mean) {
		tip := fmt.Sprintf("%s: %s [%s, %s], n = %d, undefined %d", b.Label, fmtValue(b.Mean), fmtValue(b.Lo), fmtValue(b.Hi), b.N, b.Undefined)
		if !math.IsNaN(b.Lo) && !math.IsNaN(b.Hi) {
			c.f(`<rect class="band" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#999999" fill-opacity="0.3"><title>%s</title></rect>`+"\n",
				left, y(b.Hi), plotW, math.Max(y(b.Lo)-y(b.Hi), 0.5), esc(tip))
		}
		c.line(left, y(b.Mean), left+plotW, y(b.Mean), "#555555", 1.2, ` class="band-mean" stroke-dasharray="5 3"`)
	}
	gw := plotW / float64(max(len(k.Groups), 1))
	for gi, g := range k.Groups {
		gx := left + gw*float64(gi) + (gw-float64(len(g.Bars))*barW)/2
		for bi, b := range g.Bars {
			bx := gx + float64(bi)*barW
			col := colour(slices.Index(series, b.Series) + 1)
			tip := fmt.Sprintf("%s, %s: %s [%s, %s], n = %d, undefined %d", g.Label, b.Series, fmtValue(b.Value), fmtValue(b.Lo), fmtValue(b.Hi), b.N, b.Undefined)
			if b.Undefined > 0 {
				c.f(`<text class="undefined-count" x="%.1f" y="%.1f" text-anchor="middle" font-size="9" fill="#555555">%d n/a</text>`+"\n",
					bx+barW/2, y(lo)-4, b.Undefined)
			}
			if math.IsNaN(b.Value) {
				c.f(`<text class="bar undefined" x="%.1f" y="%.1f" text-anchor="middle" font-size="%s" fill="#555555">n/a<title>%s</title></text>`+"\n",
					bx+barW/2, y(0)-6, num(smallFont), esc(tip))
				continue
			}
			y0, y1 := y(0), y(b.Value)
			c.f(`<rect class="bar" x="%.1f" y="%.1f" width="%s" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
				bx+2, min(y0, y1), num(barW-4), math.Abs(y1-y0), col, esc(tip))
			c.errorBar(bx+barW/2, y(b.Lo), y(b.Hi), 4, "#000000")
		}
		perLine := int(gw / (smallFont * charWidth))
		for li, l := range wrap(g.Label, perLine, labelLines) {
			c.f(`<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%s">%s<title>%s</title></text>`+"\n",
				left+gw*(float64(gi)+0.5), top+plotH+20+float64(li)*14, num(smallFont), esc(l), esc(g.Label))
		}
	}
	return c.close(w)
}

// bandLegend names the band in the legend with its undefined count.
func bandLegend(b *Band) string {
	if b.Undefined > 0 {
		return fmt.Sprintf("%s (%d n/a)", b.Label, b.Undefined)
	}
	return b.Label
}

// wrap breaks a label into at most lines lines of about width runes, at
// spaces where it can; the last line is clipped.
func wrap(s string, width, lines int) []string {
	var out []string
	words := strings.Fields(s)
	cur := ""
	for i, w := range words {
		switch {
		case cur == "":
			cur = w
		case len([]rune(cur))+1+len([]rune(w)) <= width:
			cur += " " + w
		default:
			out = append(out, cur)
			cur = w
			if len(out) == lines-1 {
				cur = strings.Join(words[i:], " ")
				return append(out, clip(cur, width))
			}
		}
	}
	return append(out, clip(cur, width))
}

// titleTop is where a figure's plot may start: under its title, or near the
// top when it has none (a paper's caption carries the title).
func titleTop(title string) float64 {
	if title == "" {
		return 20
	}
	return 44
}

// printHeight is a plot's height: natural when the figure sizes itself,
// about half the width in print, so a one-column figure is not a tower.
func printHeight(width, natural float64) float64 {
	if width <= 0 {
		return natural
	}
	return min(natural, max(170, 0.5*width))
}

// titleX is where the title starts: over the plot, or at the margin in a
// figure of a fixed width, where the title must fit.
func titleX(width, left float64) float64 {
	if width > 0 {
		return 16
	}
	return left
}

// drawTitle draws a figure's title, when it has one.
func drawTitle(c *canvas, x float64, title string) {
	if title != "" {
		c.text(x, 24, "start", 14, title, ` font-weight="bold"`)
	}
}
