package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	d := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	for _, c := range []struct {
		q    float64
		want int
	}{{0.5, 5}, {0.95, 10}, {0.99, 10}, {0.1, 1}, {0.11, 2}, {1, 10}, {0, 1}} {
		if got := Percentile(d, c.q); got != time.Duration(c.want)*time.Millisecond {
			t.Errorf("Percentile(1..10, %v) = %v, want %dms", c.q, got, c.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %v", got)
	}
}

// TestSummarizeSteady: the sustained rate counts only the answers given
// while every participant was answering.
func TestSummarizeSteady(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	acks := func(times ...float64) []Ack {
		a := make([]Ack, len(times))
		for i, s := range times {
			a[i] = Ack{Position: i + 1, Answer: "Yes", At: at(s)}
		}
		return a
	}
	r := &Result{
		Start: t0, End: at(10),
		Participants: []Participant{
			{PID: "a", Acks: acks(1, 2, 3, 4, 5, 6), Completed: true},     // answering 1-6
			{PID: "b", Acks: acks(3, 3.5, 4, 4.5, 5, 9), Completed: true}, // answering 3-9
		},
		Routes:   map[string][]time.Duration{"POST answer": {time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}},
		Failures: map[string]int{"GET entry": 1},
	}
	s := r.Summarize()
	if s.Answers != 12 || s.Completed != 2 || s.AnswersPerSecond != 1.2 {
		t.Errorf("answers %d, completed %d, rate %v; want 12, 2, 1.2", s.Answers, s.Completed, s.AnswersPerSecond)
	}
	// Window 3 s to 6 s: a answers at 3, 4, 5, 6 and b at 3, 3.5, 4, 4.5, 5: 9 in 3 s.
	if s.SteadyWindow != 3*time.Second || s.Steady != 3 {
		t.Errorf("steady %v over %v, want 3/s over 3s", s.Steady, s.SteadyWindow)
	}
	if len(s.Routes) != 2 || s.Routes[0].Route != "GET entry" || s.Routes[0].Failed != 1 ||
		s.Routes[1].P50 != 2*time.Millisecond || s.Routes[1].Max != 3*time.Millisecond {
		t.Errorf("routes %+v", s.Routes)
	}
}

// TestRunRate: with a rate, participant i opens the link no earlier than
// i/rate seconds after the start (a server that knows no study ends each
// one at its first page).
func TestRunRate(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	const rate = 50.0
	res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, Slug: "none", Participants: 6, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Participants {
		earliest := res.Start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if p.Started.Before(earliest) {
			t.Errorf("participant %d opened the link %v after the start, before %v", i, p.Started.Sub(res.Start), earliest.Sub(res.Start))
		}
		if p.Err == nil {
			t.Errorf("participant %d did not stop at the missing study", i)
		}
	}
}
