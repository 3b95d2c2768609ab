package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
)

const modelsUsage = `usage: server models import FILE --set SET [--model M] [--condition C] [--seed S] [--format auto|csv|jsonl|batch] [--replace] [--trained SPEC]
       server models trained --model M [--condition C] SPEC
       server models batch-input --set SET --model M [--out FILE]
       server models query --endpoint URL --model M --set SET --out FILE [--concurrency N]

import       stores a model output file (CSV, JSONL or OpenAI batch output) on a stimulus set,
             all or nothing; a run (model, condition, seed) stored before is replaced only with --replace
trained      records what a model condition was fine-tuned on, e.g. "tower:2-4" or "tower:2-4;pyramid"
             ("none" clears it); reports then split each task into in-distribution and held-out sizes.
             --trained on import records the same for the conditions it imports.
batch-input  writes the OpenAI batch input JSONL for a set (stdout unless --out)
query        asks an OpenAI-compatible server (vLLM, Ollama) about every stimulus of a set and
             appends batch output lines to --out; run it again to resume where it stopped`

// runModels dispatches the models subcommands.
func runModels(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: models: which subcommand?\n\n%s", errUsage, modelsUsage)
	}
	switch args[0] {
	case "import":
		return runModelsImport(ctx, args[1:], e)
	case "batch-input":
		return runModelsBatchInput(ctx, args[1:], e)
	case "trained":
		return runModelsTrained(ctx, args[1:], e)
	case "query":
		return runModelsQuery(ctx, args[1:], e)
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, modelsUsage)
		return nil
	}
	return fmt.Errorf("%w: models: unknown subcommand %q\n\n%s", errUsage, args[0], modelsUsage)
}

// modelsFlags is a flag set with the flags every subcommand shares.
func modelsFlags(name string, e env, dbURL *string) *flag.FlagSet {
	fs := flag.NewFlagSet("models "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), modelsUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(dbURL, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	return fs
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("import FILE --set S" reads naturally), returning
// the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// openStore migrates and opens the database of a command.
func openStore(ctx context.Context, cmd, dsn string) (*postgres.Store, func(), error) {
	if dsn == "" {
		return nil, nil, fmt.Errorf("%s: no database: set --database-url or DATABASE_URL", cmd)
	}
	if _, err := postgres.Migrate(ctx, dsn); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	pool, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return postgres.NewStore(pool), pool.Close, nil
}

func runModelsImport(ctx context.Context, args []string, e env) error {
	var dsn, set, model, condition, seed, format string
	var replace bool
	var trained *analysis.Trained
	fs := modelsFlags("import", e, &dsn)
	fs.Func("trained", `what the conditions imported were fine-tuned on, e.g. "tower:2-4" ("none" clears it)`, func(v string) error {
		t, err := analysis.ParseTrained(v)
		trained = &t
		return err
	})
	fs.StringVar(&set, "set", "", "stimulus set the outputs answer (required)")
	fs.StringVar(&model, "model", "", "model name, when the file does not say (replaces the batch output's dated model name)")
	fs.StringVar(&condition, "condition", "", `condition, e.g. "fine-tuned on towers 2-4" (empty: the base model)`)
	fs.StringVar(&seed, "seed", "", "seed of the run, when the file does not say (0 when neither does)")
	fs.StringVar(&format, "format", "auto", "input format: auto, csv, jsonl or batch")
	fs.BoolVar(&replace, "replace", false, "replace runs already imported on the set")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: models import: %v", errUsage, err)
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: models import: want exactly one FILE, got %d", errUsage, len(pos))
	}
	if set == "" {
		return fmt.Errorf("%w: models import: --set is required", errUsage)
	}
	opt := modelout.Options{Name: filepath.Base(pos[0]), Model: model, Condition: condition}
	if opt.Format, err = modelout.ParseFormat(format); err != nil {
		return fmt.Errorf("%w: models import: --format: %v", errUsage, err)
	}
	if seed != "" {
		var s int64
		if _, err := fmt.Sscan(seed, &s); err != nil {
			return fmt.Errorf("%w: models import: --seed %q is not a whole number", errUsage, seed)
		}
		opt.Seed = &s
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("models import: %w", err)
	}
	defer f.Close()
	rows, err := modelout.Parse(f, opt)
	if err != nil {
		return fmt.Errorf("models import: nothing was stored: %w", err)
	}
	store, closeDB, err := openStore(ctx, "models import", dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	sum, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: set, SourceFile: opt.Name, Rows: rows, Replace: replace, Trained: trained})
	if err != nil {
		return fmt.Errorf("models import: nothing was stored: %w", err)
	}
	for _, r := range sum.Runs {
		fmt.Fprintf(e.stdout, "imported %s on set %s: %d outputs, %d flagged, %d without a Yes/No answer\n",
			r.Label(), r.Set, r.Outputs, r.Flagged, r.NoAnswer)
		if r.Trained != "" {
			fmt.Fprintf(e.stdout, "  trained on %s\n", r.Trained)
		}
	}
	if sum.Replaced > 0 {
		fmt.Fprintf(e.stdout, "replaced %d run(s) imported before\n", sum.Replaced)
	}
	return nil
}

