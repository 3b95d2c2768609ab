// Package loadgen plays participants through a cubelab study over HTTP the
// way a browser without JavaScript would: the study link, consent,
// instructions, the optional form, every trial with its pictures, and the end
// page, each participant with its own cookie jar. It records the latency of
// every request by route and every answer the server acknowledged, so that
// the same runs serve as a benchmark (cmd/loadgen) and as the fault tests'
// witness of what must be in the database.
package loadgen

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is one load run.
type Config struct {
	// Targets are the servers' base URLs (http://127.0.0.1:8080). With more
	// than one, every request goes to a target chosen at random, as behind a
	// load balancer without sticky sessions.
	Targets      []string
	Slug         string
	Participants int // how many participants take part in all
	Concurrency  int // how many at once; 0 means all
	// Rate is how many participants open the link per second, evenly
	// spaced, as people arriving from Prolific's list; 0 starts them all at
	// once (within Concurrency).
	Rate   float64
	Think  time.Duration // mean time between seeing a trial and answering it
	Images bool          // fetch the pictures as a browser does
	// Retry is how long a participant keeps retrying a request that failed
	// with a network error or a 5xx; 0 ends the participant at the first one.
	Retry   time.Duration
	Timeout time.Duration // per request; 0 means 60 s, about as patient as a person
	// PID gives participant i's Prolific id; nil draws a fresh random one.
	PID func(i int) string
	// Answer chooses the answer to a trial; nil answers Yes or No at random.
	Answer func(pid string, position int) string
}

// Ack is an answer the server acknowledged (its 303 after the POST).
type Ack struct {
	Position int
	Answer   string
	At       time.Time
}

// Participant is what one participant did.
type Participant struct {
	PID        string
	Started    time.Time // when the participant opened the link
	Acks       []Ack
	Completed  bool   // reached the end page
	Completion string // the end page's completion link
	Retries    int    // requests repeated after a failure
	Conflicts  int    // 409 pages whose link the participant followed
	Err        error  // why the participant stopped early, if they did
}

// Result is a whole run.
type Result struct {
	Participants []Participant
	Routes       map[string][]time.Duration // latency of every successful request by route
	Failures     map[string]int             // failed requests (network error or 5xx) by route
	Start, End   time.Time
}

// Run plays cfg.Participants participants, at most cfg.Concurrency at once,
// until all have finished or ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Targets) == 0 || cfg.Slug == "" || cfg.Participants < 1 {
		return nil, errors.New("loadgen: need a target, a study slug and at least one participant")
	}
	if cfg.Concurrency <= 0 || cfg.Concurrency > cfg.Participants {
		cfg.Concurrency = cfg.Participants
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	for i, t := range cfg.Targets {
		cfg.Targets[i] = strings.TrimRight(t, "/")
	}
	transport := &http.Transport{
		MaxIdleConns:        2 * cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()

	res := &Result{Participants: make([]Participant, cfg.Participants), Start: time.Now()}
	stats := make([]routeStats, cfg.Participants)
	next := make(chan int)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := newPlayer(cfg, transport, i, &stats[i])
				p.run(ctx)
				res.Participants[i] = p.out
			}
		}()
	}
feed:
	for i := range cfg.Participants {
		if cfg.Rate > 0 {
			// Participant i arrives i/Rate seconds after the start.
			at := res.Start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(at)):
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	res.End = time.Now()

	res.Routes = map[string][]time.Duration{}
	res.Failures = map[string]int{}
	for _, s := range stats {
		for route, d := range s.ok {
			res.Routes[route] = append(res.Routes[route], d...)
		}
		for route, n := range s.failed {
			res.Failures[route] += n
		}
	}
	return res, nil
}

// routeStats is one participant's latencies, merged after the run so that
// recording needs no lock.
type routeStats struct {
	ok     map[string][]time.Duration
	failed map[string]int
}

// player is one participant's browser.
type player struct {
	cfg    Config
	client *http.Client
	rng    *rand.Rand
	stats  *routeStats
	out    Participant
	seen   map[string]bool // pictures already in the browser's cache
}

