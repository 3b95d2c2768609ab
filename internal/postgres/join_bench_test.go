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
	"github.com/cubelab/cubelab/internal/procstat"
	"github.com/cubelab/cubelab/internal/prolific"
)

// BenchmarkJoinBurst opens the link of one study 300 and 3,000 times at
// once (a Prolific launch), each a new participant of a fixed study of 20
// towers, through the store's pool, and reports joins per second of wall
// time and the CPU time per join of the PostgreSQL backends (from /proc, so
// the database must run on this machine) and of this process (pgx): the CPU
// times move less with the shared machine's load than the wall time. A new
// study per round, so every round starts empty, on a fresh database, as at
// a first launch: a statement whose plan depends on the size of the study
// shows at 3,000.
func BenchmarkJoinBurst(b *testing.B) {
	for _, joins := range []int{300, 3000} {
		b.Run(fmt.Sprint(joins), func(b *testing.B) { benchmarkJoinBurst(b, joins) })
	}
}

func benchmarkJoinBurst(b *testing.B, joins int) {
	ctx := context.Background()
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	var total, pgCPU, goCPU time.Duration
	var refused atomic.Int64
	round := 0
	for b.Loop() {
		b.StopTimer()
		st := pgtest.NewStudy(b, store, fmt.Sprintf("burst%d", round), 20)
		pgtest.SetPlaces(b, pool, st.ID, 100000)
		round++
		b.StartTimer()
		start, pg0, self0 := time.Now(), pgtest.BackendCPU(b, pool), procstat.Self()
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
		b.StopTimer()
		pgCPU += pgtest.BackendCPU(b, pool) - pg0
		goCPU += procstat.Self() - self0
		b.StartTimer()
	}
	if refused.Load() > 0 {
		b.Fatalf("%d joins failed", refused.Load())
	}
	b.ReportMetric(float64(joins*b.N)/total.Seconds(), "joins/s")
	b.ReportMetric(float64(pgCPU.Microseconds())/float64(joins*b.N), "pg-cpu-µs/join")
	b.ReportMetric(float64(goCPU.Microseconds())/float64(joins*b.N), "go-cpu-µs/join")
}
