package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/cubelab/cubelab/internal/cubeworld"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/task"
)

const stimuliUsage = `usage:
  server stimuli generate --domain tower|pyramid --sizes 2-4 (--per-size-and-answer N | --n N)
                          --seed S --out DIR [--size 512] [--paired] [--margin 0.005]
                          [--compression speed|default|best] [--split NAME] [--workers N]
  server stimuli validate DIR [--recheck=false]
  server stimuli explain --domain tower|pyramid --seed S --index I [--sizes 2-7]
                          [--n N | --per-size-and-answer N] [--paired] [--margin 0.005] [--png FILE]
  server stimuli import DIR [DIR...] [--database-url URL] [--replace]`

// runStimuli generates, validates and imports stimulus sets.
func runStimuli(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: stimuli needs a subcommand\n\n%s", errUsage, stimuliUsage)
	}
	switch args[0] {
	case "generate":
		return stimuliGenerate(ctx, args[1:], e)
	case "validate":
		return stimuliValidate(ctx, args[1:], e)
	case "explain":
		return stimuliExplain(ctx, args[1:], e)
	case "import":
		return stimuliImport(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprintln(e.stdout, stimuliUsage)
		return nil
	}
	return fmt.Errorf("%w: unknown stimuli subcommand %q\n\n%s", errUsage, args[0], stimuliUsage)
}

// setFlags are the flags that say which set (and so which items) to make,
// shared by generate and explain.
type setFlags struct {
	domain, sizes *string
	per, n        *int
	seed          *uint64
	paired        *bool
	margin        *float64
	size          *int
}

func newSetFlags(fs *flag.FlagSet) setFlags {
	return setFlags{
		domain: fs.String("domain", "", "tower or pyramid"),
		sizes:  fs.String("sizes", "", "blocks per tower (2-7) or rows per pyramid (2-5): 3, 2-4 or 2,4,6"),
		per:    fs.Int("per-size-and-answer", 0, "items for every size and answer (a balanced evaluation set)"),
		n:      fs.Int("n", 0, "items in all, sizes in turn (a pool)"),
		seed:   fs.Uint64("seed", 1, "random seed; the same seed gives byte-identical files"),
		paired: fs.Bool("paired", false, "pyramids: also write each pyramid without its red block (domain pyramid-removed)"),
		margin: fs.Float64("margin", cubeworld.DefaultMargin, "statics margin in metres: scenes whose label would flip within it are re-sampled"),
		size:   fs.Int("size", cubeworld.DefaultImageSize, "image side in pixels"),
	}
}

// options turns the flags into generation options; defaultSizes, when set,
// stands in for a missing --sizes (the whole range of the domain).
func (f setFlags) options(defaultSizes bool) (stimulus.GenerateOptions, error) {
	d, err := task.ParseDomain(*f.domain)
	if err != nil {
		return stimulus.GenerateOptions{}, fmt.Errorf("%w: --domain: %v", errUsage, err)
	}
	sizes := *f.sizes
	if sizes == "" && defaultSizes {
		sizes = fmt.Sprintf("%d-%d", cubeworld.MinTowerBlocks, cubeworld.MaxTowerBlocks)
		if d == task.Pyramid {
			sizes = fmt.Sprintf("%d-%d", cubeworld.MinPyramidRows, cubeworld.MaxPyramidRows)
		}
	}
	ss, err := task.ParseSizes(strings.Split(sizes, ","))
	if err == nil && len(ss) == 0 {
		err = errors.New("required, e.g. 2-4")
	}
	if err != nil {
		return stimulus.GenerateOptions{}, fmt.Errorf("%w: --sizes: %v", errUsage, err)
	}
	return stimulus.GenerateOptions{
		Domain: d, Sizes: ss, PerSizeAndAnswer: *f.per, N: *f.n, Paired: *f.paired, Seed: *f.seed,
		Margin: *f.margin, ImageSize: *f.size,
	}, nil
}

