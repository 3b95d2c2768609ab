package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
)

// BenchmarkJoinBurst opens the link of one study 300 times at once (a
// Prolific launch), each a new participant of a fixed study of 20 towers,
// through the store's pool, and reports joins per second of wall time. A
// new study per round, so every round starts empty.
func BenchmarkJoinBurst(b *testing.B) {
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	const joins = 300
	var total time.Duration
	var refused atomic.Int64
	round := 0
	for b.Loop() {
		b.StopTimer()
		st := pgtest.NewStudy(b, store, fmt.Sprintf("burst%d", round), 20)
		pgtest.SetPlaces(b, pool, st.ID, 100000)
		round++
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range joins {
			wg.Go(func() {
				if _, err := store.Join(ctx, st, prolific.Params{PID: pid(round*joins + i)}, int64(i), hashOf(fmt.Sprint("burst", round, i))); err != nil {
					refused.Add(1)
				}
			})
		}
		wg.Wait()
		total += time.Since(start)
	}
	if refused.Load() > 0 {
		b.Fatalf("%d joins failed", refused.Load())
	}
	b.ReportMetric(float64(joins*b.N)/total.Seconds(), "joins/s")
}
