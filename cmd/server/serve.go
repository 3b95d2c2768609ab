package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// serveConfig is the serve command's configuration: flags, with the
// environment as their defaults.
type serveConfig struct {
	addr        string
	databaseURL string
	stimuli     string
	baseURL     string
	demo        bool
	entryLimit  int
	trustProxy  bool
	cpuProfile  string
	images      stimulus.ImageLimits
	prolific    server.ProlificConfig
}

func parseServe(args []string, e env) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&c.addr, "addr", envOr(e, "ADDR", ":8080"), "address to listen on (env ADDR)")
	fs.StringVar(&c.databaseURL, "database-url", e.getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL)")
	fs.StringVar(&c.stimuli, "stimuli", envOr(e, "CUBELAB_STIMULI", "assets/stimuli"), "folder of stimulus sets for -demo (env CUBELAB_STIMULI)")
	fs.StringVar(&c.baseURL, "base-url", e.getenv("BASE_URL"), "public URL of the server, for printed links and secure cookies (env BASE_URL)")
	fs.IntVar(&c.entryLimit, "entry-limit", 30, "times one address may open study links per minute, per server process; 0: no limit (env CUBELAB_ENTRY_LIMIT)")
	fs.BoolVar(&c.trustProxy, "trust-proxy", e.getenv("CUBELAB_TRUST_PROXY") == "1", "behind one reverse proxy: count the entry limit by the last X-Forwarded-For address (env CUBELAB_TRUST_PROXY=1)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file at shutdown (go tool pprof reads it)")
	imageFlags(fs, &c.images, e)
	fs.BoolVar(&c.demo, "demo", false, "import every stimulus set and create a published study \"demo\" if missing")
	if v := e.getenv("CUBELAB_ENTRY_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("%w: CUBELAB_ENTRY_LIMIT=%q is not a count", errUsage, v)
		}
		c.entryLimit = n
	}
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := checkImageFlags(c.images); err != nil {
		return c, err
	}
	// Prolific only from the environment: a token in a flag would show in
	// the process list.
	c.prolific.Client.Token = e.getenv("PROLIFIC_TOKEN")
	c.prolific.Client.BaseURL = e.getenv("PROLIFIC_API_URL")
	c.prolific.WebhookSecret = e.getenv("PROLIFIC_WEBHOOK_SECRET")
	for _, d := range []struct {
		key string
		to  *time.Duration
	}{{"PROLIFIC_SYNC_EVERY", &c.prolific.SyncEvery}, {"PROLIFIC_PAY_GRACE", &c.prolific.PayGrace}} {
		if v := e.getenv(d.key); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return c, fmt.Errorf("%w: %s=%q is not a duration like 1m", errUsage, d.key, v)
			}
			*d.to = t
		}
	}
	if c.entryLimit < 0 {
		return c, fmt.Errorf("%w: -entry-limit must be 0 or more", errUsage)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, fs.Args())
	}
	if c.databaseURL == "" {
		return c, errors.New("serve: no database: set -database-url or DATABASE_URL")
	}
	return c, nil
}

