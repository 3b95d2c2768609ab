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
	"sync"

	"github.com/cubelab/cubelab/internal/cubeworld"
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
}

// spec is what one generated stimulus must be.
type spec struct {
	size int
	want string // "" for whatever comes
}

// plan lists the stimuli in output order, or nil when they follow from the
// index alone (N), so that memory does not grow with N.
func (o GenerateOptions) plan() []spec {
	if o.PerSizeAndAnswer == 0 {
		return nil
	}
	var ps []spec
	for _, s := range o.Sizes {
		for _, a := range []string{task.Yes, task.No} {
			for range o.PerSizeAndAnswer {
				ps = append(ps, spec{s, a})
			}
		}
	}
	// Shuffled, so that neither ids nor file names give the answer away.
	r := rand.New(rand.NewPCG(o.Seed, math.MaxUint64)) // a stream no item index uses
	r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	return ps
}

func (o GenerateOptions) specAt(plan []spec, i int) spec {
	if plan != nil {
		return plan[i]
	}
	s := spec{size: o.Sizes[i%len(o.Sizes)]}
	if o.Domain == task.Pyramid {
		// Without the alternation most pyramids would be Yes.
		s.want = []string{task.Yes, task.No}[(i/len(o.Sizes))%2]
	}
	return s
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

// made is one generated stimulus (two for a pair), ready to be written.
type made struct {
	i      int
	items  []Item
	scenes [][]byte
	err    error
}

// Generate writes a new stimulus set into dir, which must not exist or be
// empty: images/*.png, manifest.csv and scenes.jsonl. Stimuli are made in
// parallel, one renderer per worker, each from a random source seeded by
// (Seed, index), and written in index order, so the output is byte-identical
// for a seed whatever the number of workers. Only a bounded window of
// finished items waits for its turn, so memory stays flat in N. progress,
// when not nil, is called after each item with the count done and the total.
func Generate(ctx context.Context, dir string, o GenerateOptions, progress func(done, total int)) error {
	if err := o.check(); err != nil {
		return err
	}
	if o.ImageSize == 0 {
		o.ImageSize = cubeworld.DefaultImageSize
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	plan := o.plan()
	total := o.N
	if plan != nil {
		total = len(plan)
	}
	if err := prepareDir(dir); err != nil {
		return err
	}
	mf, err := os.Create(filepath.Join(dir, ManifestFile))
	if err != nil {
		return fmt.Errorf("stimulus: generate: %w", err)
	}
	defer mf.Close()
	sf, err := os.Create(filepath.Join(dir, ScenesFile))
	if err != nil {
		return fmt.Errorf("stimulus: generate: %w", err)
	}
	defer sf.Close()
	mbuf, sbuf := bufio.NewWriter(mf), bufio.NewWriter(sf)
	mw, err := NewManifestWriter(mbuf)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := 4 * o.Workers
	tokens := make(chan struct{}, window) // items handed out but not yet written
	jobs := make(chan int)
	results := make(chan made, window)
	go func() {
		defer close(jobs)
		for i := range total {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd, err := cubeworld.NewRenderer(o.ImageSize, o.Compression)
			for i := range jobs {
				m := made{i: i, err: err}
				if err == nil {
					m = o.make(rd, dir, plan, i, total)
				}
				select {
				case results <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	// Write in index order; on the first error stop everything, and wait for
	// the workers so that no file is written after Generate returns.
	pending := map[int]made{}
	next := 0
	var failed error
	for m := range results {
		if failed != nil {
			continue
		}
		pending[m.i] = m
		for failed == nil {
			m, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			failed = m.err
			for k := 0; failed == nil && k < len(m.items); k++ {
				failed = mw.Write(m.items[k])
				sbuf.Write(m.scenes[k]) // its error comes back from Flush
			}
			if failed != nil {
				cancel()
				break
			}
			next++
			<-tokens
			if progress != nil {
				progress(next, total)
			}
		}
	}
	if failed != nil {
		return failed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stimulus: generate: %w", err)
	}
	if next != total {
		return fmt.Errorf("stimulus: generate: only %d of %d items made", next, total)
	}
	if err := mw.Flush(); err != nil {
		return err
	}
	for _, c := range []struct {
		w *bufio.Writer
		f *os.File
	}{{mbuf, mf}, {sbuf, sf}} {
		if err := c.w.Flush(); err != nil {
			return fmt.Errorf("stimulus: generate: %w", err)
		}
		if err := c.f.Close(); err != nil {
			return fmt.Errorf("stimulus: generate: %w", err)
		}
	}
	return nil
}

// prepareDir makes dir and its images folder, refusing to mix a new set into
// an old one.
func prepareDir(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("stimulus: generate: %s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return fmt.Errorf("stimulus: generate: %w", err)
	}
	return nil
}

// make samples, labels and renders item i.
func (o GenerateOptions) make(rd *cubeworld.Renderer, dir string, plan []spec, i, total int) made {
	sp := o.specAt(plan, i)
	r := rand.New(rand.NewPCG(o.Seed, uint64(i)))
	num := fmt.Sprintf("%0*d", max(4, len(fmt.Sprint(total))), i+1)
	m := made{i: i}
	type out struct {
		scene cubeworld.Scene
		item  Item
		frame []cubeworld.Block
	}
	var outs []out
	switch o.Domain {
	case task.Tower:
		s, err := cubeworld.Tower(r, sp.size, o.Margin, sp.want)
		if err != nil {
			m.err = err
			return m
		}
		s.ID = "tower-" + num
		outs = append(outs, out{scene: s, item: Item{
			ID: s.ID, Domain: task.Tower, NBlocks: len(s.Blocks), Answer: s.Answer,
		}})
	case task.Pyramid:
		p, err := cubeworld.Pyramid(r, sp.size, o.Margin, sp.want)
		if err != nil {
			m.err = err
			return m
		}
		p.ID = "pyramid-" + num
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
	type line struct {
		n    int
		text []byte
	}
	lines := make(chan line)
	var (
		mu    sync.Mutex
		found []Problem
		wg    sync.WaitGroup
	)
	report := func(n int, field, format string, args ...any) {
		mu.Lock()
		found = append(found, Problem{File: ScenesFile, Line: n, Field: field, Msg: fmt.Sprintf(format, args...)})
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range lines {
				var sc cubeworld.Scene
				if err := json.Unmarshal(l.text, &sc); err != nil {
					report(l.n, "", "not a scene: %v", err)
					continue
				}
				it := byID[sc.ID] // Load has matched ids already
				if len(sc.Blocks) != it.NBlocks {
					report(l.n, "blocks", "%d blocks, manifest.csv says n_blocks %d", len(sc.Blocks), it.NBlocks)
				}
				got, err := cubeworld.GroundTruth(sc)
				switch {
				case err != nil:
					report(l.n, "", "%v", err)
				case got != it.Answer:
					report(l.n, "answer", "recomputed %s from the blocks, the set says %s", got, it.Answer)
				}
			}
		}()
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	n := 0
	for sc.Scan() && ctx.Err() == nil {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		lines <- line{n, slices.Clone(sc.Bytes())}
	}
	close(lines)
	wg.Wait()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stimulus: recheck: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stimulus: recheck: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b Problem) int { return a.Line - b.Line })
	ve := &ValidationError{Problems: found}
	if len(found) > maxProblems {
		ve.Problems, ve.More = found[:maxProblems], true
	}
	return fmt.Errorf("stimulus: set %s:\n%w", s.Dir, ve)
}
