package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/plot"
)

const figuresUsage = `usage: server figures (--study SLUG | --set SET) --out DIR [--width single|double] [--title]
       [--exclude RULE] [--bootstrap N] [--seed S]

Writes every figure of the report page, for every task, as SVG, PDF and the CSV of the numbers
it draws, into DIR: SLUG-TASK-FIGURE.svg, .pdf and .csv (the names and contents of the page's
downloads). --width lays the figures out for one column of a paper (single) or two (double);
--title keeps each figure's title (a caption usually carries it instead). Every model and
condition run on the set is drawn (the page draws the ones picked there); --exclude, --bootstrap
and --seed are those of "server analyze", whose defaults the page uses too.`

func runFigures(ctx context.Context, args []string, e env) error {
	var out, width string
	var title bool
	var c selection
	fs := flag.NewFlagSet("figures", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), figuresUsage)
		fs.PrintDefaults()
	}
	c.flags(fs, e, "stimulus set: every study on it pooled")
	fs.StringVar(&out, "out", "", "directory to write the figures into (made when missing)")
	fs.StringVar(&width, "width", "double", "single or double: one or two columns of a paper")
	fs.BoolVar(&title, "title", false, "keep each figure's title")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: figures: %v", errUsage, err)
	}
	widthPt := map[string]float64{"single": plot.SingleColumnPt, "double": plot.DoubleColumnPt}[width]
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: figures: unexpected arguments %q", errUsage, fs.Args())
	case (c.slug == "") == (c.set == ""):
		return fmt.Errorf("%w: figures: --study or --set is required (one of them)", errUsage)
	case out == "":
		return fmt.Errorf("%w: figures: --out is required", errUsage)
	case widthPt == 0:
		return fmt.Errorf("%w: figures: --width is single or double, not %q", errUsage, width)
	case c.opt.Resamples < 1:
		return fmt.Errorf("%w: figures: --bootstrap must be at least 1", errUsage)
	}
	store, closeDB, err := openStore(ctx, "figures", c.dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	sel, err := matrixSelection(ctx, store, "figures", c.slug, c.set, c.exclude)
	if err != nil {
		return err
	}
	m, info, err := store.LoadMatrix(ctx, sel)
	if err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	rep, err := analysis.Analyze(m, c.opt)
	if err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	stem := c.slug
	if stem == "" {
		stem = info.Set
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	var files int
	for _, d := range rep.Tasks() {
		for _, f := range plot.ReportFigures() {
			if f.Name == "heatmap" && !hasModels(rep) {
				continue // an empty grid says nothing, as on the page
			}
			for _, ext := range []string{"svg", "pdf", "csv"} {
				var buf bytes.Buffer
				if ext == "csv" {
					err = f.CSV(rep, d, &buf)
				} else {
					err = f.WritePrint(rep, d, widthPt, title, ext == "pdf", &buf)
				}
				if err != nil {
					return fmt.Errorf("figures: %s %s: %w", d, f.Name, err)
				}
				path := filepath.Join(out, f.FileName(stem, d, ext))
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("figures: %w", err)
				}
				fmt.Fprintln(e.stdout, path)
				files++
			}
		}
	}
	if files == 0 {
		return fmt.Errorf("figures: the selection has no answers to draw")
	}
	return nil
}

// hasModels tells whether any model answered in the report.
func hasModels(rep *analysis.Report) bool {
	for _, g := range rep.Groups {
		if len(g.Models) > 0 {
			return true
		}
	}
	return false
}
