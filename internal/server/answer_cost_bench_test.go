package server_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/procstat"
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
	pg0, self0 := pgtest.BackendCPU(b, pool), procstat.Self()
	n := 0
	for b.Loop() {
		i := n % len(as)
		n++
		a := as[i]
		if a.next > trials {
			b.StopTimer()
			pgStop, selfStop := pgtest.BackendCPU(b, pool), procstat.Self()
			join(i)
			a = as[i]
			pg0 += pgtest.BackendCPU(b, pool) - pgStop
			self0 += procstat.Self() - selfStop
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
	pg, self := pgtest.BackendCPU(b, pool)-pg0, procstat.Self()-self0
	b.ReportMetric(float64(pg.Microseconds())/float64(n), "pg-cpu-µs/answer")
	b.ReportMetric(float64(self.Microseconds())/float64(n), "go-cpu-µs/answer")
}
