package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// exportConfig is the export command's configuration.
type exportConfig struct {
	databaseURL string
	sel         postgres.ExportSelection
	opts        export.Options
	out         string
}

const exportUsage = `usage: server export (--study SLUG[,SLUG] | --set NAME) --source every|majority|collected|truth
       --format trl|llamafactory|messages|imagefolder|csv|openai [--ties drop|coin] [--seed S] [--val 0.1]
       [--domain D[,D]] [--sizes 2-4] [--split S[,S]] [--exclude RULE] --out FILE.zip

Writes a fine-tuning data set (images, training files, dataset card README.md) as one ZIP.
--set takes the items of a stimulus set without any study, for --source truth.
--exclude overrides each study's exclusion rule (e.g. checks>=1,run>=20,flagged>=0.2,device=phone;
"none" excludes nobody); the card states the rule and lists whom it left out.`

func parseExport(args []string, e env) (exportConfig, error) {
	var c exportConfig
	var studies, source, format, ties, domains, sizes, splits, exclude string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), exportUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.databaseURL, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&studies, "study", "", "studies whose answers are exported, by slug, comma-separated")
	fs.StringVar(&c.sel.Set, "set", "", "stimulus set whose items are exported with their ground truth (--source truth)")
	fs.StringVar(&source, "source", "", "label source: every, majority, collected or truth")
	fs.StringVar(&format, "format", "", "format: trl, llamafactory, messages, imagefolder, csv or openai")
	fs.StringVar(&exclude, "exclude", "", "exclusion rule for this export, overriding each study's (e.g. checks>=1,run>=20)")
	fs.StringVar(&ties, "ties", string(export.DropTies), "majority ties: drop or coin")
	fs.Uint64Var(&c.opts.Seed, "seed", export.DefaultSeed, "seed of the train/validation split and of the tie coin")
	fs.Float64Var(&c.opts.ValidationFraction, "val", 0.1, "share of images in the validation split, 0 <= f < 1")
	fs.StringVar(&domains, "domain", "", "only these tasks: tower, pyramid, pyramid-removed (comma-separated)")
	fs.StringVar(&sizes, "sizes", "", "only these sizes: N, N-M or a list such as 2,3,5")
	fs.StringVar(&splits, "split", "", "only items of these stimulus-set splits (comma-separated)")
	fs.StringVar(&c.out, "out", "", "the ZIP file to write")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: export: %v", errUsage, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: export: "+format, append([]any{errUsage}, args...)...)
	}
	if fs.NArg() > 0 {
		return c, bad("unexpected arguments %q", fs.Args())
	}
	var err error
	c.sel.Studies = list(studies)
	switch {
	case len(c.sel.Studies) > 0 && c.sel.Set != "":
		return c, bad("--study and --set exclude each other: export the answers of studies, or the ground truth of a set")
	case len(c.sel.Studies) == 0 && c.sel.Set == "":
		return c, bad("--study or --set is required")
	}
	if source == "" {
		return c, bad("--source is required (every, majority, collected or truth)")
	}
	if c.opts.Source, err = export.ParseSource(source); err != nil {
		return c, bad("--source: %v", strings.TrimPrefix(err.Error(), "export: "))
	}
	if c.sel.Set != "" && c.opts.Source != export.GroundTruth {
		return c, bad("--set has no answers: it needs --source truth, or use --study for human labels")
	}
	if format == "" {
		return c, bad("--format is required (trl, llamafactory, messages, imagefolder, csv or openai)")
	}
	if c.opts.Format, err = export.ParseFormat(format); err != nil {
		return c, bad("--format: %v", strings.TrimPrefix(err.Error(), "export: "))
	}
	if c.opts.Ties, err = export.ParseTies(ties); err != nil {
		return c, bad("--ties: %v", strings.TrimPrefix(err.Error(), "export: "))
	}
	if v := c.opts.ValidationFraction; !(v >= 0 && v < 1) {
		return c, bad("--val %v: want a share of images from 0 up to, not including, 1", v)
	}
	for _, d := range list(domains) {
		dom, err := task.ParseDomain(d)
		if err != nil {
			return c, bad("--domain %q: want tower, pyramid or pyramid-removed", d)
		}
		c.sel.Filter.Domains = append(c.sel.Filter.Domains, dom)
	}
	if c.sel.Filter.Sizes, err = parseSizes(sizes); err != nil {
		return c, bad("--sizes: %v", err)
	}
	c.sel.Filter.SetSplits = list(splits)
	if exclude != "" {
		rule, err := study.ParseExclusion(exclude)
		if err != nil {
			return c, bad("--exclude: %s", study.ErrorMessage(err))
		}
		c.sel.Exclude = &rule
	}
	if c.out == "" {
		return c, bad("--out FILE.zip is required")
	}
	if c.databaseURL == "" {
		return c, errors.New("export: no database: set --database-url or DATABASE_URL")
	}
	c.opts.Filter = c.sel.Filter
	c.opts.Filter.Studies = c.sel.Studies
	return c, nil
}

// list splits a comma-separated flag, dropping empty items.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseSizes reads "", "3", "2-4" or "2,3,5" (ranges may appear in a list).
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range list(s) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b < a || b-a > 1000 {
			return nil, fmt.Errorf("%q: want N, N-M or a list such as 2,3,5 (whole numbers from 1)", f)
		}
		for n := a; n <= b; n++ {
			sizes = append(sizes, n)
		}
	}
	return sizes, nil
}

// runExport streams the selected rows from the database into a ZIP. The ZIP
// is written under a temporary name beside --out and renamed at the end, so a
// failed or interrupted export leaves no half-written file behind.
func runExport(ctx context.Context, args []string, e env) error {
	c, err := parseExport(args, e)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := postgres.Migrate(ctx, c.databaseURL); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	pool, err := postgres.Open(ctx, c.databaseURL)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	x, err := store.OpenExport(ctx, c.sel)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer x.Close()
	if c.opts.Source == export.AsCollected {
		if err := x.CheckOnePerImage(ctx); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}

	dir := filepath.Dir(c.out)
	f, err := os.CreateTemp(dir, "."+filepath.Base(c.out)+".*.partial")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	c.opts.Exclusion, c.opts.Excluded = x.Exclusion()
	c.opts.TempDir = dir // the spooled text is as large as the ZIP's: keep it on the same disk
	c.opts.Modified = time.Now().UTC().Truncate(time.Second)
	// The ZIP writer's own buffer is 4 KB: a larger one saves most of the
	// write calls of a ZIP of hundreds of megabytes.
	buf := bufio.NewWriterSize(f, 1<<20)
	sum, err := export.Write(ctx, buf, x.Rows(), x.Image, c.opts)
	if err != nil {
		return err
	}
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	// CreateTemp makes the file private; the finished ZIP gets a file's usual mode.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(f.Name(), c.out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	f = nil
	fmt.Fprintf(e.stdout, "wrote %s: %d images, %d examples (train %d, validation %d) from %d answers by %d annotators\n",
		c.out, sum.Images, sum.Examples, sum.TrainExamples, sum.ValidationExamples, sum.Responses, sum.Annotators)
	return nil
}
