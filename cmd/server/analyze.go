package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

const analyzeUsage = `usage: server analyze (--study SLUG | --set SET) [--bootstrap N] [--seed S] [--exclude RULE]
       [--compare MODEL[:COND],MODEL[:COND]] [--participants FILE.csv] --format json|csv

Prints every number of the report page: accuracy with Wilson intervals for people and each
model by task and size, and mean kappas (model-human, human-human, model-ground truth) with
seeded bootstrap 95% intervals. --study compares the study's completed and approved
participants with the models run on its set; --set compares the people of every study on
the set with its models. Attention-check items and rejected participants never count.

--exclude overrides each study's exclusion rule (checks>=K, instructed>=K, flagged>=F, run>=N, device=KIND,
comma-separated; "none" excludes nobody); the output states the rule and whom it excluded,
as the report page does. --compare tests the first condition against the second on the
same items (McNemar exact and a paired bootstrap over items for accuracy; a paired bootstrap
over people for mean kappa to humans) and prints those comparisons instead of the report.
--participants also writes the participants table (with the rule's verdict) to a CSV file.`

// analyzeOutput is the JSON document: what was compared, then the numbers.
type analyzeOutput struct {
	Study  string              `json:"study,omitempty"`
	Set    string              `json:"set"`
	Input  postgres.MatrixInfo `json:"input"`
	Report *analysis.Report    `json:"report,omitempty"`
	// Comparisons are the paired tests of --compare.
	Comparisons []analysis.Comparison `json:"comparisons,omitempty"`
}

// selection is what analyze and figures compare, and how they resample:
// the flags the two commands share.
type selection struct {
	dsn, slug, set, exclude string
	opt                     analysis.Options
}

// flags declares the shared flags on fs; setHelp says what --set means to
// the command.
func (c *selection) flags(fs *flag.FlagSet, e env, setHelp string) {
	fs.StringVar(&c.dsn, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&c.slug, "study", "", "study, by the name in its link")
	fs.StringVar(&c.set, "set", "", setHelp)
	fs.StringVar(&c.exclude, "exclude", "", "exclusion rule overriding each study's, e.g. checks>=1,run>=20")
	fs.IntVar(&c.opt.Resamples, "bootstrap", analysis.DefaultResamples, "bootstrap resamples")
	fs.Uint64Var(&c.opt.Seed, "seed", 0, "bootstrap seed: the same seed and data give the same intervals")
}

func runAnalyze(ctx context.Context, args []string, e env) error {
	var format, compare, participants string
	var c selection
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), analyzeUsage)
		fs.PrintDefaults()
	}
	c.flags(fs, e, "stimulus set (with --study: must be the study's set)")
	fs.StringVar(&format, "format", "", "output: json or csv")
	fs.StringVar(&compare, "compare", "", "two conditions MODEL[:COND],MODEL[:COND] to test against each other")
	fs.StringVar(&participants, "participants", "", "also write the participants table to this CSV file")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: analyze: %v", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: analyze: unexpected arguments %q", errUsage, fs.Args())
	case c.slug == "" && c.set == "":
		return fmt.Errorf("%w: analyze: --study or --set is required", errUsage)
	case format != "json" && format != "csv":
		return fmt.Errorf("%w: analyze: --format json or csv is required", errUsage)
	case c.opt.Resamples < 1:
		return fmt.Errorf("%w: analyze: --bootstrap must be at least 1", errUsage)
	}
	store, closeDB, err := openStore(ctx, "analyze", c.dsn)
	if err != nil {
		return err
	}
	defer closeDB()

	var pair []analysis.Condition
	if compare != "" {
		parts := strings.Split(compare, ",")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("%w: analyze: --compare wants two conditions, MODEL[:COND],MODEL[:COND]", errUsage)
		}
		pair = []analysis.Condition{analysis.ParseCondition(parts[0]), analysis.ParseCondition(parts[1])}
	}
	sel, err := matrixSelection(ctx, store, "analyze", c.slug, c.set, c.exclude)
	if err != nil {
		return err
	}
	m, info, err := store.LoadMatrix(ctx, sel)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	if c.slug != "" && c.set != "" && c.set != info.Set {
		return fmt.Errorf("%w: analyze: study %q runs on set %q, not %q", errUsage, c.slug, info.Set, c.set)
	}
	if participants != "" {
		if err := writeParticipants(ctx, store, sel, participants); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	out := analyzeOutput{Study: c.slug, Set: info.Set, Input: info}
	if pair != nil {
		if out.Comparisons, err = analysis.CompareConditions(m, pair[0], pair[1], c.opt); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		if format == "csv" {
			return analysis.WriteComparisonsCSV(e.stdout, out.Comparisons)
		}
	} else {
		if out.Report, err = analysis.Analyze(m, c.opt); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		if format == "csv" {
			return out.Report.WriteCSV(e.stdout)
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// writeParticipants writes the participants table of the selection's studies
// with the exclusion rule the analysis applied.
func writeParticipants(ctx context.Context, store *postgres.Store, sel postgres.MatrixSelection, path string) error {
	ids, err := store.StudiesOf(ctx, sel)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	if err := store.WriteParticipantsCSV(ctx, ids, sel.Exclude, w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// matrixSelection reads the answers a command compares: those of the study
// slug names, or of every study on the set, with the exclusion rule
// overriding each study's when exclude is not empty.
func matrixSelection(ctx context.Context, store *postgres.Store, cmd, slug, set, exclude string) (postgres.MatrixSelection, error) {
	var sel postgres.MatrixSelection
	if exclude != "" {
		rule, err := study.ParseExclusion(exclude)
		if err != nil {
			return sel, fmt.Errorf("%w: %s: --exclude: %s", errUsage, cmd, problem.Message(err))
		}
		sel.Exclude = &rule
	}
	if slug != "" {
		st, err := store.StudyBySlug(ctx, slug)
		if err != nil {
			return sel, fmt.Errorf("%s: no study %q", cmd, slug)
		}
		sel.StudyID = st.ID
		return sel, nil
	}
	id, err := store.SetIDByName(ctx, set)
	if err != nil {
		return sel, fmt.Errorf("%s: %w", cmd, err)
	}
	sel.SetID = id
	return sel, nil
}
