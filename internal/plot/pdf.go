package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Print widths of a figure, in points: one column and two columns of a
// two-column paper. The figure is laid out at PrintLayoutWidth(w) px and
// scaled so that its 12 px text prints at PrintFontPt.
const (
	SingleColumnPt = 3.5 * 72
	DoubleColumnPt = 7.0 * 72
	PrintFontPt    = 9.0
)

// PrintLayoutWidth is the width in px at which to lay a figure out so that
// it prints widthPt wide with its text at PrintFontPt.
func PrintLayoutWidth(widthPt float64) float64 {
	return widthPt / PrintFontPt * fontSize
}

// PDF converts a figure drawn by this package (its SVG) into a one-page
// vector PDF widthPt points wide, the height in proportion. It reads only
// the SVG this package writes: rect, line, polyline, polygon, circle and
// text, with fill, stroke, opacity, dashes, rotated text, groups that set
// strokes, and the viridis gradient of the heat map's scale (drawn as
// strips). Text is set in Helvetica, which the figures' font stack names
// first. The same figure gives the same bytes.
func PDF(svg []byte, w io.Writer, widthPt float64) error {
	d := xml.NewDecoder(bytes.NewReader(svg))
	var p *pdfPainter
	var stack []map[string]string
	var gradient [][2]any // offset, colour of the open linearGradient
	gradients := map[string][][2]any{}
	var gradID string
	var textAttrs map[string]string
	var text strings.Builder
	inTitle := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("plot: pdf: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			a := attrs(t)
			switch t.Name.Local {
			case "svg":
				vb := strings.Fields(a["viewBox"])
				if len(vb) != 4 {
					return fmt.Errorf("plot: pdf: the svg has no viewBox")
				}
				vw, _ := strconv.ParseFloat(vb[2], 64)
				vh, _ := strconv.ParseFloat(vb[3], 64)
				if !(vw > 0 && vh > 0 && widthPt > 0) {
					return fmt.Errorf("plot: pdf: viewBox %q or width %v", a["viewBox"], widthPt)
				}
				p = newPDFPainter(widthPt, vh*widthPt/vw, widthPt/vw)
			case "title":
				inTitle++
			case "linearGradient":
				gradID, gradient = a["id"], nil
			case "stop":
				off, _ := strconv.ParseFloat(a["offset"], 64)
				gradient = append(gradient, [2]any{off, a["stop-color"]})
			case "text":
				textAttrs = a
				text.Reset()
			}
			if p == nil {
				continue
			}
			get := func(k string) string { return lookup(k, a, stack) }
			switch t.Name.Local {
			case "g", "svg":
				stack = append(stack, a)
			case "rect":
				x, y, rw, rh := fl(a["x"]), fl(a["y"]), fl(a["width"]), fl(a["height"])
				if id, ok := strings.CutPrefix(get("fill"), "url(#"); ok {
					p.gradientRect(x, y, rw, rh, gradients[strings.TrimSuffix(id, ")")])
					p.shape(get, func(style string) { p.pdf.Rect(p.x(x), p.y(y), p.l(rw), p.l(rh), "D") }, true)
					continue
				}
				p.shape(get, func(style string) { p.pdf.Rect(p.x(x), p.y(y), p.l(rw), p.l(rh), style) }, false)
			case "circle":
				cx, cy, r := fl(a["cx"]), fl(a["cy"]), fl(a["r"])
				p.shape(get, func(style string) { p.pdf.Circle(p.x(cx), p.y(cy), p.l(r), style) }, false)
			case "polygon":
				pts := p.points(a["points"])
				p.shape(get, func(style string) { p.pdf.Polygon(pts, style) }, false)
			case "line":
				x1, y1, x2, y2 := fl(a["x1"]), fl(a["y1"]), fl(a["x2"]), fl(a["y2"])
				p.shape(get, func(string) { p.pdf.Line(p.x(x1), p.y(y1), p.x(x2), p.y(y2)) }, true)
			case "polyline":
				pts := p.points(a["points"])
				p.shape(get, func(string) {
					for i := 1; i < len(pts); i++ {
						p.pdf.Line(pts[i-1].X, pts[i-1].Y, pts[i].X, pts[i].Y)
					}
				}, true)
			}
		case xml.CharData:
			if textAttrs != nil && inTitle == 0 {
				text.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "title":
				inTitle--
			case "linearGradient":
				gradients[gradID] = gradient
			case "g", "svg":
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			case "text":
				if p != nil && textAttrs != nil {
					ta := textAttrs
					p.text(func(k string) string { return lookup(k, ta, stack) }, strings.TrimSpace(text.String()))
				}
				textAttrs = nil
			}
		}
	}
	if p == nil {
		return fmt.Errorf("plot: pdf: no svg element")
	}
	return p.pdf.Output(w)
}

