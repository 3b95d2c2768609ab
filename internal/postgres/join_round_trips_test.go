package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
)

// roundTrips counts what a pgx connection sends: each statement sent alone
// and each batch is one round trip (statements a connection prepares the
// first time it meets them are not counted).
type roundTrips struct {
	mu  sync.Mutex
	sql []string
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, d.SQL)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sql = append(r.sql, fmt.Sprintf("batch of %d", d.Batch.Len()))
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sql
	r.sql = nil
	return s
}

// TestJoinRoundTrips holds a join to its round trips: BEGIN, one batch (the
// lookup, the items, the first claim), the statement writing the new
// participant or the resumed one's session, COMMIT; a pool study's slots
// take one more. A launch burst queues on them.
func TestJoinRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, setup := pgtest.New(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	trace := &roundTrips{}
	cfg.ConnConfig.Tracer = trace
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	fixed := pgtest.NewStudy(t, postgres.NewStore(setup), "rt", 6)
	pooled := poolStudy(t, postgres.NewStore(setup), 40, 4, 2)
	for _, c := range []struct {
		name string
		join func(i int) error
		want int
	}{
		{"FixedNew", func(i int) error {
			_, err := store.Join(ctx, fixed, prolific.Params{PID: pid(i)}, int64(i), hashOf(pid(i)))
			return err
		}, 4},
		{"FixedResume", func(i int) error {
			_, err := store.Join(ctx, fixed, prolific.Params{PID: pid(1)}, int64(i), hashOf(pid(i)+"again"))
			return err
		}, 4},
		{"PoolNew", func(i int) error {
			_, err := store.Join(ctx, pooled, prolific.Params{PID: pid(i)}, int64(i), hashOf(pid(i)+"pool"))
			return err
		}, 5},
	} {
		// The first joins on the connection prepare its statements.
		for i := 1; i <= 2; i++ {
			if err := c.join(i); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		trace.take()
		if err := c.join(3); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := trace.take(); len(got) != c.want {
			t.Errorf("%s: %d round trips, want %d: %q", c.name, len(got), c.want, got)
		}
	}
}