func stimuliGenerate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("stimuli generate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sf := newSetFlags(fs)
	var (
		out         = fs.String("out", "", "new folder to write the set into (written beside it first, renamed when complete)")
		compression = fs.String("compression", "speed", "PNG compression: speed, default or best")
		split       = fs.String("split", "", "value of the split column for every item")
		workers     = fs.Int("workers", 0, "parallel workers (0: one per CPU)")
	)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	o, err := sf.options(false)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	levels := map[string]png.CompressionLevel{"speed": png.BestSpeed, "default": png.DefaultCompression, "best": png.BestCompression}
	level, ok := levels[*compression]
	if !ok {
		return fmt.Errorf("%w: --compression %q (want speed, default or best)", errUsage, *compression)
	}
	o.Compression, o.Split, o.Workers = level, *split, *workers
	start := time.Now()
	bar := newProgressBar(e.stderr)
	sum, err := stimulus.Generate(ctx, *out, o, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s in %.1fs: %d images from %d scenes drawn; re-sampled: %d within the margin, %d by the depth rule, %d undecided by the solver\n",
		*out, time.Since(start).Seconds(), sum.Items, sum.Drawn, sum.Ambiguous, sum.DepthFlip, sum.Undecided)
	return nil
}

// stimuliExplain replays one item of a set: its scene, every verdict with
// its margin, and a picture.
func stimuliExplain(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("stimuli explain", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sf := newSetFlags(fs)
	index := fs.Int("index", -1, "the item's index in the set, from 0 (tower-0001 is index 0)")
	pngPath := fs.String("png", "", "where to write the picture (default: ID.png in the current folder; - for none)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *index < 0 {
		return fmt.Errorf("%w: --index is required", errUsage)
	}
	o, err := sf.options(true)
	if err != nil {
		return err
	}
	if *sf.per == 0 && *sf.n == 0 {
		o.N = *index + 1 // a pool's item i does not depend on its size
	}
	o.Compression = png.DefaultCompression
	p, st, sampleErr := o.Sample(*index)
	var ie *stimulus.ItemError
	if sampleErr != nil && !errors.As(sampleErr, &ie) {
		return sampleErr
	}
	w := e.stdout
	fmt.Fprintf(w, "item %s: seed %d, index %d of: stimuli generate %s\n", p.ID, o.Seed, *index, o.Command())
	fmt.Fprintf(w, "drawn %d scenes for it: %d within the margin, %d by the depth rule, %d undecided by the solver\n",
		st.Drawn, st.Ambiguous, st.DepthFlip, st.Undecided)
	blocks, red := p.Blocks, p.Red
	if ie != nil {
		var de *cubeworld.DisagreeError
		var ue *cubeworld.UndecidedError
		switch {
		case errors.As(sampleErr, &de):
			blocks, red = de.Blocks, nil
		case errors.As(sampleErr, &ue):
			blocks, red = ue.Blocks, nil
		}
		fmt.Fprintf(w, "FAILED: %v\nthe scene it failed on:\n", sampleErr)
	}
	scene := cubeworld.Scene{ID: p.ID, Domain: o.Domain, Blocks: blocks, Red: red, Answer: p.Answer}
	js, _ := json.Marshal(scene)
	fmt.Fprintf(w, "scene: %s\n", js)
	if o.Domain == task.Pyramid && red != nil {
		fmt.Fprintf(w, "pyramid of %d rows, red block %d on row %d\n", p.Rows, *red, p.RedRow)
		explainLP(w, "without the red block", cubeworld.Without(blocks, *red), o.Margin)
		explainLP(w, "the whole pyramid", blocks, o.Margin)
	} else {
		explainTower(w, blocks, o.Margin)
	}
	if p.Answer != "" && ie == nil {
		fmt.Fprintf(w, "answer: %s\n", p.Answer)
	}
	if *pngPath != "-" && len(blocks) > 0 {
		path := *pngPath
		if path == "" {
			path = p.ID + ".png"
		}
		rd, err := cubeworld.NewRenderer(o.ImageSize, png.DefaultCompression)
		if err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := rd.PNG(f, blocks, nil); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(w, "picture: %s\n", path)
	}
	return sampleErr
}

// explainTower prints a column's closed-form verdicts (as sampled and with
// the depth offsets zeroed) and the linear program's.
func explainTower(w io.Writer, blocks []cubeworld.Block, margin float64) {
	if cubeworld.IsColumn(blocks) {
		for _, c := range []struct {
			name   string
			blocks []cubeworld.Block
		}{{"closed form", blocks}, {"closed form, depth offsets zeroed", cubeworld.FlattenDepth(blocks)}} {
			d, at := cubeworld.ColumnDepth(c.blocks)
			v, _ := cubeworld.Classify(c.blocks, margin)
			where := "the floor"
			if at > 0 {
				where = fmt.Sprintf("blocks %d and %d", at-1, at)
			}
			fmt.Fprintf(w, "%s: centre of mass %.4f m inside the support (at %s): %v with margin %g m\n", c.name, d, where, v, margin)
		}
	} else {
		fmt.Fprintln(w, "closed form: not a single column")
	}
	explainLP(w, "the tower", blocks, margin)
}

// explainLP prints the linear program's verdict at insets -margin, 0 and
// +margin, with the time each solve took.
func explainLP(w io.Writer, what string, blocks []cubeworld.Block, margin float64) {
	fmt.Fprintf(w, "linear program, %s:", what)
	for _, inset := range []float64{-margin, 0, margin} {
		start := time.Now()
		ok, err := cubeworld.Solve(blocks, inset)
		took := time.Since(start)
		verdict := "falls"
		switch {
		case err != nil && !errors.Is(err, cubeworld.ErrFloating):
			verdict = "undecided (" + err.Error() + ")"
		case ok:
			verdict = "stands"
		}
		fmt.Fprintf(w, " inset %+g m: %s (%.2f ms);", inset, verdict, float64(took.Microseconds())/1000)
	}
	v, err := cubeworld.Classify(blocks, margin)
	if cubeworld.IsColumn(blocks) {
		// Classify uses the closed form for columns; give the program's own verdict.
		v, err = lpVerdict(blocks, margin)
	}
	if err != nil {
		fmt.Fprintf(w, " verdict: undecided\n")
		return
	}
	fmt.Fprintf(w, " verdict with margin %g m: %v\n", margin, v)
}

// lpVerdict is Classify by the linear program alone.
func lpVerdict(blocks []cubeworld.Block, margin float64) (cubeworld.Verdict, error) {
	ok, err := cubeworld.Solve(blocks, margin)
	if err != nil && !errors.Is(err, cubeworld.ErrFloating) {
		return cubeworld.Ambiguous, err
	}
	if ok {
		return cubeworld.Stable, nil
	}
	ok, err = cubeworld.Solve(blocks, -margin)
	if err != nil && !errors.Is(err, cubeworld.ErrFloating) {
		return cubeworld.Ambiguous, err
	}
	if !ok {
		return cubeworld.Unstable, nil
	}
	return cubeworld.Ambiguous, nil
}

func stimuliValidate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("stimuli validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	recheck := fs.Bool("recheck", true, "recompute every answer from scenes.jsonl by statics")
	// Accept the folder before or after the flags.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	} else if fs.NArg() > 0 || dir == "" {
		return fmt.Errorf("%w: stimuli validate takes one folder\n\n%s", errUsage, stimuliUsage)
	}
	s, err := stimulus.Load(dir)
	if err != nil {
		return err
	}
	if *recheck {
		if err := stimulus.Recheck(ctx, s, 0); err != nil {
			return err
		}
	}
	counts := map[string]int{}
	for _, it := range s.Items {
		counts[fmt.Sprintf("%s %d %s", it.Domain, it.Size(), it.Answer)]++
	}
	fmt.Fprintf(e.stdout, "%s: %d items, valid", s.Name, len(s.Items))
	switch {
	case !s.Scenes:
		fmt.Fprint(e.stdout, " (no scenes.jsonl: answers taken as given)")
	case *recheck:
		fmt.Fprint(e.stdout, "; every answer recomputed from scenes.jsonl agrees")
	}
	fmt.Fprintln(e.stdout)
	for _, d := range task.Domains {
		for size := 1; size <= 20; size++ {
			y, n := counts[fmt.Sprintf("%s %d %s", d, size, task.Yes)], counts[fmt.Sprintf("%s %d %s", d, size, task.No)]
			if y+n > 0 {
				fmt.Fprintf(e.stdout, "  %-16s size %2d: %4d Yes %4d No\n", d, size, y, n)
			}
		}
	}
	return nil
}

