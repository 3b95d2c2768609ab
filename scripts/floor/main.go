// Command floor measures the least an answer of the shape cubelab's has can
// cost on this machine, whatever the application (docs/BENCHMARKS.md, "The
// floor of these two cores"): a server process that does only what the shape
// demands, and N clients that answer for -time, each waiting -think before
// each answer (0: a closed loop). An answer is, as in
// scripts/load.sh, three requests over loopback HTTP/1.1 with keep-alive and a
// cookie:
//
//   - POST /answer: parses the form and commits one single-row INSERT, the
//     row pgbench inserts in scripts/load.sh (durable: it waits for the WAL
//     flush, as an acknowledged answer must), then 303 to /trial;
//   - GET /trial: one single-row UPDATE of a trial's shown_at with
//     synchronous_commit off (as cubelab's trial page stamps it), then a page
//     of -page bytes;
//   - GET /image: a PNG of cubelab's synthetic towers (synthset, about 2 KB,
//     as the load run's pictures) from memory, no statement.
//
// Nothing else: no session look-up, no checks, no template, no log. What the
// run costs is thus a lower bound for any server of this shape on these
// cores, against which cubelab's own cost per answer can be read.
//
// With -burst, the N clients instead open the study at the same instant, as
// at a Prolific launch, and each walks the pages before the first trial once,
// as loadgen's participants do, with the least each page needs:
//
//   - GET /entry: one transaction inserting the participant, their -trials
//     trial rows and their session, committed durably, then 303 to /consent;
//   - GET /consent, /instructions, /about-you: a page of -page bytes;
//     GET /example: the picture;
//   - POST /consent and POST /about-you: one single-row UPDATE each, durable;
//   - then the first trial page and its picture, as above.
//
// A burst prints each page's latency percentiles, as loadgen does; both
// modes print each side's CPU time.
//
//	FLOOR=1 scripts/load.sh       # on the load run's private cluster, then pgbench there: the ratio
//	FLOOR=burst scripts/load.sh   # N at once, TRIALS trial rows each
//	go run ./scripts/floor -database-url URL -n 100 -time 15s
//
// It creates the tables floor_answers, floor_trials, floor_participants and
// floor_sessions (dropped first): give it a database that is only for
// benchmarks.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/loadgen"
	"github.com/cubelab/cubelab/internal/postgres/synthset"
	"github.com/cubelab/cubelab/internal/procstat"
)

