package faulttest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/loadgen"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// The size of a faulted run: enough participants and trials that the fault
// lands while most of them are half-way through.
const (
	nParticipants = 40
	nItems        = 30
	think         = 30 * time.Millisecond
)

// pid is participant i's Prolific id, fixed so that the checks can find them.
func pid(i int) string { return fmt.Sprintf("%024x", 0xfa0000+i) }

// startLoad runs the participants in the background; the returned channel
// gives the result when all of them have finished or given up.
func startLoad(t *testing.T, cfg loadgen.Config) <-chan *loadgen.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	done := make(chan *loadgen.Result, 1)
	go func() {
		defer cancel()
		res, err := loadgen.Run(ctx, cfg)
		if err != nil {
			t.Errorf("loadgen: %v", err)
		}
		done <- res
	}()
	return done
}

// waitAnswers waits until the database holds at least n answers.
func waitAnswers(t *testing.T, pool *pgxpool.Pool, n int) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := countAnswers(t, pool)
		if got >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d answers after a minute, waiting for %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countAnswers(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM responses`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkRun holds a run to the rules that a fault must not break: every
// participant admitted finished, the database holds exactly one answer per
// trial of each, and every acknowledged answer is there, unchanged.
func checkRun(t *testing.T, pool *pgxpool.Pool, res *loadgen.Result, slug string, admitted, trials int) {
	t.Helper()
	ctx := context.Background()
	byPID := map[string]*loadgen.Participant{}
	completed := 0
	for i := range res.Participants {
		p := &res.Participants[i]
		byPID[p.PID] = p
		if p.Completed {
			completed++
			if !strings.Contains(p.Completion, "cc=TESTCODE1") {
				t.Errorf("participant %s ended with completion link %q", p.PID, p.Completion)
			}
		}
	}
	if completed != admitted {
		for _, p := range res.Participants {
			if p.Err != nil {
				t.Logf("participant %s: %v", p.PID, p.Err)
			}
		}
		t.Fatalf("%d participants reached the end page, want %d", completed, admitted)
	}

	rows, err := pool.Query(ctx, `
		SELECT p.prolific_pid, p.status, p.n_answered, p.n_trials, r.position, r.answer
		FROM participants p JOIN studies st ON st.id = p.study_id
		LEFT JOIN responses r ON r.participant_id = p.id
		WHERE st.slug = $1
		ORDER BY p.prolific_pid, r.position`, slug)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]map[int]string{}
	for rows.Next() {
		var id string
		var status study.ParticipantStatus
		var answered, n int
		var pos *int
		var answer *string
		if err := rows.Scan(&id, &status, &answered, &n, &pos, &answer); err != nil {
			t.Fatal(err)
		}
		if stored[id] == nil {
			stored[id] = map[int]string{}
			if status != study.Completed || answered != n || n != trials {
				t.Errorf("participant %s: status %s, %d of %d answered, want completed, %d of %d", id, status, answered, n, trials, trials)
			}
		}
		if pos == nil {
			continue
		}
		if _, dup := stored[id][*pos]; dup {
			t.Errorf("participant %s has two answers at position %d", id, *pos)
		}
		stored[id][*pos] = *answer
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stored) != admitted {
		t.Errorf("the database holds %d participants, want %d", len(stored), admitted)
	}
	acks := 0
	for id, answers := range stored {
		p := byPID[id]
		if p == nil {
			t.Errorf("the database holds participant %s, whom no one played", id)
			continue
		}
		if len(answers) != trials {
			t.Errorf("participant %s has %d answers stored, want %d", id, len(answers), trials)
		}
		for _, a := range p.Acks {
			acks++
			if got, ok := answers[a.Position]; !ok || got != a.Answer {
				t.Errorf("participant %s: acknowledged %s at %d, stored %q", id, a.Answer, a.Position, got)
			}
		}
	}
	if acks < admitted*trials {
		t.Errorf("%d answers acknowledged, want at least %d (one per trial; replays add more)", acks, admitted*trials)
	}
}

// checkResume opens the study link again in a new browser for a few
// participants: each lands on their end page, not on a new record.
func checkResume(t *testing.T, base string, pids []string) {
	t.Helper()
	for _, id := range pids {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		// The same Prolific session that opened the record (loadgen's link):
		// a record resumes only with its SESSION_ID.
		resp, err := c.Get(base + "/s/faults?PROLIFIC_PID=" + id + "&STUDY_ID=" + strings.Repeat("0", 24) + "&SESSION_ID=load" + id[:8])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/s/faults/done" {
			t.Errorf("participant %s reopening the link: %d to %q, want 303 to /s/faults/done", id, resp.StatusCode, loc)
		}
	}
}

// conflicts counts the 409 pages participants had to click through.
func conflicts(res *loadgen.Result) int {
	n := 0
	for _, p := range res.Participants {
		n += p.Conflicts
	}
	return n
}

func failures(res *loadgen.Result) int {
	n := 0
	for _, f := range res.Failures {
		n += f
	}
	return n
}

// newStudy creates the published study "faults" with nItems towers.
func newStudy(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	pgtest.NewStudy(t, postgres.NewStore(pool), "faults", nItems)
}

func loadConfig(targets ...string) loadgen.Config {
	return loadgen.Config{Targets: append([]string{}, targets...), Slug: "faults", Participants: nParticipants, Think: think,
		Images: true, Retry: 30 * time.Second, PID: pid}
}

// TestKillServer kills the server with SIGKILL in the middle of a run and
// starts it again: participants retry, resume where they were, and no
// acknowledged answer is lost or doubled.
func TestKillServer(t *testing.T) {
	c := newCluster(t)
	dsn, pool := c.newDatabase(t, "kill")
	newStudy(t, pool)
	port := freePort(t)
	srv := startServer(t, dsn, port)

	done := startLoad(t, loadConfig(srv.url))
	waitAnswers(t, pool, nParticipants*nItems/4)
	srv.kill()
	atKill := countAnswers(t, pool)
	time.Sleep(500 * time.Millisecond)
	srv = startServer(t, dsn, port)
	res := <-done

	if atKill >= nParticipants*nItems {
		t.Fatalf("the run had finished (%d answers) before the kill; the test proves nothing", atKill)
	}
	if failures(res) == 0 {
		t.Fatalf("no request failed: the kill did not hit the run")
	}
	t.Logf("killed at %d of %d answers; %d failed requests retried", atKill, nParticipants*nItems, failures(res))
	if n := conflicts(res); n != 0 {
		t.Errorf("%d conflict pages: a server crash lost no database state, so none should appear", n)
	}
	checkRun(t, pool, res, "faults", nParticipants, nItems)
	checkResume(t, srv.url, []string{pid(0), pid(1), pid(nParticipants - 1)})
}

// TestRestartPostgres crashes PostgreSQL in the middle of a run and starts it
// again a second later. The same server process carries on by itself: its
// pool drops the dead connections and opens new ones.
func TestRestartPostgres(t *testing.T) {
	c := newCluster(t)
	dsn, pool := c.newDatabase(t, "restart")
	newStudy(t, pool)
	srv := startServer(t, dsn, freePort(t))

	done := startLoad(t, loadConfig(srv.url))
	waitAnswers(t, pool, nParticipants*nItems/4)
	if err := c.crash(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	if err := waitHealthy(srv.url, 20*time.Second); err != nil {
		t.Fatalf("the server did not recover after the database restart: %v\n%s", err, srv.logTail())
	}
	res := <-done

	if !srv.running() {
		t.Fatalf("the server exited when the database restarted:\n%s", srv.logTail())
	}
	if failures(res) == 0 {
		t.Fatalf("no request failed: the restart did not hit the run")
	}
	// A trial's "shown" stamp is committed without waiting for the WAL
	// flush (Store.ShowTrial), so a crash may lose it: the answer is then
	// refused with a link back to the trial, which shows and stamps it again.
	// Each participant meets at most one such page per crash.
	t.Logf("%d failed requests retried, %d conflict pages clicked through", failures(res), conflicts(res))
	for _, p := range res.Participants {
		if p.Conflicts > 1 {
			t.Errorf("participant %s met %d conflict pages for one crash", p.PID, p.Conflicts)
		}
	}
	checkRun(t, pool, res, "faults", nParticipants, nItems)
	checkResume(t, srv.url, []string{pid(0), pid(nParticipants / 2)})
}

// TestTwoServers runs two server processes on one database, every request
// going to either at random. Places stay exact under concurrent joins through
// both, and a session begun on one works on the other.
func TestTwoServers(t *testing.T) {
	c := newCluster(t)
	dsn, pool := c.newDatabase(t, "two")
	newStudy(t, pool)
	const places = nParticipants * 3 / 4
	pgtest.SetPlaces(t, pool, uuid.Nil, places)
	a := startServer(t, dsn, freePort(t))
	b := startServer(t, dsn, freePort(t))

	res := <-startLoad(t, loadConfig(a.url, b.url))
	if n := failures(res); n != 0 || conflicts(res) != 0 {
		t.Fatalf("%d requests failed and %d conflicts with nothing killed: %v", n, conflicts(res), res.Failures)
	}
	full := 0
	for _, p := range res.Participants {
		if p.Err != nil {
			if !strings.Contains(p.Err.Error(), "status 410") {
				t.Errorf("participant %s: %v", p.PID, p.Err)
			}
			full++
		}
	}
	if full != nParticipants-places {
		t.Errorf("%d participants were turned away, want %d", full, nParticipants-places)
	}
	checkRun(t, pool, res, "faults", places, nItems)
}

// TestTwoServersPool runs the label-collection design through two servers:
// K items per participant add up to exactly R answers per item, and the
// participants beyond the pool's capacity are turned away.
func TestTwoServersPool(t *testing.T) {
	const k, r = 6, 2
	c := newCluster(t)
	dsn, pool := c.newDatabase(t, "twopool")
	ctx := context.Background()
	store := postgres.NewStore(pool)
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("pool-set", nItems))
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "pool", Title: "Pool", Domain: task.Tower, SetID: setID, Design: study.Pool,
		ItemsPerParticipant: k, ResponsesPerItem: r, Places: 100, TimeLimitMinutes: 30,
		ConsentText: "Consent.", InstructionsText: "Answer.",
		Pay:            study.Pay{BaseMinor: 100, PerCorrectMinor: 1, MaxBonusMinor: k, Currency: "GBP"},
		CompletionCode: "TESTCODE1", Status: study.Draft,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if err := store.SetStudyStatus(ctx, st.ID, study.Published); err != nil {
		t.Fatal(err)
	}
	a := startServer(t, dsn, freePort(t))
	b := startServer(t, dsn, freePort(t))

	cfg := loadConfig(a.url, b.url)
	cfg.Slug = "pool"
	res := <-startLoad(t, cfg)
	if n := failures(res); n != 0 {
		t.Fatalf("%d requests failed with nothing killed: %v", n, res.Failures)
	}
	capacity := nItems * r / k
	for _, p := range res.Participants {
		if p.Err != nil && !strings.Contains(p.Err.Error(), "status 410") {
			t.Errorf("participant %s: %v", p.PID, p.Err)
		}
	}
	checkRun(t, pool, res, "pool", capacity, k)

	rows, err := pool.Query(ctx, `SELECT s.ext_id, count(r.*) FROM stimuli s
		LEFT JOIN trials tr ON tr.stimulus_id = s.id
		LEFT JOIN responses r ON r.participant_id = tr.participant_id AND r.position = tr.position
		WHERE s.set_id = $1 GROUP BY s.ext_id`, setID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	items := 0
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		items++
		if n != r {
			t.Errorf("item %s has %d answers, want exactly %d", id, n, r)
		}
	}
	if items != nItems {
		t.Errorf("%d items, want %d", items, nItems)
	}
}