// pdfPainter draws in PDF points what the SVG draws in px.
type pdfPainter struct {
	pdf   *fpdf.Fpdf
	scale float64 // points per px
	tr    func(string) string
}

func newPDFPainter(w, h, scale float64) *pdfPainter {
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: w, Ht: h}})
	// Fixed dates and sorted catalogue: the same figure gives the same bytes.
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pdf.SetCreationDate(epoch)
	pdf.SetModificationDate(epoch)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("cubelab", true)
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "", 9)
	pdf.SetLineCapStyle("butt")
	pdf.SetLineJoinStyle("miter")
	return &pdfPainter{pdf: pdf, scale: scale, tr: pdf.UnicodeTranslatorFromDescriptor("")}
}

func (p *pdfPainter) x(v float64) float64 { return v * p.scale }
func (p *pdfPainter) y(v float64) float64 { return v * p.scale }
func (p *pdfPainter) l(v float64) float64 { return v * p.scale }

func (p *pdfPainter) points(s string) []fpdf.PointType {
	var pts []fpdf.PointType
	for _, pair := range strings.Fields(s) {
		xs, ys, _ := strings.Cut(pair, ",")
		pts = append(pts, fpdf.PointType{X: p.x(fl(xs)), Y: p.y(fl(ys))})
	}
	return pts
}

// shape sets fill and stroke from the attributes and draws with the fpdf
// style they call for ("F", "D" or "FD"); strokeOnly ignores the fill.
// SVG's defaults: filled black, not stroked.
func (p *pdfPainter) shape(get func(string) string, draw func(style string), strokeOnly bool) {
	style := ""
	fill := get("fill")
	if fill == "" {
		fill = "#000000"
	}
	if r, g, b, ok := rgb(fill); ok && !strokeOnly {
		p.pdf.SetFillColor(r, g, b)
		style += "F"
	}
	stroke := get("stroke")
	if r, g, b, ok := rgb(stroke); ok {
		p.pdf.SetDrawColor(r, g, b)
		sw := 1.0
		if v := get("stroke-width"); v != "" {
			sw = fl(v)
		}
		p.pdf.SetLineWidth(p.l(sw))
		var dash []float64
		for _, f := range strings.Fields(strings.ReplaceAll(get("stroke-dasharray"), ",", " ")) {
			dash = append(dash, p.l(fl(f)))
		}
		p.pdf.SetDashPattern(dash, 0)
		style += "D"
	}
	if style == "" {
		return
	}
	alpha := 1.0
	if v := get("fill-opacity"); v != "" && !strokeOnly {
		alpha = fl(v)
	}
	if alpha < 1 {
		p.pdf.SetAlpha(alpha, "Normal")
	}
	draw(style)
	if alpha < 1 {
		p.pdf.SetAlpha(1, "Normal")
	}
}

// gradientRect fills a rectangle with a vertical gradient (offset 0 at the
// bottom, as the heat map's scale defines it) in thin strips.
func (p *pdfPainter) gradientRect(x, y, w, h float64, stops [][2]any) {
	if len(stops) < 2 {
		return
	}
	const strips = 60
	for i := range strips {
		t := (float64(i) + 0.5) / strips // from the bottom
		col := stops[len(stops)-1][1].(string)
		for k := 1; k < len(stops); k++ {
			o0, o1 := stops[k-1][0].(float64), stops[k][0].(float64)
			if t <= o1 {
				f := 0.0
				if o1 > o0 {
					f = (t - o0) / (o1 - o0)
				}
				col = mix(stops[k-1][1].(string), stops[k][1].(string), f)
				break
			}
		}
		r, g, b, _ := rgb(col)
		p.pdf.SetFillColor(r, g, b)
		sy := y + h*(1-float64(i+1)/strips)
		// A hair of overlap, so that no seam shows between strips.
		p.pdf.Rect(p.x(x), p.y(sy), p.l(w), p.l(h/strips)+0.3, "F")
	}
}

