package stimulus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cubelab/cubelab/internal/cubeworld"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

// GenerateOptions says what set Generate writes.
type GenerateOptions struct {
	Domain task.Domain // task.Tower or task.Pyramid
	Sizes  []int       // blocks per tower, or rows per pyramid
	// Exactly one of PerSizeAndAnswer and N is set. PerSizeAndAnswer draws that
	// many items for every size and answer, in a shuffled order; N draws N items
	// with the sizes in turn (towers with whatever answer comes, about half each;
	// pyramids alternating Yes and No).
	PerSizeAndAnswer int
	N                int
	Paired           bool    // pyramids: write each one's pyramid-removed twin too
	Seed             uint64  // the same seed gives the same bytes, whatever Workers is
	Margin           float64 // statics margin in metres (cubeworld.DefaultMargin)
	ImageSize        int     // pixels (cubeworld.DefaultImageSize)
	Compression      png.CompressionLevel
	Split            string // written into every row's split column; may be empty
	Workers          int    // <= 0: one per CPU
	// Statics replaces the linear program (nil: cubeworld.Solve); for tests
	// that need a solver to fail.
	Statics cubeworld.StaticsFunc
}

// spec is what one generated stimulus must be.
type spec struct {
	size   int
	want   string // "" for whatever comes
	redRow int    // pyramids: the red block's row (1 = bottom); 0 for towers
}

// plan lists the stimuli in output order, or nil when they follow from the
// index alone (N), so that memory does not grow with N.
//
// Pyramids get their red row from the plan, not from chance: within every
// (rows, answer) the k-th pyramid has its red block on row 1 + k mod
// (rows-1), so every (rows, red row) cell holds as many Yes as No (exactly,
// with a count per size and answer; to within one, in a pool) and the red
// block's row says nothing about the answer.
func (o GenerateOptions) plan() []spec {
	if o.PerSizeAndAnswer == 0 {
		return nil
	}
	var ps []spec
	for _, s := range o.Sizes {
		for _, a := range []string{task.Yes, task.No} {
			for k := range o.PerSizeAndAnswer {
				ps = append(ps, spec{s, a, o.redRow(s, k)})
			}
		}
	}
	// Shuffled, so that neither ids nor file names give the answer away.
	r := rand.New(rand.NewPCG(o.Seed, math.MaxUint64)) // a stream no item index uses
	r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	return ps
}

// redRow is the red row of the k-th pyramid of a size and answer.
func (o GenerateOptions) redRow(size, k int) int {
	if o.Domain != task.Pyramid {
		return 0
	}
	return 1 + k%(size-1)
}

func (o GenerateOptions) specAt(plan []spec, i int) spec {
	if plan != nil {
		return plan[i]
	}
	s := spec{size: o.Sizes[i%len(o.Sizes)]}
	if o.Domain == task.Pyramid {
		// Without the alternation most pyramids would be Yes. The k-th
		// pyramid of its size: pairs k = 2j, 2j+1 (one Yes, one No) share a red row.
		k := i / len(o.Sizes)
		s.want = []string{task.Yes, task.No}[k%2]
		s.redRow = o.redRow(s.size, k/2)
	}
	return s
}

func (o GenerateOptions) total() int {
	if o.PerSizeAndAnswer > 0 {
		return o.PerSizeAndAnswer * 2 * len(o.Sizes)
	}
	return o.N
}

func (o GenerateOptions) check() error {
	switch {
	case o.Domain != task.Tower && o.Domain != task.Pyramid:
		return fmt.Errorf("stimulus: generate: domain %q (want tower or pyramid)", o.Domain)
	case len(o.Sizes) == 0:
		return errors.New("stimulus: generate: no sizes")
	case (o.PerSizeAndAnswer > 0) == (o.N > 0):
		return errors.New("stimulus: generate: give exactly one of a count per size and answer and a total count")
	case o.PerSizeAndAnswer < 0 || o.N < 0:
		return errors.New("stimulus: generate: negative count")
	case o.Paired && o.Domain != task.Pyramid:
		return errors.New("stimulus: generate: only pyramids come in pairs")
	case o.Margin < 0:
		return errors.New("stimulus: generate: negative margin")
	}
	lo, hi := cubeworld.MinTowerBlocks, cubeworld.MaxTowerBlocks
	if o.Domain == task.Pyramid {
		lo, hi = cubeworld.MinPyramidRows, cubeworld.MaxPyramidRows
	}
	for _, s := range o.Sizes {
		if s < lo || s > hi {
			return fmt.Errorf("stimulus: generate: %s size %d is not within %d-%d", o.Domain, s, lo, hi)
		}
	}
	return nil
}

