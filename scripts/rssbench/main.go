// Command rssbench measures the server under the load of issue 11's finding 3
// (docs/BENCHMARKS.md, "Memory under hostile input"): a real server process
// whose peak resident memory is read from /proc while four clients fetch the
// largest picture the import accepts (20 MB, 4096 px) and a report over 1,000
// model runs is computed; then the report alone, computed afresh.
//
//	go run ./scripts/rssbench                       # database wt_issue11, port 18011
//	go run ./scripts/rssbench -runs 6332 -db ...    # any size
//
// It drops and recreates the database it is given: never point it at one
// that matters.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/synthset"
	"github.com/cubelab/cubelab/internal/procstat"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rssbench:", err)
		os.Exit(1)
	}
}

func run() error {
	host := flag.String("pg", "postgres://postgres@127.0.0.1:5432", "PostgreSQL server URL (no database)")
	dbName := flag.String("db", "wt_issue11", "database to drop, create and fill")
	port := flag.Int("port", 18011, "port for the server")
	runs := flag.Int("runs", 1000, "model runs on the set (each its own model)")
	people := flag.Int("people", 100, "completed participants")
	items := flag.Int("items", 120, "towers in the set")
	clients := flag.Int("clients", 4, "clients fetching the largest picture")
	fetches := flag.Int("fetches", 5, "times each client fetches it")
	binary := flag.String("server", "", "server binary (default: go build ./cmd/server)")
	flag.Parse()
	ctx := context.Background()

	work, err := os.MkdirTemp("", "rssbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if *binary == "" {
		*binary = filepath.Join(work, "server")
		if out, err := exec.Command("go", "build", "-o", *binary, "./cmd/server").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
	}
	admin, err := pgx.Connect(ctx, *host+"/postgres?sslmode=disable")
	if err != nil {
		return err
	}
	for _, q := range []string{`DROP DATABASE IF EXISTS ` + pgx.Identifier{*dbName}.Sanitize() + ` WITH (FORCE)`,
		`CREATE DATABASE ` + pgx.Identifier{*dbName}.Sanitize()} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return err
		}
	}
	admin.Close(ctx)
	dsn := *host + "/" + *dbName + "?sslmode=disable"
	if out, err := exec.Command(*binary, "migrate", "--database-url", dsn).CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}

	t0 := time.Now()
	big, err := largestPicture(stimulus.DefaultImageLimits)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	store := postgres.NewStore(pool)
	slug, cookie, err := fill(ctx, store, pool, big, *items, *people, *runs)
	pool.Close()
	if err != nil {
		return err
	}
	fmt.Printf("data: %d towers (t01 a %d-byte %dx%d PNG), %d people, %d model runs; filled in %.1f s\n",
		*items, len(big), stimulus.DefaultImageLimits.MaxSide, stimulus.DefaultImageLimits.MaxSide, *people, *runs, time.Since(t0).Seconds())

	addr := "127.0.0.1:" + strconv.Itoa(*port)
	srv := exec.Command(*binary, "serve", "--addr", addr, "--database-url", dsn, "--entry-limit", "0")
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			return fmt.Errorf("the server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := srv.Process.Pid
	idle, _ := procKB(pid, "VmRSS")
	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if kb, err := procKB(pid, "VmRSS"); err == nil && kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})

	report := base + "/admin/sets/bench-set/report"
	getReport := func(query string) (time.Duration, int, error) {
		req, _ := http.NewRequest("GET", report+query, nil)
		req.AddCookie(cookie)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("report%s: %d", query, resp.StatusCode)
		}
		return time.Since(start), int(n), nil
	}

	// Four clients fetch the largest picture while the report is computed.
	var wg sync.WaitGroup
	var fetched, fetchedBytes atomic.Int64
	errs := make(chan error, *clients+1)
	for range *clients {
		wg.Go(func() {
			for range *fetches {
				resp, err := http.Get(base + "/s/" + slug + "/example")
				if err != nil {
					errs <- err
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n != int64(len(big)) {
					errs <- fmt.Errorf("picture: %d, %d bytes of %d", resp.StatusCode, n, len(big))
					return
				}
				fetched.Add(1)
				fetchedBytes.Add(n)
			}
		})
	}
	var under time.Duration
	var pageBytes int
	var reportErr error // reported with the memory figures, not instead of them
	wg.Go(func() {
		start := time.Now()
		if under, pageBytes, reportErr = getReport(""); reportErr != nil {
			under = time.Since(start)
		}
	})
	start := time.Now()
	wg.Wait()
	both := time.Since(start)
	close(errs)
	for err := range errs {
		return err
	}
	loaded := peak.Load()
	if reportErr != nil {
		hwm, _ := procKB(pid, "VmHWM")
		fmt.Printf("the report page failed after %.1f s: %v\npeak RSS: %.0f MB (sampled); VmHWM %.0f MB\n",
			under.Seconds(), reportErr, float64(loaded)/1024, float64(hwm)/1024)
		return reportErr
	}

	// The report alone, computed afresh: another exclusion rule is another
	// report (the first, kept in the cache, would cost nothing).
	var alone, cpu []time.Duration
	for _, rule := range []string{"none", "checks>=1", "run>=100"} {
		c0, err := procstat.CPU(pid)
		if err != nil {
			return err
		}
		d, _, err := getReport("?" + url.Values{"exclude": {rule}}.Encode())
		if err != nil {
			return err
		}
		c1, err := procstat.CPU(pid)
		if err != nil {
			return err
		}
		alone, cpu = append(alone, d), append(cpu, c1-c0)
	}
	cached, _, err := getReport("")
	if err != nil {
		return err
	}
	close(stop)
	sampler.Wait()
	hwm, _ := procKB(pid, "VmHWM")
	slices.Sort(alone)
	slices.Sort(cpu)
	fmt.Printf("server idle RSS %.0f MB\n", float64(idle)/1024)
	fmt.Printf("%d clients x %d fetches of the %.1f MB picture (%d fetched, %.0f MB) and the report page at once: %.2f s; report page %.2f s (%d KB)\n",
		*clients, *fetches, float64(len(big))/(1<<20), fetched.Load(), float64(fetchedBytes.Load())/(1<<20), both.Seconds(), under.Seconds(), pageBytes/1024)
	fmt.Printf("peak RSS during that: %.0f MB (sampled every 2 ms); VmHWM over the whole run: %.0f MB\n", float64(loaded)/1024, float64(hwm)/1024)
	fmt.Printf("report over %d model runs alone, computed afresh: wall %v, server CPU (user+sys) %v (each min, median, max of 3); from the cache: %v\n",
		*runs, alone, cpu, cached.Round(time.Millisecond))
	return nil
}

