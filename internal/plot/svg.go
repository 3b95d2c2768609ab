// Package plot draws the comparison figures as hand-written SVG: accuracy by
// size with Wilson intervals (the paper's Figure 3), a heat map of accuracy for
// every model and condition by size (Figure 2), and kappa bars with bootstrap
// intervals (Figure 5).
//
// The charts are sized for print (12 px text at a 640 px width), use the
// Okabe-Ito palette and marker shapes so series stay apart without colour,
// carry a viewBox so they scale, and escape every label: a model named
// "<script>" is drawn as those eight characters.
package plot

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// palette holds the Okabe-Ito colours, safe for the common colour-vision
// deficiencies, seven characters each; black first, for people.
const palette = "#000000#E69F00#0072B2#009E73#D55E00#CC79A7#56B4E9#F0E442"

func colour(i int) string {
	i %= len(palette) / 7
	return palette[i*7 : i*7+7]
}

// shape picks series i's marker so that colour and shape together stay
// unique when the colours come round again (the ninth series is not People's
// black circle).
func shape(i int) int { return (i + i/(len(palette)/7)) % 4 }

const (
	fontSize  = 12.0
	smallFont = 11.0
	charWidth = 0.6 // of the font size, a safe average for sans-serif
)

// canvas accumulates SVG markup; write errors surface once, at the end.
type canvas struct {
	b strings.Builder
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// esc escapes text for element content and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // cannot fail on a strings.Builder
	return b.String()
}

func (c *canvas) f(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

func (c *canvas) open(w, h float64, title string) {
	c.f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s" font-family="Helvetica, Arial, sans-serif" font-size="%s">`+"\n",
		num(w), num(h), num(w), num(h), num(fontSize))
	c.f("<title>%s</title>\n", esc(title))
	c.f(`<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", num(w), num(h))
}

func (c *canvas) close(w io.Writer) error {
	c.b.WriteString("</svg>\n")
	_, err := io.WriteString(w, c.b.String())
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// text draws a label; anchor is start, middle or end.
func (c *canvas) text(x, y float64, anchor string, size float64, s string, attrs string) {
	c.f(`<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%s"%s>%s</text>`+"\n", x, y, anchor, num(size), attrs, esc(s))
}

func (c *canvas) line(x1, y1, x2, y2 float64, stroke string, width float64, attrs string) {
	c.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"%s/>`+"\n", x1, y1, x2, y2, stroke, num(width), attrs)
}

// marker draws shape k (circle, square, triangle, diamond, ...) centred on x, y.
func (c *canvas) marker(k int, x, y, r float64, fill, class, title string) {
	open := fmt.Sprintf(`class="%s" fill="%s" stroke="#ffffff" stroke-width="0.8"`, class, fill)
	var t string
	if title != "" {
		t = "<title>" + esc(title) + "</title>"
	}
	switch k % 4 {
	case 0:
		c.f(`<circle %s cx="%.1f" cy="%.1f" r="%.1f">%s</circle>`+"\n", open, x, y, r, t)
	case 1:
		c.f(`<rect %s x="%.1f" y="%.1f" width="%.1f" height="%.1f">%s</rect>`+"\n", open, x-r*0.9, y-r*0.9, r*1.8, r*1.8, t)
	case 2:
		c.f(`<polygon %s points="%.1f,%.1f %.1f,%.1f %.1f,%.1f">%s</polygon>`+"\n", open, x, y-r*1.2, x+r*1.1, y+r*0.8, x-r*1.1, y+r*0.8, t)
	case 3:
		c.f(`<polygon %s points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f">%s</polygon>`+"\n", open, x, y-r*1.25, x+r*1.1, y, x, y+r*1.25, x-r*1.1, y, t)
	}
}

// errorBar draws a vertical interval with caps; NaN ends draw nothing.
func (c *canvas) errorBar(x, yLo, yHi, capHalf float64, stroke string) {
	if math.IsNaN(yLo) || math.IsNaN(yHi) {
		return
	}
	c.f(`<g class="interval" stroke="%s" stroke-width="1.4">`, stroke)
	c.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, yLo, x, yHi)
	c.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x-capHalf, yLo, x+capHalf, yLo)
	c.f(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x-capHalf, yHi, x+capHalf, yHi)
	c.b.WriteString("</g>\n")
}

// textWidth estimates a label's width in pixels.
func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * charWidth
}

// clip shortens a label to at most n runes, marking the cut; the full text
// goes into a <title> where it matters.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// yAxis draws a vertical axis with horizontal grid lines at ticks.
func (c *canvas) yAxis(left, right float64, y func(float64) float64, ticks []float64, format, label string, top, bottom float64) {
	for _, t := range ticks {
		c.line(left, y(t), right, y(t), "#dddddd", 1, "")
		c.text(left-6, y(t)+4, "end", smallFont, fmt.Sprintf(format, t), "")
	}
	c.line(left, top, left, bottom, "#333333", 1, "")
	mid := (top + bottom) / 2
	c.f(`<text x="%.1f" y="%.1f" text-anchor="middle" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n", 16.0, mid, 16.0, mid, esc(label))
}

// fmtValue prints a value for a cell or tooltip; NaN is "n/a".
func fmtValue(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