func runModelsTrained(ctx context.Context, args []string, e env) error {
	var dsn, model, condition string
	fs := modelsFlags("trained", e, &dsn)
	fs.StringVar(&model, "model", "", "model name (required)")
	fs.StringVar(&condition, "condition", "", "condition (empty: the base model)")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: models trained: %v", errUsage, err)
	}
	if model == "" || len(pos) != 1 {
		return fmt.Errorf("%w: models trained: want --model and one SPEC such as tower:2-4", errUsage)
	}
	t, err := analysis.ParseTrained(pos[0])
	if err != nil {
		return fmt.Errorf("%w: models trained: %v", errUsage, err)
	}
	store, closeDB, err := openStore(ctx, "models trained", dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := store.SetTrained(ctx, model, condition, t); err != nil {
		return fmt.Errorf("models trained: %w", err)
	}
	what := t.String()
	if what == "" {
		what = "nothing recorded"
	}
	fmt.Fprintf(e.stdout, "model %q condition %q: trained on %s\n", model, condition, what)
	return nil
}

func runModelsBatchInput(ctx context.Context, args []string, e env) error {
	var dsn, set, model, out string
	fs := modelsFlags("batch-input", e, &dsn)
	fs.StringVar(&set, "set", "", "stimulus set (required)")
	fs.StringVar(&model, "model", "", "model named in each request (required)")
	fs.StringVar(&out, "out", "", "file to write (stdout when empty)")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: models batch-input: %v", errUsage, err)
	}
	switch {
	case len(pos) > 0:
		return fmt.Errorf("%w: models batch-input: unexpected arguments %q", errUsage, pos)
	case set == "" || model == "":
		return fmt.Errorf("%w: models batch-input: --set and --model are required", errUsage)
	}
	store, closeDB, err := openStore(ctx, "models batch-input", dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	if out == "" {
		_, err := store.WriteBatchInput(ctx, set, modelout.NewBatchWriter(e.stdout, model))
		return err
	}
	// Parts are written beside the target and renamed at the end, so a
	// failure leaves no half file. Within the batch API's limits (50,000
	// requests, 190 MB) the one part is named out; beyond them the parts are
	// out's name with -001, -002... before the extension.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	next := func(part int) (io.Writer, error) {
		f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return f, nil
	}
	bw := modelout.NewSplitBatchWriter(next, model, 0, 0)
	n, err := store.WriteBatchInput(ctx, set, bw)
	if err != nil {
		return fmt.Errorf("models batch-input: %w", err)
	}
	if len(files) == 0 { // a set without stimuli still gives its (empty) file
		if _, err := next(1); err != nil {
			return fmt.Errorf("models batch-input: %w", err)
		}
	}
	names := []string{out}
	if len(files) > 1 {
		ext := filepath.Ext(out)
		names = names[:0]
		for i := range files {
			names = append(names, fmt.Sprintf("%s-%03d%s", strings.TrimSuffix(out, ext), i+1, ext))
		}
	}
	for i, f := range files {
		if err := f.Chmod(0o644); err != nil {
			return fmt.Errorf("models batch-input: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("models batch-input: %w", err)
		}
		if err := os.Rename(f.Name(), names[i]); err != nil {
			return fmt.Errorf("models batch-input: %w", err)
		}
	}
	files = nil
	fmt.Fprintf(e.stderr, "wrote %s: %d requests for %s on set %s\n", strings.Join(names, ", "), n, model, set)
	return nil
}