// Summary is what Generate threw away on the way to a complete set.
type Summary struct {
	Items int // manifest rows written (two per item when Paired)
	cubeworld.Stats
}

// ItemError is an item Generate could not make: which one, how to make it
// again alone, and why. Err is a *cubeworld.DisagreeError when the closed
// form and the linear program disagree, a *cubeworld.UndecidedError when the
// solver could not decide scene after scene.
type ItemError struct {
	Seed   uint64
	Index  int // 0-based
	ID     string
	Domain task.Domain
	Repro  string // a command line that explains the item alone
	Err    error
}

func (e *ItemError) Error() string {
	// A *cubeworld.DisagreeError names both verdicts itself; an undecided
	// solver has no verdict to give.
	var ue *cubeworld.UndecidedError
	verdicts := ""
	if errors.As(e.Err, &ue) {
		verdicts = "; linear program: undecided"
	}
	return fmt.Sprintf("stimulus: generate: seed %d, index %d (%s): %v%s\nreproduce: %s", e.Seed, e.Index, e.ID, e.Err, verdicts, e.Repro)
}

func (e *ItemError) Unwrap() error { return e.Err }

// Command is the stimuli generate command line that makes this set (without
// --out and the flags that change only how it is written).
func (o GenerateOptions) Command() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--domain %s --sizes %s", o.Domain, sizesArg(o.Sizes))
	if o.PerSizeAndAnswer > 0 {
		fmt.Fprintf(&b, " --per-size-and-answer %d", o.PerSizeAndAnswer)
	} else {
		fmt.Fprintf(&b, " --n %d", o.N)
	}
	if o.Paired {
		b.WriteString(" --paired")
	}
	fmt.Fprintf(&b, " --seed %d", o.Seed)
	if o.Margin != cubeworld.DefaultMargin {
		fmt.Fprintf(&b, " --margin %g", o.Margin)
	}
	return b.String()
}

func sizesArg(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ",")
}

// made is one generated stimulus (two for a pair), ready to be written.
type made struct {
	i      int
	items  []Item
	scenes [][]byte
	stats  cubeworld.Stats
	err    error
}

