package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/postgres"
)

const analyzeUsage = `usage: server analyze (--study SLUG | --set SET) [--bootstrap N] [--seed S] --format json|csv

Prints every number of the report page: accuracy with Wilson intervals for people and each
model by task and size, and mean kappas (model-human, human-human, model-ground truth) with
seeded bootstrap 95% intervals. --study compares the study's completed and approved
participants with the models run on its set; --set compares the people of every study on
the set with its models. Attention-check items and rejected participants never count.`

// analyzeOutput is the JSON document: what was compared, then the numbers.
type analyzeOutput struct {
	Study  string              `json:"study,omitempty"`
	Set    string              `json:"set"`
	Input  postgres.MatrixInfo `json:"input"`
	Report *analysis.Report    `json:"report"`
}

func runAnalyze(ctx context.Context, args []string, e env) error {
	var dsn, slug, set, format string
	var opt analysis.Options
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), analyzeUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&dsn, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&slug, "study", "", "study, by the name in its link")
	fs.StringVar(&set, "set", "", "stimulus set (with --study: must be the study's set)")
	fs.IntVar(&opt.Resamples, "bootstrap", analysis.DefaultResamples, "bootstrap resamples")
	fs.Uint64Var(&opt.Seed, "seed", 0, "bootstrap seed: the same seed and data give the same intervals")
	fs.StringVar(&format, "format", "", "output: json or csv")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: analyze: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: analyze: unexpected arguments %q", errUsage, fs.Args())
	case slug == "" && set == "":
		return fmt.Errorf("%w: analyze: --study or --set is required", errUsage)
	case format != "json" && format != "csv":
		return fmt.Errorf("%w: analyze: --format json or csv is required", errUsage)
	case opt.Resamples < 1:
		return fmt.Errorf("%w: analyze: --bootstrap must be at least 1", errUsage)
	}
	store, closeDB, err := openStore(ctx, "analyze", dsn)
	if err != nil {
		return err
	}
	defer closeDB()

	var sel postgres.MatrixSelection
	if slug != "" {
		st, err := store.StudyBySlug(ctx, slug)
		if err != nil {
			return fmt.Errorf("analyze: no study %q", slug)
		}
		sel.StudyID = st.ID
	} else {
		if sel.SetID, err = store.SetIDByName(ctx, set); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	m, info, err := store.LoadMatrix(ctx, sel)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if slug != "" && set != "" && set != info.Set {
		return fmt.Errorf("%w: analyze: study %q runs on set %q, not %q", errUsage, slug, info.Set, set)
	}
	rep, err := analysis.Analyze(m, opt)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if format == "csv" {
		return rep.WriteCSV(e.stdout)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(analyzeOutput{Study: slug, Set: info.Set, Input: info, Report: rep}); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
