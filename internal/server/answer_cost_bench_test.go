package server_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/task"
)

// costStarted is how many participants are mid-study at once in
// BenchmarkAnswerCost, as in a running study.
const costStarted = 300

// BenchmarkAnswerCost is the CPU time of one answer's three requests (the
// trial page, the next picture, the answer) on both sides: the PostgreSQL
// backends of the server's pool (from /proc, so the database must run on
// this machine) and this process, which runs the handlers. costStarted
// participants take turns, one request at a time, so the CPU time is the
// work of an answer without queueing; the shared machine's load moves it
// less than it moves wall times. The pictures come from the server's cache
// after their first request, as in a running study.
func BenchmarkAnswerCost(b *testing.B) {
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	trials := 120
	st := pgtest.NewStudy(b, store, "bench", trials)
	pgtest.SetPlaces(b, pool, st.ID, 100000)
	h := server.New(server.Config{Store: store}).Handler()
	as := make([]*answerer, costStarted)
	joined := 0
	join := func(i int) {
		joined++
		as[i] = newAnswerer(b, h, joined)
		if w := as[i].serve("GET", "/s/bench/image/1", nil); w.Code != 200 {
			b.Fatalf("picture 1: %d", w.Code)
		}
	}
	for i := range as {
		join(i)
	}
	pg0, self0 := backendCPU(b, pool), selfCPU()
	n := 0
	for b.Loop() {
		i := n % len(as)
		n++
		a := as[i]
		if a.next > trials {
			b.StopTimer()
			pgStop, selfStop := backendCPU(b, pool), selfCPU()
			join(i)
			a = as[i]
			pg0 += backendCPU(b, pool) - pgStop
			self0 += selfCPU() - selfStop
			b.StartTimer()
		}
		if w := a.serve("GET", "/s/bench/trial", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `name="position" value="`+strconv.Itoa(a.next)+`"`) {
			b.Fatalf("trial page %d: %d", a.next, w.Code)
		}
		if a.next < trials {
			if w := a.serve("GET", "/s/bench/image/"+strconv.Itoa(a.next+1), nil); w.Code != 200 {
				b.Fatalf("picture %d: %d", a.next+1, w.Code)
			}
		}
		if w := a.serve("POST", "/s/bench/trial", url.Values{"position": {strconv.Itoa(a.next)}, "answer": {task.Yes}, "rt": {"900"}}); w.Code != 303 {
			b.Fatalf("answer %d: %d %s", a.next, w.Code, w.Body)
		}
		a.next++
	}
	b.StopTimer()
	pg, self := backendCPU(b, pool)-pg0, selfCPU()-self0
	b.ReportMetric(float64(pg.Microseconds())/float64(n), "pg-cpu-µs/answer")
	b.ReportMetric(float64(self.Microseconds())/float64(n), "go-cpu-µs/answer")
}

// backendCPU is the CPU time used so far by the PostgreSQL backends of
// pool's connections, from /proc.
func backendCPU(b *testing.B, pool *pgxpool.Pool) time.Duration {
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Skipf("PostgreSQL backends not readable here (%v): the benchmark needs the database on this machine", err)
		}
		// Fields after the command name, which ends with ')': utime is
		// the 14th field of the line, stime the 15th.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+stt) * time.Second / 100 // USER_HZ
	}
	return total
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