func main() {
	var c config
	flag.StringVar(&c.dsn, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	flag.IntVar(&c.n, "n", 100, "clients answering at once, each a participant with its own cookie")
	flag.DurationVar(&c.time, "time", 15*time.Second, "how long the clients answer")
	flag.DurationVar(&c.think, "think", 0, "mean think time before each answer, drawn from 0.5-1.5 x it as loadgen does; 0: a closed loop")
	flag.IntVar(&c.page, "page", 2500, "bytes of the trial page (cubelab's are 2,460-2,500 in the load run)")
	flag.IntVar(&c.pool, "pool", 8, "the server's connection pool, as cubelab's default")
	flag.BoolVar(&c.burst, "burst", false, "the clients open the study at once and walk the pages before the first trial")
	flag.IntVar(&c.trials, "trials", 20, "trial rows each participant gets at entry (-burst)")
	flag.StringVar(&c.serve, "serve", "", "run as the server on this address (the client starts it so)")
	flag.Parse()
	var err error
	if c.serve != "" {
		err = serve(c)
	} else {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

type config struct {
	dsn    string
	n      int
	time   time.Duration
	think  time.Duration
	page   int
	pool   int
	serve  string
	burst  bool
	trials int
}

// serve is the server process: the three routes and nothing else.
func serve(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := pgxpool.ParseConfig(c.dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(c.pool)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	page := bytes.Repeat([]byte("x"), c.page)
	picture := synthset.PNG(0)
	participant := func(r *http.Request) (uuid.UUID, error) {
		ck, err := r.Cookie("p")
		if err != nil {
			return uuid.Nil, err
		}
		return uuid.Parse(ck.Value)
	}
	pageRoute := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page) //nolint:errcheck // the client went away
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /answer", func(w http.ResponseWriter, r *http.Request) {
		id, err := participant(r)
		pos, perr := strconv.Atoi(r.PostFormValue("position"))
		if err != nil || perr != nil {
			http.Error(w, "bad answer", http.StatusBadRequest)
			return
		}
		if _, err := pool.Exec(r.Context(), `INSERT INTO floor_answers (participant_id, position, answer, correct, server_rt_ms)
			VALUES ($1, $2, $3, true, 1500)`, id, pos, r.PostFormValue("answer")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/trial?position="+strconv.Itoa(pos+1), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /trial", func(w http.ResponseWriter, r *http.Request) {
		id, err := participant(r)
		pos, perr := strconv.Atoi(r.URL.Query().Get("position"))
		if err != nil || perr != nil {
			http.Error(w, "bad trial", http.StatusBadRequest)
			return
		}
		if _, err := pool.Exec(r.Context(), `WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
			UPDATE floor_trials SET shown_at = now() FROM relaxed WHERE participant_id = $1 AND position = $2`,
			id, pos%120+1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		pageRoute(w, r)
	})
	mux.HandleFunc("GET /consent", pageRoute)
	mux.HandleFunc("GET /instructions", pageRoute)
	mux.HandleFunc("GET /about-you", pageRoute)
	mux.HandleFunc("GET /entry", func(w http.ResponseWriter, r *http.Request) {
		pid := r.URL.Query().Get("PROLIFIC_PID")
		id := uuid.New()
		err := pgx.BeginFunc(r.Context(), pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(r.Context(), `INSERT INTO floor_participants (id, prolific_pid) VALUES ($1, $2)`, id, pid); err != nil {
				return err
			}
			if _, err := tx.Exec(r.Context(), `INSERT INTO floor_trials (participant_id, position, stimulus_id)
				SELECT $1, pos, gen_random_uuid() FROM generate_series(1, $2::int) AS pos`, id, c.trials); err != nil {
				return err
			}
			_, err := tx.Exec(r.Context(), `INSERT INTO floor_sessions (token_hash, participant_id) VALUES ($1, $2)`,
				id[:], id)
			return err
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "p", Value: id.String(), Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/consent", http.StatusSeeOther)
	})
	update := func(sql, next string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := participant(r)
			if err != nil {
				http.Error(w, "no participant", http.StatusBadRequest)
				return
			}
			r.ParseForm() //nolint:errcheck // the floor reads no field
			if _, err := pool.Exec(r.Context(), sql, id); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
		}
	}
	mux.HandleFunc("POST /consent", update(`UPDATE floor_participants SET consented_at = now() WHERE id = $1`, "/instructions"))
	mux.HandleFunc("POST /about-you", update(`UPDATE floor_participants SET demographics_at = now() WHERE id = $1`, "/trial?position=0"))
	mux.HandleFunc("GET /image", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(picture)))
		w.Write(picture) //nolint:errcheck // the client went away
	})
	ln, err := net.Listen("tcp", c.serve)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// run makes the tables, starts the server process, answers for c.time with
// c.n clients, and prints the answers a second and each side's CPU seconds.
func run(c config) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, c.dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `
		DROP TABLE IF EXISTS floor_answers, floor_trials, floor_participants, floor_sessions;
		CREATE TABLE floor_participants (id uuid PRIMARY KEY, prolific_pid text NOT NULL UNIQUE,
			consented_at timestamptz, demographics_at timestamptz) WITH (fillfactor = 70);
		CREATE TABLE floor_sessions (token_hash bytea PRIMARY KEY, participant_id uuid NOT NULL);
		CREATE TABLE floor_answers (participant_id uuid NOT NULL, position integer NOT NULL,
			answer text NOT NULL, correct boolean NOT NULL, server_rt_ms integer NOT NULL,
			answered_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (participant_id, position));
		CREATE TABLE floor_trials (participant_id uuid NOT NULL, position integer NOT NULL,
			stimulus_id uuid, shown_at timestamptz, PRIMARY KEY (participant_id, position)) WITH (fillfactor = 70)`); err != nil {
		return err
	}
	ids := make([]uuid.UUID, c.n)
	for i := range ids {
		ids[i] = uuid.New()
	}
	if !c.burst {
		if _, err := pool.Exec(ctx, `INSERT INTO floor_trials (participant_id, position)
			SELECT id, pos FROM unnest($1::uuid[]) AS id, generate_series(1, 120) AS pos`, ids); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(self, "-serve", addr, "-database-url", c.dsn, "-page", strconv.Itoa(c.page),
		"-pool", strconv.Itoa(c.pool), "-trials", strconv.Itoa(c.trials))
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
		srv.Wait()                          //nolint:errcheck // its exit status is not the measure
	}()
	base := "http://" + addr
	if err := waitHealthy(base); err != nil {
		return err
	}

	transport := &http.Transport{MaxIdleConns: 2 * c.n, MaxIdleConnsPerHost: c.n}
	if c.burst {
		return runBurst(c, base, transport, srv.Process.Pid)
	}
	var answers, failures atomic.Int64
	deadline := time.Now().Add(c.time)
	srv0, self0 := cpuSeconds(srv.Process.Pid), cpuSeconds(os.Getpid())
	start := time.Now()
	var wg sync.WaitGroup
	for i := range c.n {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			u, _ := url.Parse(base)
			jar.SetCookies(u, []*http.Cookie{{Name: "p", Value: ids[i].String()}})
			client := &http.Client{Transport: transport, Jar: jar}
			for pos := 1; time.Now().Before(deadline); pos++ {
				if c.think > 0 {
					time.Sleep(time.Duration((0.5 + rand.Float64()) * float64(c.think)))
				}
				if err := answer(client, base, pos); err != nil {
					failures.Add(1)
					fmt.Fprintln(os.Stderr, "floor:", err)
					return
				}
				answers.Add(1)
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	srv1, self1 := cpuSeconds(srv.Process.Pid), cpuSeconds(os.Getpid())
	n := answers.Load()
	fmt.Printf("answers %d in %.1f s by %d clients, %d failed\n", n, took.Seconds(), c.n, failures.Load())
	fmt.Printf("answers/s %.0f sustained\n", float64(n)/took.Seconds())
	fmt.Printf("CPU seconds: server %.2f, clients %.2f (the clients' includes the set-up)\n", srv1-srv0, self1-self0)
	fmt.Printf("CPU ms per answer: server %.3f, clients %.3f\n", (srv1-srv0)*1000/float64(n), (self1-self0)*1000/float64(n))
	if failures.Load() > 0 {
		return fmt.Errorf("%d clients failed", failures.Load())
	}
	return nil
}

// runBurst lets c.n participants open the study at once and walk to their
// first trial, and prints each page's latencies and each side's CPU.
func runBurst(c config, base string, transport *http.Transport, serverPid int) error {
	var mu sync.Mutex
	took := map[string][]time.Duration{}
	var failures atomic.Int64
	// Every client is made first and waits for go: the N open the study at
	// the same instant.
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range c.n {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Transport: transport, Jar: jar,
				// Each page is timed on its own, as loadgen times them.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			<-ready
			steps := []struct{ route, method, path string }{
				{"GET entry", "GET", fmt.Sprintf("/entry?PROLIFIC_PID=%024x", i)},
				{"GET consent", "GET", "/consent"}, {"POST consent", "POST", "/consent"},
				{"GET instructions", "GET", "/instructions"}, {"GET example", "GET", "/image"},
				{"GET about-you", "GET", "/about-you"}, {"POST about-you", "POST", "/about-you"},
				{"GET trial", "GET", "/trial?position=0"}, {"GET image", "GET", "/image"},
			}
			for _, st := range steps {
				t0 := time.Now()
				var resp *http.Response
				var err error
				if st.method == "POST" {
					resp, err = client.Post(base+st.path, "application/x-www-form-urlencoded", strings.NewReader("consent=yes"))
				} else {
					resp, err = client.Get(base + st.path)
				}
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode >= 400 {
						err = fmt.Errorf("%s: %s", st.route, resp.Status)
					}
				}
				if err != nil {
					failures.Add(1)
					fmt.Fprintln(os.Stderr, "floor:", err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				took[st.route] = append(took[st.route], d)
				mu.Unlock()
			}
		})
	}
	srv0, self0 := cpuSeconds(serverPid), cpuSeconds(os.Getpid())
	start := time.Now()
	close(ready)
	wg.Wait()
	all := time.Since(start)
	srv1, self1 := cpuSeconds(serverPid), cpuSeconds(os.Getpid())
	fmt.Printf("participants %d at once, every one at their first trial in %.2f s, %d failed\n", c.n, all.Seconds(), failures.Load())
	routes := make([]string, 0, len(took))
	for r := range took {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	fmt.Printf("%-18s %6s %10s %10s %10s\n", "route", "n", "p50", "p99", "max")
	for _, r := range routes {
		d := took[r]
		slices.Sort(d)
		fmt.Printf("%-18s %6d %10s %10s %10s\n", r, len(d), loadgen.Percentile(d, 0.5).Round(time.Millisecond),
			loadgen.Percentile(d, 0.99).Round(time.Millisecond), d[len(d)-1].Round(time.Millisecond))
	}
	fmt.Printf("CPU seconds: server %.2f, clients %.2f\n", srv1-srv0, self1-self0)
	fmt.Printf("CPU ms per participant: server %.3f, clients %.3f\n", (srv1-srv0)*1000/float64(c.n), (self1-self0)*1000/float64(c.n))
	if failures.Load() > 0 {
		return fmt.Errorf("%d participants failed", failures.Load())
	}
	return nil
}

// answer is one answer's three requests: the POST, the trial page its 303
// leads to, and that page's picture.
func answer(client *http.Client, base string, pos int) error {
	form := url.Values{"position": {strconv.Itoa(pos)}, "answer": {"Yes"}}
	resp, err := client.Post(base+"/answer", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	if err := drain(resp); err != nil {
		return fmt.Errorf("answer %d: %w", pos, err)
	}
	resp, err = client.Get(base + "/image")
	if err != nil {
		return err
	}
	return drain(resp)
}

func drain(resp *http.Response) error {
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Request.URL.Path, resp.Status)
	}
	return nil
}

func waitHealthy(base string) error {
	for range 100 {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the server did not start")
}

// cpuSeconds is process pid's CPU time so far, in seconds; 0 if it cannot
// be read (the figures then show it).
func cpuSeconds(pid int) float64 {
	d, _ := procstat.CPU(pid)
	return d.Seconds()
}