func newPlayer(cfg Config, transport http.RoundTripper, i int, stats *routeStats) *player {
	jar, _ := cookiejar.New(nil) // cookiejar.New never fails without options
	pid := ""
	if cfg.PID != nil {
		pid = cfg.PID(i)
	} else {
		b := make([]byte, 12)
		_, _ = crand.Read(b) // crypto/rand.Read never fails on Linux
		pid = hex.EncodeToString(b)
	}
	*stats = routeStats{ok: map[string][]time.Duration{}, failed: map[string]int{}}
	return &player{
		cfg: cfg,
		client: &http.Client{
			Transport: transport,
			Jar:       jar,
			Timeout:   cfg.Timeout,
			// The player follows redirects itself, so that each request is
			// timed under its own route.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		rng:   rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))),
		stats: stats,
		out:   Participant{PID: pid},
		seen:  map[string]bool{},
	}
}

// reply is what the player keeps of a response.
type reply struct {
	status   int
	location string
	body     string
}

var (
	positionField = regexp.MustCompile(`name="position" value="(\d+)"`)
	imageSrc      = regexp.MustCompile(`id="stimulus"[^>]* src="([^"]+)"`)
	nextImage     = regexp.MustCompile(`data-next="([^"]+)"`)
	completeLink  = regexp.MustCompile(`id="complete"[^>]* href="([^"]+)"`)
	errorLink     = regexp.MustCompile(`<a class="button primary" href="(/[^"]+)"`)
)

// maxConflicts is how many conflict pages a participant follows before the
// player calls it a failure rather than a hiccup.
const maxConflicts = 5

// run walks the study from its link to the end page, following the server's
// redirects as a browser does, so that a participant who lost their place
// (a restart, a retried request) is put back on it by the server itself.
func (p *player) run(ctx context.Context) {
	p.out.Started = time.Now()
	q := url.Values{"PROLIFIC_PID": {p.out.PID}, "STUDY_ID": {strings.Repeat("0", 24)}, "SESSION_ID": {"load" + p.out.PID[:8]}}
	base := "/s/" + p.cfg.Slug
	r, err := p.do(ctx, "GET entry", "GET", base+"?"+q.Encode(), nil)
	for steps := 0; err == nil; steps++ {
		if steps > 20*1000 {
			err = errors.New("loadgen: the study does not end")
			break
		}
		if r.status == http.StatusSeeOther || r.status == http.StatusFound {
			page := strings.TrimPrefix(r.location, base+"/")
			r, err = p.do(ctx, "GET "+page, "GET", r.location, nil)
			continue
		}
		if m := errorLink.FindStringSubmatch(r.body); r.status == http.StatusConflict && m != nil && p.out.Conflicts < maxConflicts {
			// "This cannot be done now" with a way forward: a person
			// follows the link, and so does the player.
			p.out.Conflicts++
			r, err = p.do(ctx, "GET "+strings.TrimPrefix(m[1], base+"/"), "GET", m[1], nil)
			continue
		}
		if r.status != http.StatusOK {
			err = fmt.Errorf("loadgen: unexpected status %d: %.200s", r.status, r.body)
			break
		}
		switch {
		case strings.Contains(r.body, `name="consent"`):
			r, err = p.do(ctx, "POST consent", "POST", base+"/consent", url.Values{"consent": {"yes"}})
		case strings.Contains(r.body, `action="`+base+`/about-you"`):
			r, err = p.do(ctx, "POST about-you", "POST", base+"/about-you", url.Values{"age": {strconv.Itoa(18 + p.rng.IntN(60))}})
		case strings.Contains(r.body, `href="`+base+`/about-you"`): // the instructions
			if err = p.image(ctx, "GET example", base+"/example"); err == nil {
				r, err = p.do(ctx, "GET about-you", "GET", base+"/about-you", nil)
			}
		case positionField.MatchString(r.body):
			r, err = p.answer(ctx, base, r.body)
		case completeLink.MatchString(r.body):
			p.out.Completed = true
			p.out.Completion = completeLink.FindStringSubmatch(r.body)[1]
			return
		default:
			err = fmt.Errorf("loadgen: a page the player does not know: %.300s", r.body)
		}
	}
	p.out.Err = err
}

// answer shows a trial's pictures, thinks, and sends an answer.
func (p *player) answer(ctx context.Context, base, page string) (reply, error) {
	pos, _ := strconv.Atoi(positionField.FindStringSubmatch(page)[1])
	if m := imageSrc.FindStringSubmatch(page); m != nil {
		if err := p.image(ctx, "GET image", m[1]); err != nil {
			return reply{}, err
		}
	}
	if m := nextImage.FindStringSubmatch(page); m != nil {
		if err := p.image(ctx, "GET image", m[1]); err != nil {
			return reply{}, err
		}
	}
	think := time.Duration(0)
	if p.cfg.Think > 0 {
		think = p.cfg.Think/2 + time.Duration(p.rng.Int64N(int64(p.cfg.Think)))
		select {
		case <-time.After(think):
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
	var answer string
	if p.cfg.Answer != nil {
		answer = p.cfg.Answer(p.out.PID, pos)
	} else {
		answer = []string{"Yes", "No"}[p.rng.IntN(2)]
	}
	form := url.Values{"position": {strconv.Itoa(pos)}, "answer": {answer}, "rt": {strconv.Itoa(int(think.Milliseconds()))}}
	r, err := p.do(ctx, "POST answer", "POST", base+"/trial", form)
	if err == nil && r.status == http.StatusSeeOther {
		p.out.Acks = append(p.out.Acks, Ack{Position: pos, Answer: answer, At: time.Now()})
	}
	return r, err
}

// image fetches a picture once, as a browser's cache would.
func (p *player) image(ctx context.Context, route, path string) error {
	if !p.cfg.Images || p.seen[path] {
		return nil
	}
	r, err := p.do(ctx, route, "GET", path, nil)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("loadgen: %s %s: status %d", route, path, r.status)
	}
	p.seen[path] = true
	return nil
}

// do sends one request, retrying network errors and 5xx answers for up to
// cfg.Retry, and records its latency under route.
func (p *player) do(ctx context.Context, route, method, path string, form url.Values) (reply, error) {
	var firstFailure time.Time
	for {
		target := p.cfg.Targets[0]
		if len(p.cfg.Targets) > 1 {
			target = p.cfg.Targets[p.rng.IntN(len(p.cfg.Targets))]
		}
		start := time.Now()
		r, err := p.once(ctx, method, target+path, form)
		if err == nil && r.status < 500 {
			p.stats.ok[route] = append(p.stats.ok[route], time.Since(start))
			return r, nil
		}
		p.stats.failed[route]++
		if err == nil {
			err = fmt.Errorf("loadgen: %s %s: status %d: %.200s", method, path, r.status, r.body)
		}
		if firstFailure.IsZero() {
			firstFailure = start
		}
		if ctx.Err() != nil || time.Since(firstFailure) >= p.cfg.Retry {
			return r, err
		}
		p.out.Retries++
		select {
		case <-time.After(time.Duration(50+p.rng.IntN(150)) * time.Millisecond):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
}

func (p *player) once(ctx context.Context, method, u string, form url.Values) (reply, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return reply{}, fmt.Errorf("loadgen: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("loadgen: %w", err)
	}
	defer resp.Body.Close()
	var b []byte
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/") {
		b, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return reply{}, fmt.Errorf("loadgen: read %s: %w", u, err)
	}
	return reply{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}, nil
}

// Summary is a run's figures.
type Summary struct {
	Participants, Completed, Failed int
	Answers                         int
	Elapsed                         time.Duration
	AnswersPerSecond                float64 // over the whole run
	// Steady is answers per second while every participant was answering:
	// from the first answer of the last participant to start answering to
	// the last answer of the first to finish. Zero when there was no such
	// window of at least a second (participants did not overlap).
	Steady       float64
	SteadyWindow time.Duration
	Routes       []RouteSummary
}

// RouteSummary is one route's latency percentiles.
type RouteSummary struct {
	Route              string
	N, Failed          int
	P50, P95, P99, Max time.Duration
}

// Summarize computes a run's figures.
func (r *Result) Summarize() Summary {
	s := Summary{Participants: len(r.Participants), Elapsed: r.End.Sub(r.Start)}
	var lastStart, firstEnd time.Time
	for _, p := range r.Participants {
		if p.Completed {
			s.Completed++
		}
		if p.Err != nil {
			s.Failed++
		}
		s.Answers += len(p.Acks)
		if len(p.Acks) == 0 {
			continue
		}
		if a := p.Acks[0].At; a.After(lastStart) {
			lastStart = a
		}
		if z := p.Acks[len(p.Acks)-1].At; firstEnd.IsZero() || z.Before(firstEnd) {
			firstEnd = z
		}
	}
	if s.Elapsed > 0 {
		s.AnswersPerSecond = float64(s.Answers) / s.Elapsed.Seconds()
	}
	if w := firstEnd.Sub(lastStart); w >= time.Second {
		n := 0
		for _, p := range r.Participants {
			for _, a := range p.Acks {
				if !a.At.Before(lastStart) && !a.At.After(firstEnd) {
					n++
				}
			}
		}
		s.Steady, s.SteadyWindow = float64(n)/w.Seconds(), w
	}
	for route, d := range r.Routes {
		s.Routes = append(s.Routes, summarizeRoute(route, d, r.Failures[route]))
	}
	for route, n := range r.Failures {
		if _, ok := r.Routes[route]; !ok {
			s.Routes = append(s.Routes, RouteSummary{Route: route, Failed: n})
		}
	}
	slices.SortFunc(s.Routes, func(a, b RouteSummary) int { return strings.Compare(a.Route, b.Route) })
	return s
}

func summarizeRoute(route string, d []time.Duration, failed int) RouteSummary {
	slices.Sort(d)
	return RouteSummary{Route: route, N: len(d), Failed: failed,
		P50: Percentile(d, 0.50), P95: Percentile(d, 0.95), P99: Percentile(d, 0.99), Max: d[len(d)-1]}
}

// Percentile returns the q-quantile of sorted by the nearest-rank method:
// the smallest value with at least q of the values at or below it.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Print writes the summary as a table.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "participants %d, completed %d, failed %d, answers %d in %.1f s\n",
		s.Participants, s.Completed, s.Failed, s.Answers, s.Elapsed.Seconds())
	fmt.Fprintf(w, "answers/s %.0f over the run", s.AnswersPerSecond)
	if s.Steady > 0 {
		fmt.Fprintf(w, ", %.0f sustained (%.1f s with every participant answering)", s.Steady, s.SteadyWindow.Seconds())
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-20s %8s %6s %9s %9s %9s %9s\n", "route", "n", "failed", "p50", "p95", "p99", "max")
	for _, r := range s.Routes {
		fmt.Fprintf(w, "%-20s %8d %6d %9s %9s %9s %9s\n", r.Route, r.N, r.Failed, ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max))
	}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }
