package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/task"
)

// benchTrials is the length of each benchmark participant's list.
const benchTrials = 200

// answerer is one participant driven straight through the handler.
type answerer struct {
	h      http.Handler
	cookie *http.Cookie
	next   int
}

func (a *answerer) serve(method, path string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if a.cookie != nil {
		req.AddCookie(a.cookie)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return w
}

// newAnswerer joins participant i and walks them to their first trial.
func newAnswerer(b *testing.B, h http.Handler, i int) *answerer {
	a := &answerer{h: h, next: 1}
	w := a.serve("GET", "/s/bench?PROLIFIC_PID="+pid(i), nil)
	cookies := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cookies) != 1 {
		b.Fatalf("join %d: %d %s", i, w.Code, w.Body)
	}
	a.cookie = cookies[0]
	a.serve("POST", "/s/bench/consent", url.Values{"consent": {"yes"}})
	a.serve("POST", "/s/bench/about-you", url.Values{"skip": {"yes"}})
	return a
}

// answer shows the next trial (not timed) and records an answer (timed).
func (a *answerer) answer(b *testing.B) time.Duration {
	if w := a.serve("GET", "/s/bench/trial", nil); w.Code != 200 {
		b.Fatalf("trial page: %d", w.Code)
	}
	start := time.Now()
	w := a.serve("POST", "/s/bench/trial", url.Values{"position": {strconv.Itoa(a.next)}, "answer": {task.Yes}, "rt": {"900"}})
	took := time.Since(start)
	if w.Code != http.StatusSeeOther {
		b.Fatalf("answer %d: %d %s", a.next, w.Code, w.Body)
	}
	a.next++
	return took
}

// reportLatency adds the median and p99 of the samples to the benchmark.
func reportLatency(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	q := func(p float64) float64 {
		return float64(samples[min(len(samples)-1, int(p*float64(len(samples))))].Microseconds())
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

func benchServer(b *testing.B) http.Handler {
	_, pool := pgtest.New(b)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(b, store, "bench", benchTrials)
	pgtest.SetPlaces(b, pool, st.ID, 100000)
	return server.New(server.Config{Store: store}).Handler()
}

// BenchmarkAnswer is the server time of recording one answer: the POST of the
// trial form through the whole handler (session lookup, validation, the
// answer statement, the redirect) against the local PostgreSQL. Showing the
// trial before each answer is not timed.
func BenchmarkAnswer(b *testing.B) {
	h := benchServer(b)
	var samples []time.Duration
	var a *answerer
	joined := 0
	b.ResetTimer()
	for b.Loop() {
		if a == nil || a.next > benchTrials {
			b.StopTimer()
			joined++
			a = newAnswerer(b, h, joined)
			b.StartTimer()
		}
		samples = append(samples, a.answer(b))
	}
	reportLatency(b, samples)
}

// BenchmarkAnswerParallel records answers from 16 concurrent participants
// and reports the latency of each answer under that load.
func BenchmarkAnswerParallel(b *testing.B) {
	h := benchServer(b)
	var mu sync.Mutex
	var samples []time.Duration
	var ids sync.Mutex
	joined := 0
	nextID := func() int { ids.Lock(); defer ids.Unlock(); joined++; return joined }
	b.SetParallelism(8) // 8 x GOMAXPROCS(2) = 16 participants at once
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		a := newAnswerer(b, h, nextID())
		for pb.Next() {
			if a.next > benchTrials {
				a = newAnswerer(b, h, nextID())
			}
			local = append(local, a.answer(b))
		}
		mu.Lock()
		samples = append(samples, local...)
		mu.Unlock()
	})
	reportLatency(b, samples)
}
