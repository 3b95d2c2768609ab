package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/procstat"
)

// BackendCPU is the CPU time used so far by the PostgreSQL backends
// connected to pool's database, from /proc. It skips the test or benchmark
// when the backends cannot be read (the database runs elsewhere). A
// connection closed in between takes its CPU time with it, so take both
// readings while the pool holds its connections.
func BackendCPU(t testing.TB, pool *pgxpool.Pool) time.Duration {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		cpu, err := procstat.CPU(pid)
		if err != nil {
			t.Skipf("PostgreSQL backends not readable here (%v): this needs the database on this machine", err)
		}
		total += cpu
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
