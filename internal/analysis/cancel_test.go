package analysis

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// A report nobody waits for stops: the finding was a 6,332-run report that
// went on for two minutes after its client left.
func TestAnalyzeContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := AnalyzeContext(ctx, randomMatrix(20, 24, 3, 7), Options{Seed: 1})
	if !errors.Is(err, context.Canceled) || rep != nil {
		t.Fatalf("cancelled before it starts: %v, %v; want context.Canceled and no report", rep, err)
	}
	if _, err := AnalyzeContext(context.Background(), randomMatrix(20, 24, 3, 7), Options{Seed: 1, Resamples: 100}); err != nil {
		t.Fatal(err)
	}
}

// The bootstrap stops between chunks: once ctx is done no chunk starts, so a
// cancelled analysis of millions of resamples ends after the chunks under way.
func TestBootstrapStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	running, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	jb := &job{key: 1, resamples: 100 * chunkSize, fill: func(d *drawer, from, to int, out []float64) {
		if calls.Add(1) == 1 {
			close(running)
			<-release
		}
	}}
	errc := make(chan error, 1)
	go func() { errc <- runJobsContext(ctx, []*job{jb}, 1, 1) }()
	<-running // the first chunk is under way and holds the one worker
	cancel()
	close(release)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("runJobsContext: %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d of 100 chunks ran after the cancel, want only the one under way", n)
	}
}