// text sets a label at its baseline, anchored and rotated as in the SVG.
func (p *pdfPainter) text(get func(string) string, s string) {
	if s == "" {
		return
	}
	size := 12.0
	if v := get("font-size"); v != "" {
		size = fl(v)
	}
	style := ""
	if get("font-weight") == "bold" {
		style = "B"
	}
	p.pdf.SetFont("Helvetica", style, p.l(size))
	fill := get("fill")
	if fill == "" || fill == "none" {
		fill = "#000000"
	}
	r, g, b, _ := rgb(fill)
	p.pdf.SetTextColor(r, g, b)
	s = p.tr(s)
	x, y := p.x(fl(get("x"))), p.y(fl(get("y")))
	switch get("text-anchor") {
	case "middle":
		x -= p.pdf.GetStringWidth(s) / 2
	case "end":
		x -= p.pdf.GetStringWidth(s)
	}
	rotated := false
	if tf := get("transform"); strings.HasPrefix(tf, "rotate(") {
		f := strings.Fields(strings.Trim(strings.TrimPrefix(tf, "rotate"), "()"))
		if len(f) == 3 {
			rotated = true
			p.pdf.TransformBegin()
			// SVG turns clockwise for positive angles (y down), PDF counter-clockwise.
			p.pdf.TransformRotate(-fl(f[0]), p.x(fl(f[1])), p.y(fl(f[2])))
		}
	}
	p.pdf.Text(x, y, s)
	if rotated {
		p.pdf.TransformEnd()
	}
}

// attrs maps an element's attributes by local name.
func attrs(t xml.StartElement) map[string]string {
	m := make(map[string]string, len(t.Attr))
	for _, a := range t.Attr {
		m[a.Name.Local] = a.Value
	}
	return m
}

// lookup finds an attribute on the element, else on the nearest group that sets it.
func lookup(k string, a map[string]string, stack []map[string]string) string {
	if v, ok := a[k]; ok {
		return v
	}
	// Geometry is never inherited; presentation attributes are.
	switch k {
	case "x", "y", "transform", "text-anchor":
		return ""
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if v, ok := stack[i][k]; ok {
			return v
		}
	}
	return ""
}

func fl(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// rgb reads #rgb, #rrggbb, black and white; ok is false for none and anything else.
func rgb(s string) (r, g, b int, ok bool) {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "black":
		return 0, 0, 0, true
	case "white":
		return 255, 255, 255, true
	}
	if len(s) == 4 && s[0] == '#' {
		s = "#" + strings.Repeat(s[1:2], 2) + strings.Repeat(s[2:3], 2) + strings.Repeat(s[3:4], 2)
	}
	if len(s) != 7 || s[0] != '#' {
		return 0, 0, 0, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return 0, 0, 0, false
	}
	return int(v >> 16), int(v >> 8 & 0xff), int(v & 0xff), true
}

// mix blends two #rrggbb colours.
func mix(a, b string, f float64) string {
	r1, g1, b1, _ := rgb(a)
	r2, g2, b2, _ := rgb(b)
	m := func(x, y int) int { return int(math.Round(float64(x) + f*float64(y-x))) }
	return fmt.Sprintf("#%02x%02x%02x", m(r1, r2), m(g1, g2), m(b1, b2))
}

// Figure is any chart of this package.
type Figure interface{ Render(io.Writer) error }

// ForPrint lays a figure out for print at widthPt points (SingleColumnPt or
// DoubleColumnPt), without its title when title is false (a caption
// carries it); widthPt 0 keeps the figure's own size.
func ForPrint(f Figure, widthPt float64, title bool) Figure {
	var w float64
	if widthPt > 0 {
		w = PrintLayoutWidth(widthPt)
	}
	switch v := f.(type) {
	case AccuracyBySize:
		v.Width = w
		if !title {
			v.Title = ""
		}
		return v
	case Heatmap:
		v.Width = w
		if !title {
			v.Title = ""
		}
		return v
	case KappaBars:
		v.Width = w
		if !title {
			v.Title = ""
		}
		return v
	}
	return f
}
