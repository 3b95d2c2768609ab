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
	"time"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
)

// exportConfig is the export command's configuration.
type exportConfig struct {
	databaseURL string
	sel         postgres.ExportSelection
	opts        export.Options
	out         string
}

const exportUsage = `usage: server export (--study SLUG[,SLUG] | --set NAME) --source every|majority|collected|truth|soft
       --format trl|llamafactory|messages|imagefolder|csv|openai [--ties drop|coin] [--seed S] [--val 0.1]
       [--domain D[,D]] [--sizes 2-4] [--split S[,S]] [--exclude RULE] --out FILE.zip

Writes a fine-tuning data set (images, training files, dataset card README.md) as one ZIP.
--set takes the items of a stimulus set without any study, for --source truth.
--exclude overrides each study's exclusion rule (e.g. checks>=1,run>=20,flagged>=0.2,device=phone;
"none" excludes nobody); the card states the rule and lists whom it left out.`

func parseExport(args []string, e env) (exportConfig, error) {
	var c exportConfig
	var q export.Request
	var studies, domains, sizes, splits string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), exportUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.databaseURL, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&studies, "study", "", "studies whose answers are exported, by slug, comma-separated")
	fs.StringVar(&q.Set, "set", "", "stimulus set whose items are exported with their ground truth (--source truth)")
	fs.StringVar(&q.Source, "source", "", "label source: every, majority, collected, truth or soft (share of Yes, p_yes)")
	fs.StringVar(&q.Format, "format", "", "format: trl, llamafactory, messages, imagefolder, csv or openai")
	fs.StringVar(&q.Exclude, "exclude", "", "exclusion rule for this export, overriding each study's (e.g. checks>=1,run>=20)")
	fs.StringVar(&q.Ties, "ties", string(export.DropTies), "majority ties: drop or coin")
	fs.StringVar(&q.Seed, "seed", strconv.Itoa(export.DefaultSeed), "seed of the train/validation split and of the tie coin")
	fs.StringVar(&q.Val, "val", strconv.FormatFloat(export.DefaultValidation, 'g', -1, 64), "share of images in the validation split, 0 <= f < 1")
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
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: export: unexpected arguments %q", errUsage, fs.Args())
	}
	q.Studies, q.Domains, q.Sizes, q.Splits = export.List(studies), export.List(domains), export.List(sizes), export.List(splits)
	checked, err := q.Check()
	if err != nil {
		return c, fmt.Errorf("%w: export: %s", errUsage, flagProblem(err))
	}
	c.sel = postgres.ExportSelection{Studies: checked.Studies, Set: checked.Set, Filter: checked.Options.Filter, Exclude: checked.Exclude}
	c.opts = checked.Options
	if c.out == "" {
		return c, fmt.Errorf("%w: export: --out FILE.zip is required", errUsage)
	}
	if c.databaseURL == "" {
		return c, errors.New("export: no database: set --database-url or DATABASE_URL")
	}
	return c, nil
}

// flagProblem is a refusal as the command line shows it: the field at fault
// named as its flag, then the message.
func flagProblem(err error) string {
	var p *problem.Error
	if errors.As(err, &p) && p.Field != "" {
		return "--" + p.Field + ": " + p.Message
	}
	return problem.Message(err)
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