// Generate writes a new stimulus set into dir, which must not exist or be
// empty: images/*.png, manifest.csv and scenes.jsonl. Everything is written
// into a temporary folder beside dir, renamed to dir only when complete, and
// removed on any failure or cancellation, so dir holds a whole set or nothing.
//
// Stimuli are made in parallel (an errgroup of Workers, one renderer each),
// each from a random source seeded by (Seed, index), and written in index
// order, so the output is byte-identical for a seed whatever the number of
// workers. Only a bounded window of finished items waits for its turn, so
// memory stays flat in N. An item that cannot be made stops everything with
// an *ItemError. progress, when not nil, is called after each item with the
// count done and the total.
func Generate(ctx context.Context, dir string, o GenerateOptions, progress func(done, total int)) (Summary, error) {
	var sum Summary
	if err := o.check(); err != nil {
		return sum, err
	}
	if o.ImageSize == 0 {
		o.ImageSize = cubeworld.DefaultImageSize
	}
	if _, err := cubeworld.NewRenderer(o.ImageSize, o.Compression); err != nil {
		return sum, err
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return sum, fmt.Errorf("stimulus: generate: %s is not empty", dir)
	}
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	if sum, err = o.generate(ctx, tmp, progress); err != nil {
		return sum, err
	}
	// An empty dir gives way to the set (os.Rename will not replace a
	// directory); a non-empty one, made meanwhile, stays and fails the rename.
	os.Remove(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	done = true
	return sum, nil
}

// generate writes the set into dir, which exists and is empty.
func (o GenerateOptions) generate(ctx context.Context, dir string, progress func(done, total int)) (Summary, error) {
	var sum Summary
	plan := o.plan()
	total := o.total()
	if err := os.Mkdir(filepath.Join(dir, "images"), 0o755); err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	mf, err := os.Create(filepath.Join(dir, ManifestFile))
	if err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	defer mf.Close()
	sf, err := os.Create(filepath.Join(dir, ScenesFile))
	if err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	defer sf.Close()
	mbuf, sbuf := bufio.NewWriter(mf), bufio.NewWriter(sf)
	mw, err := NewManifestWriter(mbuf)
	if err != nil {
		return sum, err
	}

	g, gctx := errgroup.WithContext(ctx)
	window := 4 * o.Workers
	tokens := make(chan struct{}, window) // items handed out but not yet written
	jobs := make(chan int)
	results := make(chan made, window)
	g.Go(func() error {
		defer close(jobs)
		for i := range total {
			select {
			case tokens <- struct{}{}:
			case <-gctx.Done():
				return nil
			}
			select {
			case jobs <- i:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	var workers sync.WaitGroup
	for range o.Workers {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			rd, err := cubeworld.NewRenderer(o.ImageSize, o.Compression)
			if err != nil {
				return err
			}
			for i := range jobs {
				m := o.make(gctx, rd, dir, plan, i, total)
				if m.err != nil {
					return m.err
				}
				select {
				case results <- m:
				case <-gctx.Done():
					return nil
				}
			}
			return nil
		})
	}
	go func() { workers.Wait(); close(results) }()

	next := 0 // items written
	// Write in index order in this goroutine; the first error anywhere
	// cancels gctx, which stops the feeder and the workers.
	g.Go(func() error {
		pending := map[int]made{}
		for m := range results {
			pending[m.i] = m
			for {
				m, ok := pending[next]
				if !ok {
					break
				}
				delete(pending, next)
				for k := range m.items {
					if err := mw.Write(m.items[k]); err != nil {
						return err
					}
					sbuf.Write(m.scenes[k]) // its error comes back from Flush
				}
				sum.Stats.Add(m.stats)
				next++
				sum.Items += len(m.items)
				<-tokens
				if progress != nil {
					progress(next, total)
				}
			}
			if gctx.Err() != nil {
				return nil
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("stimulus: generate: %w", err)
	}
	if next != total {
		return sum, fmt.Errorf("stimulus: generate: only %d of %d items made", next, total)
	}
	if err := mw.Flush(); err != nil {
		return sum, err
	}
	for _, c := range []struct {
		w *bufio.Writer
		f *os.File
	}{{mbuf, mf}, {sbuf, sf}} {
		if err := c.w.Flush(); err != nil {
			return sum, fmt.Errorf("stimulus: generate: %w", err)
		}
		if err := c.f.Close(); err != nil {
			return sum, fmt.Errorf("stimulus: generate: %w", err)
		}
	}
	return sum, nil
}

// sampler is the cubeworld sampler for these options.
func (o GenerateOptions) sampler() cubeworld.Sampler {
	return cubeworld.Sampler{Margin: o.Margin, Statics: o.Statics}
}

// itemID is the id of item i of total.
func (o GenerateOptions) itemID(i, total int) string {
	num := fmt.Sprintf("%0*d", max(4, len(fmt.Sprint(total))), i+1)
	if o.Domain == task.Pyramid {
		return "pyramid-" + num
	}
	return "tower-" + num
}

// Sample draws item i's scene as Generate does, with what was thrown away on
// the way; for a pyramid, the PyramidScene (rows, red row) as well.
func (o GenerateOptions) Sample(i int) (cubeworld.PyramidScene, cubeworld.Stats, error) {
	if err := o.check(); err != nil {
		return cubeworld.PyramidScene{}, cubeworld.Stats{}, err
	}
	total := o.total()
	if i < 0 || i >= total {
		return cubeworld.PyramidScene{}, cubeworld.Stats{}, fmt.Errorf("stimulus: index %d is not within 0-%d", i, total-1)
	}
	sp := o.specAt(o.plan(), i)
	p, st, err := o.sample(sp, i)
	p.ID = o.itemID(i, total)
	if err != nil {
		err = &ItemError{Seed: o.Seed, Index: i, ID: p.ID, Domain: o.Domain, Err: err,
			Repro: "server stimuli explain " + o.Command() + fmt.Sprintf(" --index %d", i)}
	}
	return p, st, err
}

func (o GenerateOptions) sample(sp spec, i int) (cubeworld.PyramidScene, cubeworld.Stats, error) {
	r := rand.New(rand.NewPCG(o.Seed, uint64(i)))
	if o.Domain == task.Tower {
		s, st, err := o.sampler().Tower(r, sp.size, sp.want)
		return cubeworld.PyramidScene{Scene: s}, st, err
	}
	return o.sampler().Pyramid(r, sp.size, sp.redRow, sp.want)
}

// make samples, labels and renders item i.
func (o GenerateOptions) make(ctx context.Context, rd *cubeworld.Renderer, dir string, plan []spec, i, total int) made {
	m := made{i: i}
	if err := ctx.Err(); err != nil {
		m.err = err
		return m
	}
	p, st, err := o.sample(o.specAt(plan, i), i)
	m.stats = st
	id := o.itemID(i, total)
	if err != nil {
		m.err = &ItemError{Seed: o.Seed, Index: i, ID: id, Domain: o.Domain, Err: err,
			Repro: "server stimuli explain " + o.Command() + fmt.Sprintf(" --index %d", i)}
		return m
	}
	type out struct {
		scene cubeworld.Scene
		item  Item
		frame []cubeworld.Block
	}
	var outs []out
	switch o.Domain {
	case task.Tower:
		s := p.Scene
		s.ID = id
		outs = append(outs, out{scene: s, item: Item{
			ID: s.ID, Domain: task.Tower, NBlocks: len(s.Blocks), Answer: s.Answer,
		}})
	case task.Pyramid:
		p.ID = id
		num := strings.TrimPrefix(id, "pyramid-")
		it := Item{ID: p.ID, Domain: task.Pyramid, NBlocks: len(p.Blocks), NRows: p.Rows, RedRow: p.RedRow, Answer: p.Answer}
		if o.Paired {
			it.PairID = "pair-" + num
		}
		outs = append(outs, out{scene: p.Scene, item: it})
		if o.Paired {
			rm := p.Removed()
			rm.ID = "pyramid-removed-" + num
			ri := it
			ri.ID, ri.Domain, ri.NBlocks = rm.ID, task.PyramidRemoved, len(rm.Blocks)
			outs = append(outs, out{scene: rm, item: ri, frame: p.Blocks})
		}
	}
	for _, x := range outs {
		x.item.Split = o.Split
		x.item.File = "images/" + x.item.ID + ".png"
		if err := writePNG(rd, filepath.Join(dir, filepath.FromSlash(x.item.File)), x.scene.Blocks, x.frame); err != nil {
			m.err = err
			return m
		}
		line, err := json.Marshal(x.scene)
		if err != nil {
			m.err = fmt.Errorf("stimulus: generate: %w", err)
			return m
		}
		m.items = append(m.items, x.item)
		m.scenes = append(m.scenes, append(line, '\n'))
	}
	return m
}

func writePNG(rd *cubeworld.Renderer, path string, blocks, frame []cubeworld.Block) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("stimulus: generate: %w", err)
	}
	if err := rd.PNG(f, blocks, frame); err != nil {
		f.Close()
		return fmt.Errorf("stimulus: generate %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("stimulus: generate: %w", err)
	}
	return nil
}

// Recheck recomputes every answer in the set's scenes.jsonl from the blocks
// alone (cubeworld.GroundTruth, no margin) and reports each one that differs
// from the manifest, and each scene whose block count disagrees with it. A
// set without scenes has nothing to recheck.
func Recheck(ctx context.Context, s *Set, workers int) error {
	if !s.Scenes {
		return nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	byID := make(map[string]Item, len(s.Items))
	for _, it := range s.Items {
		byID[it.ID] = it
	}
	f, err := os.Open(filepath.Join(s.Dir, ScenesFile))
	if err != nil {
		return fmt.Errorf("stimulus: recheck: %w", err)
	}
	defer f.Close()
	var (
		mu    sync.Mutex
		found []problem.Line
	)
	report := func(n int, field, format string, args ...any) {
		mu.Lock()
		found = append(found, problem.Line{File: ScenesFile, Line: n, Field: field, Msg: fmt.Sprintf(format, args...)})
		mu.Unlock()
	}
	// One goroutine a line, at most workers at a time.
	var g errgroup.Group
	g.SetLimit(workers)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	n := 0
	for sc.Scan() && ctx.Err() == nil {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		ln, text := n, slices.Clone(sc.Bytes())
		g.Go(func() error {
			var scene cubeworld.Scene
			if err := json.Unmarshal(text, &scene); err != nil {
				report(ln, "", "not a scene: %v", err)
				return nil
			}
			it := byID[scene.ID] // Load has matched ids already
			if len(scene.Blocks) != it.NBlocks {
				report(ln, "blocks", "%d blocks, manifest.csv says n_blocks %d", len(scene.Blocks), it.NBlocks)
			}
			got, err := cubeworld.GroundTruth(scene)
			switch {
			case err != nil:
				report(ln, "", "%v", err)
			case got != it.Answer:
				report(ln, "answer", "recomputed %s from the blocks, the set says %s", got, it.Answer)
			}
			return nil
		})
	}
	_ = g.Wait() // problems are reported, not returned
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stimulus: recheck: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stimulus: recheck: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b problem.Line) int { return a.Line - b.Line })
	ve := &problem.Lines{List: found}
	if len(found) > maxProblems {
		ve.List, ve.More = found[:maxProblems], true
	}
	return fmt.Errorf("stimulus: set %s:\n%w", s.Dir, ve)
}
