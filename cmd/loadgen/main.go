// Command loadgen plays many participants through a cubelab study over HTTP
// and prints answers per second and latency percentiles per route. It only
// talks to servers on this machine (loopback addresses), so it cannot be
// pointed at someone else's site by mistake.
//
//	loadgen -url http://127.0.0.1:8080 -n 1000 -think 400ms -database-url postgres://...
//
// Without -study it creates a fresh published study (a synthetic set of
// towers, places for every participant) directly in the database.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cubelab/cubelab/internal/loadgen"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/synthset"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type config struct {
	targets      []string
	slug         string
	databaseURL  string
	set          string
	trials       int
	participants int
	concurrency  int
	think        time.Duration
	images       bool
	limit        time.Duration
	retry        time.Duration
	rate         float64
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	var targets string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&targets, "url", "http://127.0.0.1:8080", "base URL of the server; several, comma-separated, share the load at random")
	fs.StringVar(&c.slug, "study", "", "slug of an existing published study with enough places; empty creates one (needs the database)")
	fs.StringVar(&c.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL URL, to create the study (env DATABASE_URL)")
	fs.StringVar(&c.set, "set", "", "stimulus set (by name, already imported) for the created study; empty imports a synthetic one")
	fs.IntVar(&c.trials, "trials", 120, "trials per participant in the synthetic set")
	fs.IntVar(&c.participants, "n", 1000, "participants in all")
	fs.IntVar(&c.concurrency, "c", 0, "participants at once (0: all of them)")
	fs.Float64Var(&c.rate, "rate", 0, "participants opening the link per second, evenly spaced (0: all at the start)")
	fs.DurationVar(&c.think, "think", 400*time.Millisecond, "mean think time per trial (uniform between half and one and a half times it)")
	fs.BoolVar(&c.images, "images", true, "fetch the pictures as a browser does")
	fs.DurationVar(&c.limit, "time", 5*time.Minute, "time limit of the run")
	fs.DurationVar(&c.retry, "retry", 0, "keep retrying failed requests this long (0: a failure ends the participant)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, t := range strings.Split(targets, ",") {
		if err := loopback(t); err != nil {
			return c, err
		}
		c.targets = append(c.targets, t)
	}
	if c.slug == "" && c.databaseURL == "" {
		return c, errors.New("either -study or a database (-database-url, DATABASE_URL) to create one")
	}
	if c.participants < 1 || c.trials < 1 {
		return c, errors.New("-n and -trials must be at least 1")
	}
	if c.rate < 0 {
		return c, errors.New("-rate must be 0 (all at once) or a number of participants per second")
	}
	return c, nil
}

// loopback refuses any target that is not this machine: a load generator
// aimed at a public server is an attack.
func loopback(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q is not an http URL", target)
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil {
		return fmt.Errorf("-url %q: %w", target, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("-url %q: %s is not a loopback address; loadgen only loads this machine", target, ip)
		}
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	if c.slug == "" {
		if c.slug, err = createStudy(ctx, c); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created study %q with %d places\n", c.slug, c.participants)
	}
	ctx, cancel := context.WithTimeout(ctx, c.limit)
	defer cancel()
	arrive := "all at the start"
	if c.rate > 0 {
		arrive = fmt.Sprintf("arriving %g/s", c.rate)
	}
	fmt.Fprintf(stdout, "%d participants (%d at once, %s), think %s, images %v, against %s\n",
		c.participants, max(c.concurrency, 0), arrive, c.think, c.images, strings.Join(c.targets, ", "))
	res, err := loadgen.Run(ctx, loadgen.Config{
		Targets: c.targets, Slug: c.slug, Participants: c.participants, Concurrency: c.concurrency,
		Think: c.think, Images: c.images, Retry: c.retry, Rate: c.rate,
	})
	if err != nil {
		return err
	}
	sum := res.Summarize()
	sum.Print(stdout)
	shown := 0
	for _, p := range res.Participants {
		if p.Err != nil && shown < 5 {
			fmt.Fprintf(stderr, "participant %s: %v\n", p.PID, p.Err)
			shown++
		}
	}
	if sum.Failed > 0 {
		return fmt.Errorf("%d of %d participants failed", sum.Failed, sum.Participants)
	}
	return nil
}

// createStudy makes a published fixed study with a place for every
// participant, on the named set or on a synthetic set of towers.
func createStudy(ctx context.Context, c config) (string, error) {
	pool, err := postgres.Open(ctx, c.databaseURL)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	store := postgres.NewStore(pool)
	name := c.set
	if name == "" {
		name = fmt.Sprintf("loadgen-towers-%d", c.trials)
		if _, _, err := store.ImportSet(ctx, synthset.TowerSet(name, c.trials)); err != nil {
			return "", err
		}
	}
	setID, err := store.SetIDByName(ctx, name)
	if err != nil {
		return "", err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	st := study.Study{
		Slug: "load-" + hex.EncodeToString(b), Title: "Load test", Domain: task.Tower, SetID: setID,
		Design: study.Fixed, ResponsesPerItem: 1, Places: c.participants, TimeLimitMinutes: 60,
		ConsentText: "A load test.", InstructionsText: "Answer every question.",
		Pay:            study.Pay{BaseMinor: 100, PerCorrectMinor: 1, MaxBonusMinor: int64(c.trials), Currency: "GBP"},
		CompletionCode: "LOADTEST", Status: study.Published,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		return "", err
	}
	return st.Slug, nil
}