func runModelsQuery(ctx context.Context, args []string, e env) error {
	var dsn, set string
	c := modelout.Client{}
	var out string
	fs := modelsFlags("query", e, &dsn)
	fs.StringVar(&c.Endpoint, "endpoint", "", "OpenAI-compatible server, e.g. http://localhost:8000/v1 (required)")
	fs.StringVar(&c.Model, "model", "", "model to ask (required)")
	fs.StringVar(&set, "set", "", "stimulus set (required)")
	fs.StringVar(&out, "out", "", "batch output JSONL to append to (required; resumed when it exists)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "requests in flight")
	fs.IntVar(&c.Retries, "retries", 5, "retries of a request that failed with 429, 5xx or a network error (0 means the default, 5)")
	fs.DurationVar(&c.Timeout, "timeout", 2*time.Minute, "time limit of each attempt")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("%w: models query: %v", errUsage, err)
	}
	switch {
	case len(pos) > 0:
		return fmt.Errorf("%w: models query: unexpected arguments %q", errUsage, pos)
	case c.Endpoint == "" || c.Model == "" || set == "" || out == "":
		return fmt.Errorf("%w: models query: --endpoint, --model, --set and --out are required", errUsage)
	case c.Concurrency < 1:
		return fmt.Errorf("%w: models query: --concurrency must be at least 1", errUsage)
	}
	c.APIKey = e.getenv("OPENAI_API_KEY")
	store, closeDB, err := openStore(ctx, "models query", dsn)
	if err != nil {
		return err
	}
	defer closeDB()
	stimuli, err := store.SetStimuli(ctx, set)
	if err != nil {
		return fmt.Errorf("models query: %w", err)
	}

	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("models query: %w", err)
	}
	defer f.Close()
	done, valid, err := modelout.ReadDone(f)
	if err != nil {
		return fmt.Errorf("models query: %w", err)
	}
	// A run killed mid-write leaves a partial last line: cut it off.
	if err := f.Truncate(valid); err != nil {
		return fmt.Errorf("models query: %w", err)
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		return fmt.Errorf("models query: %w", err)
	}
	bar := newProgressBar(e.stderr)
	c.Progress = bar.update
	sum, runErr := c.Run(ctx, stimuli, func(ctx context.Context, id string) ([]byte, error) {
		return store.SetImage(ctx, set, id)
	}, f, done) // unbuffered: every answer is on disk once written, ready for a resume
	bar.finish()
	if err := f.Close(); err != nil {
		return fmt.Errorf("models query: %w", err)
	}
	fmt.Fprintf(e.stdout, "%s: %d answered now, %d already there, %d failed\n", out, sum.Answered, sum.Skipped, len(sum.Failed))
	for i, ferr := range sum.Failed {
		if i == 10 {
			fmt.Fprintf(e.stderr, "  ... and %d more\n", len(sum.Failed)-10)
			break
		}
		fmt.Fprintf(e.stderr, "  %v\n", ferr)
	}
	if runErr != nil {
		return fmt.Errorf("models query: %w (run again to resume)", runErr)
	}
	if len(sum.Failed) > 0 {
		return fmt.Errorf("models query: %d stimuli failed; run the same command again to retry them", len(sum.Failed))
	}
	fmt.Fprintf(e.stdout, "import it with: server models import %s --set %s --model %s\n", out, set, c.Model)
	return nil
}