// largestPicture is a PNG of the largest side the limits allow whose file is
// just under their byte limit: noisy rows (incompressible) over a flat rest.
func largestPicture(lim stimulus.ImageLimits) ([]byte, error) {
	side := lim.MaxSide
	target := lim.MaxBytes - 64<<10
	rng := rand.New(rand.NewPCG(11, 11))
	encode := func(noisy int) ([]byte, error) {
		img := image.NewNRGBA(image.Rect(0, 0, side, side))
		for i := range img.Pix {
			img.Pix[i] = 128
			if i%4 == 3 {
				img.Pix[i] = 255
			} else if i/img.Stride < noisy {
				img.Pix[i] = byte(rng.Uint32())
			}
		}
		var buf bytes.Buffer
		err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		return buf.Bytes(), err
	}
	// About 3 bytes a noisy pixel: start there and step down until it fits.
	noisy := int(target / int64(3*side))
	for {
		b, err := encode(noisy)
		if err != nil {
			return nil, err
		}
		if int64(len(b)) <= target {
			return b, nil
		}
		noisy -= int((int64(len(b))-target)/int64(3*side)) + 1
	}
}

// fill stores the set (t01 the large picture), a published study on it,
// people's answers, the model runs and an admin session; it returns the
// study's slug and the session's cookie.
func fill(ctx context.Context, store *postgres.Store, pool *pgxpool.Pool, big []byte, items, people, runs int) (string, *http.Cookie, error) {
	set := synthset.TowerSet("bench-set", items)
	set.Items[0].Image = big
	setID, _, err := store.ImportSet(ctx, set)
	if err != nil {
		return "", nil, fmt.Errorf("import set: %w", err)
	}
	st := study.Study{
		Slug: "bench", Title: "Memory benchmark", Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 1000, TimeLimitMinutes: 30,
		ConsentText: "Benchmark.", InstructionsText: "Answer every question.",
		Pay:            study.Pay{BaseMinor: 150, Currency: "GBP"},
		CompletionCode: "BENCH1", Status: study.Published,
		MinViewMs: study.DefaultMinViewMs, TooFastMs: study.DefaultTooFastMs,
		ReservationMinutes: study.DefaultReservationMinutes,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		return "", nil, fmt.Errorf("create study: %w", err)
	}
	// People written in bulk, as the report benchmark does: only the stored rows matter.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`SELECT setseed(0.25)`, nil},
		{`INSERT INTO participants (study_id, prolific_pid, status, seed, n_trials, n_answered, n_correct, completed_at, bonus_minor)
		 SELECT $1, lpad(to_hex(g), 24, '0'), $4, g, $2, $2, 0, now(), 0 FROM generate_series(1, $3) g`, []any{st.ID, items, people, string(study.Completed)}},
		{`INSERT INTO trials (participant_id, position, stimulus_id)
		 SELECT p.id, s.rn, s.id FROM participants p,
		   (SELECT id, row_number() OVER (ORDER BY ext_id) AS rn FROM stimuli WHERE set_id = $2) s
		 WHERE p.study_id = $1`, []any{st.ID, setID}},
		{`INSERT INTO responses (participant_id, position, answer, correct, server_rt_ms)
		 SELECT t.participant_id, t.position,
		   CASE WHEN random() < 0.8 THEN s.answer WHEN s.answer = 'Yes' THEN 'No' ELSE 'Yes' END, false, 1000
		 FROM trials t JOIN stimuli s ON s.id = t.stimulus_id JOIN participants p ON p.id = t.participant_id
		 WHERE p.study_id = $1`, []any{st.ID}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			return "", nil, fmt.Errorf("people: %w", err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for from := 0; from < runs; from += 100 { // a hundred runs an import: an 8 MB upload's worth of rows in ten
		var rows []modelout.Row
		for run := from; run < min(from+100, runs); run++ {
			for i := range items {
				p := 0.85
				if i%2 == 1 { // synthset: the truth is No on odd indexes
					p = 0.15
				}
				if rng.Float64() < 0.3 {
					p = 1 - p
				}
				rows = append(rows, modelout.Row{Model: fmt.Sprintf("model-%04d", run), StimulusID: fmt.Sprintf("t%02d", i+1), PYes: p, Coverage: 1, Line: i + 2})
			}
		}
		if _, err := store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "bench-set", Rows: rows}); err != nil {
			return "", nil, fmt.Errorf("model runs: %w", err)
		}
	}
	hash, err := account.Hash("benchmark password", account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		return "", nil, err
	}
	adminID, err := store.CreateAdmin(ctx, "bench@example.org", hash)
	if err != nil {
		return "", nil, err
	}
	token := "rssbench-session-token-0123456789abcdef"
	sum := sha256.Sum256([]byte(token))
	if err := store.CreateAdminSession(ctx, adminID, sum[:], strings.Repeat("c", 32), time.Now().Add(time.Hour)); err != nil {
		return "", nil, err
	}
	return st.Slug, &http.Cookie{Name: "cubelab_admin", Value: token}, nil
}

// procKB reads a "kB" field of /proc/PID/status.
func procKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
