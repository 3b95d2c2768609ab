package server

import (
	"net/url"

	"github.com/cubelab/cubelab/internal/plot"
	"github.com/cubelab/cubelab/internal/problem"
)

// The figures themselves, their numbers and their print layout are
// plot.ReportFigures, which "server figures" writes too; this file reads a
// download's options.

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