func envOr(e env, key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// runServe migrates the database, optionally sets up the demo, and serves
// until ctx is cancelled, then shuts down gracefully.
func runServe(ctx context.Context, args []string, e env) error {
	c, err := parseServe(args, e)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("serve: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	version, err := postgres.Migrate(ctx, c.databaseURL)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("database schema ready", "version", version)
	pool, err := postgres.Open(ctx, c.databaseURL)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	if err := logImageProblems(ctx, store, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	base := c.baseURL
	if base == "" {
		base = "http://" + displayAddr(ln.Addr())
	}
	base = strings.TrimRight(base, "/")
	if c.demo {
		if err := setUpDemo(ctx, store, c.stimuli, base, e, log); err != nil {
			ln.Close()
			return fmt.Errorf("serve: demo: %w", err)
		}
	}

	app := server.New(server.Config{Store: store, Log: log, BaseURL: c.baseURL, EntryLimit: c.entryLimit, TrustForwarded: c.trustProxy,
		ImageLimits: c.images, Prolific: c.prolific})
	// Every process sweeps: the sweep is an idempotent UPDATE, so several
	// servers on one database only repeat each other harmlessly.
	go app.RunSweeper(ctx, 30*time.Second)
	// Every process polls Prolific; an advisory lock per study keeps it
	// to one sync at a time (nothing runs without PROLIFIC_TOKEN).
	go app.RunProlificSync(ctx)
	// Every process keeps the live comparisons of studies with an armed
	// stopping rule; the rule fires once whichever process sees it first.
	go app.RunLiveWatch(ctx)
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", base)
	fmt.Fprintf(e.stdout, "listening on %s\n", base)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

// displayAddr turns a listener's address into one a browser can open.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// The demo study: the paper's evaluation design on the 120 shipped towers.
const (
	demoSlug = "demo"
	demoSet  = "towers-eval"
)

// setUpDemo imports every set under dir (idempotent), creates the demo study
// when no study has its slug, and prints a participant link and a preview link.
func setUpDemo(ctx context.Context, store *postgres.Store, dir, base string, e env, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("stimulus sets: %w", err)
	}
	var names []string
	for _, ent := range entries {
		if ent.IsDir() {
			names = append(names, ent.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		set, err := stimulus.Load(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		res, err := store.ImportSetDir(ctx, set, postgres.ImportOptions{})
		if problem.Code(err) == problem.ECONFLICT {
			// A database made before the shipped sets were last regenerated
			// (issue 12) holds an older set of this name, perhaps used by a
			// study: keep it, and say how to take the new one.
			log.Warn("stimulus set: the stored set of this name differs from the folder; keeping the stored one (stimuli import --replace takes the folder's if no study or model run uses it)",
				"name", name, "folder", set.Dir)
			continue
		}
		if err != nil {
			return err
		}
		log.Info("stimulus set", "name", name, "items", res.Items, "imported", res.Created)
	}

	if _, err := store.StudyBySlug(ctx, demoSlug); problem.Code(err) == problem.ENOTFOUND {
		setID, err := store.SetIDByName(ctx, demoSet)
		if err != nil {
			return err
		}
		st := &study.Study{
			Slug:             demoSlug,
			Title:            "Will the tower fall?",
			Domain:           task.Tower,
			SetID:            setID,
			Design:           study.Fixed,
			ResponsesPerItem: 1,
			Places:           1000,
			TimeLimitMinutes: 60,
			ConsentText: "This is a study of how people judge whether a tower of blocks will fall. " +
				"It takes about 15 minutes. You will see pictures of block towers and answer one question about each.\n\n" +
				"Your answers are stored with your Prolific ID and used only for research. You may stop at any time " +
				"by returning the study on Prolific.\n\nBy pressing \"I agree\" you confirm that you are at least 18 " +
				"years old and agree to take part.",
			InstructionsText: "Look at each picture and decide whether the tower will fall. There is no time limit " +
				"for a single picture, but please answer at your natural pace. You earn a bonus for every correct answer.",
			Pay:                study.Pay{BaseMinor: 200, PerCorrectMinor: 1, MaxBonusMinor: 120, Currency: "GBP"},
			CompletionCode:     "CUBELABDEMO",
			MinViewMs:          study.DefaultMinViewMs,
			TooFastMs:          study.DefaultTooFastMs,
			ReservationMinutes: study.DefaultReservationMinutes,
			Status:             study.Published,
		}
		if err := store.CreateStudy(ctx, st); err != nil {
			return err
		}
		log.Info("demo study created", "slug", demoSlug)
	} else if err != nil {
		return err
	}

	pid := make([]byte, 12)
	_, _ = rand.Read(pid)
	fmt.Fprintf(e.stdout, "participant link: %s/s/%s?PROLIFIC_PID=%s&STUDY_ID=%s&SESSION_ID=%s\n",
		base, demoSlug, hex.EncodeToString(pid), strings.Repeat("0", 24), "demo-session")
	fmt.Fprintf(e.stdout, "preview link:     %s/s/%s\n", base, demoSlug)
	fmt.Fprintf(e.stdout, "admin pages:      %s/admin (make an account first: go run ./cmd/server admin create --email you@example.org)\n", base)
	return nil
}
