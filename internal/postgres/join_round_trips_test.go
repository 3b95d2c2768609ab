package postgres_test

import (
	"context"
	"fmt"
	"strings"
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
	mu      sync.Mutex
	sql     []string
	batched []string
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

func (r *roundTrips) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batched = append(r.batched, d.SQL)
}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sql
	r.sql = nil
	return s
}

// lookups is how many of the statements since take read participants by
// study and PID, and forgets them.
func (r *roundTrips) lookups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, sql := range append(r.sql, r.batched...) {
		if strings.Contains(sql, "p.prolific_pid = $2") {
			n++
		}
	}
	r.batched = nil
	return n
}

// TestJoinRoundTrips holds a new participant's join to its round trips:
// BEGIN, one batch (the items, the first claim), the statement writing the
// participant, COMMIT; a pool study's slots take one more. A launch burst
// queues on them. None reads participants by PID before the insert: on a
// fresh database that lookup's plan scanned the study's participants. A
// participant who comes back takes two transactions (the insert finds
// them), with one lookup.
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
		name    string
		join    func(i int) error
		want    int
		lookups int
	}{
		{"FixedNew", func(i int) error {
			_, err := store.Join(ctx, fixed, prolific.Params{PID: pid(i)}, int64(i), hashOf(pid(i)))
			return err
		}, 4, 0},
		{"FixedResume", func(i int) error {
			_, err := store.Join(ctx, fixed, prolific.Params{PID: pid(1)}, int64(i), hashOf(pid(i)+"again"))
			return err
		}, 8, 1},
		{"PoolNew", func(i int) error {
			_, err := store.Join(ctx, pooled, prolific.Params{PID: pid(i)}, int64(i), hashOf(pid(i)+"pool"))
			return err
		}, 5, 0},
	} {
		// The first joins on the connection prepare its statements.
		for i := 1; i <= 2; i++ {
			if err := c.join(i); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		trace.lookups()
		trace.take()
		if err := c.join(3); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := trace.lookups()
		if got := trace.take(); len(got) != c.want {
			t.Errorf("%s: %d round trips, want %d: %q", c.name, len(got), c.want, got)
		}
		if n != c.lookups {
			t.Errorf("%s: %d lookups of the participant by PID, want %d", c.name, n, c.lookups)
		}
	}
}
