package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/task"
)

// syntheticRows generates answers images x perImage without holding them: sorted
// stimulus ids, six tower sizes, 1,000 participants, two studies.
func syntheticRows(images, perImage int) iter.Seq2[Answer, error] {
	return func(yield func(Answer, error) bool) {
		r := rand.New(rand.NewPCG(1, 2))
		for i := range images {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			truth := task.No
			if i%2 == 0 {
				truth = task.Yes
			}
			for j := range perImage {
				resp := truth
				if r.Float64() < 0.365 {
					resp = flip(truth)
				}
				a := Answer{StimulusID: id, Domain: task.Tower, Size: 2 + i%6, SetSplit: "pool", Truth: truth,
					Response: resp, ParticipantID: fmt.Sprintf("p%04d", (i+j*37)%1000), Study: fmt.Sprintf("study%d", j%2),
					ImagePath: "towers/" + id + ".png"}
				if !yield(a, nil) {
					return
				}
			}
		}
	}
}

// syntheticImages serves ~20 KB of random bytes per image: one shared random block
// behind a per-image header, so the images differ without the benchmark holding them.
func syntheticImages() OpenImage {
	block := make([]byte, 20<<10)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range block {
		block[i] = byte(r.Uint32())
	}
	return func(_ context.Context, id, _ string) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader([]byte("\x89PNG "+id)), bytes.NewReader(block))), nil
	}
}

// peakMemory samples the Go runtime's memory obtained from the OS (Sys) and the
// live heap while an export runs; stop returns the peaks in MB.
func peakMemory() (stop func() (sysMB, heapMB float64)) {
	var mu sync.Mutex
	var sys, heap uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		sys, heap = max(sys, m.Sys), max(heap, m.HeapInuse)
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() (float64, float64) {
		close(done)
		<-finished
		sample()
		mu.Lock()
		defer mu.Unlock()
		return float64(sys) / (1 << 20), float64(heap) / (1 << 20)
	}
}

// BenchmarkExport writes 1,000,000 answers over 10,000 images (100 per image) to a
// ZIP file on disk. The OpenAI format inlines every image in every line, so it is
// measured with one example per image (majority) rather than 1,000,000 inlined images.
func BenchmarkExport(b *testing.B) {
	cases := []struct {
		format Format
		source Source
	}{{Messages, EveryAnswer}, {ImageFolder, EveryAnswer}, {CSV, EveryAnswer}, {OpenAI, Majority}}
	const images, perImage = 10_000, 100
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s-%s", c.format, c.source), func(b *testing.B) {
			dir := b.TempDir()
			open := syntheticImages()
			var size int64
			var sum Summary
			stop := peakMemory()
			for b.Loop() {
				f, err := os.Create(filepath.Join(dir, "out.zip"))
				if err != nil {
					b.Fatal(err)
				}
				sum, err = Write(context.Background(), f, syntheticRows(images, perImage), open,
					Options{Source: c.source, Ties: CoinTies, Format: c.format, ValidationFraction: 0.1, Seed: 1, TempDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				if size, err = f.Seek(0, io.SeekEnd); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			sysMB, heapMB := stop()
			if sum.Images != images || sum.Responses != images*perImage {
				b.Fatalf("summary %d images, %d responses", sum.Images, sum.Responses)
			}
			b.ReportMetric(float64(images*perImage)*float64(b.N)/b.Elapsed().Seconds(), "answers/s")
			b.ReportMetric(float64(size)/(1<<20), "zipMB")
			b.ReportMetric(sysMB, "peakSysMB")
			b.ReportMetric(heapMB, "peakHeapMB")
		})
	}
}
