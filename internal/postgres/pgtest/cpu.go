package pgtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Skipf("PostgreSQL backends not readable here (%v): this needs the database on this machine", err)
		}
		// Fields after the command name, which ends with ')': utime is
		// the 14th field of the line, stime the 15th.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+stt) * time.Second / 100 // USER_HZ
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}

// SelfCPU is this process's CPU time so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