// stimuliImport validates every folder first, then imports each in its own
// transaction, one image at a time. A folder already imported with the same
// content is left as it is, so the command can simply be run again after a
// failure.
func stimuliImport(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("stimuli import", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dbURL := fs.String("database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	replace := fs.Bool("replace", false, "replace a stored set of the same name and different content, if no study or model run uses it")
	var lim stimulus.ImageLimits
	imageFlags(fs, &lim, e)
	// Folders and flags in any order.
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		dirs, args = append(dirs, fs.Arg(0)), fs.Args()[1:]
	}
	if len(dirs) == 0 {
		return fmt.Errorf("%w: stimuli import takes one or more folders\n\n%s", errUsage, stimuliUsage)
	}
	if err := checkImageFlags(lim); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("stimuli import: no database: set --database-url or DATABASE_URL")
	}
	// Validate all before storing any: a typo in the third folder should not
	// leave the first two imported and the run half done.
	sets := make([]*stimulus.Set, len(dirs))
	var bad []string
	for i, dir := range dirs {
		s, err := stimulus.LoadWith(dir, lim)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		sets[i] = s
	}
	if len(bad) > 0 {
		return fmt.Errorf("stimuli import: nothing was imported:\n%s", strings.Join(bad, "\n"))
	}

	if _, err := postgres.Migrate(ctx, *dbURL); err != nil {
		return fmt.Errorf("stimuli import: %w", err)
	}
	pool, err := postgres.Open(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("stimuli import: %w", err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	for _, s := range sets {
		start := time.Now()
		bar := newProgressBar(e.stderr)
		res, err := store.ImportSetDir(ctx, s, postgres.ImportOptions{Replace: *replace, Progress: bar.update})
		bar.finish()
		if err != nil {
			return fmt.Errorf("stimuli import: %s (nothing of it was stored): %w", s.Dir, err)
		}
		switch {
		case res.Replaced:
			fmt.Fprintf(e.stdout, "%s: %d items imported, replacing the set stored before (%.1fs)\n", s.Name, res.Items, time.Since(start).Seconds())
		case res.Created:
			fmt.Fprintf(e.stdout, "%s: %d items imported (%.1fs)\n", s.Name, res.Items, time.Since(start).Seconds())
		default:
			fmt.Fprintf(e.stdout, "%s: already imported with the same content, unchanged\n", s.Name)
		}
	}
	return nil
}

// progressBar draws progress on a terminal and stays silent otherwise (a log
// file or a pipe gets no carriage-return noise).
type progressBar struct {
	w     io.Writer
	on    bool
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, on: ok && term.IsTerminal(int(f.Fd())), start: time.Now()}
}

func (p *progressBar) update(done, total int) {
	if !p.on || (done < total && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := width * done / max(total, 1)
	elapsed := time.Since(p.start).Seconds()
	rate := float64(done) / max(elapsed, 1e-9)
	eta := float64(total-done) / max(rate, 1e-9)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  %.0f/s  ETA %.0fs ", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, rate, eta)
	p.drawn = true
}

func (p *progressBar) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
