package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// env is a server on a fresh database with one study of n towers.
type env struct {
	srv   *httptest.Server
	pool  *pgxpool.Pool
	store *postgres.Store
	study study.Study
}

func newEnv(t *testing.T, n int) *env {
	t.Helper()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "towers", n)
	srv := httptest.NewServer(server.New(server.Config{Store: store}).Handler())
	t.Cleanup(srv.Close)
	return &env{srv: srv, pool: pool, store: store, study: st}
}

// pid makes a valid Prolific id from i.
func pid(i int) string { return fmt.Sprintf("%024x", 0xabc000+i) }

// client is a browser without JavaScript: a cookie jar that does not follow
// redirects, so that tests see every 303.
func (e *env) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (e *env) do(t *testing.T, c *http.Client, method, path string, form url.Values) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), header: resp.Header}
}

// join opens the study link as participant i and walks to the first trial.
func (e *env) join(t *testing.T, c *http.Client, i int) {
	t.Helper()
	p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(i)+"&STUDY_ID=s1&SESSION_ID=x1", nil)
	if p.status != http.StatusSeeOther || p.location != "/s/towers/consent" {
		t.Fatalf("entry = %d %q, want 303 to consent; body %s", p.status, p.location, p.body)
	}
	if p := e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}}); p.location != "/s/towers/instructions" {
		t.Fatalf("consent = %d %q", p.status, p.location)
	}
	if p := e.do(t, c, "POST", "/s/towers/about-you", url.Values{"age": {"33"}, "gender": {"Woman"}}); p.location != "/s/towers/trial" {
		t.Fatalf("about-you = %d %q %s", p.status, p.location, p.body)
	}
}

var positionRE = regexp.MustCompile(`name="position" value="(\d+)"`)

// trial fetches the trial page and returns its position.
func (e *env) trial(t *testing.T, c *http.Client) int {
	t.Helper()
	p := e.do(t, c, "GET", "/s/towers/trial", nil)
	m := positionRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("trial page = %d %q", p.status, p.location)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func (e *env) answer(t *testing.T, c *http.Client, pos int, answer string) response {
	t.Helper()
	return e.do(t, c, "POST", "/s/towers/trial", url.Values{"position": {strconv.Itoa(pos)}, "answer": {answer}, "rt": {"850"}})
}

// truth is the stored correct answer of the participant's trial at pos.
func (e *env) truth(t *testing.T, i, pos int) string {
	t.Helper()
	var a string
	err := e.pool.QueryRow(context.Background(), `SELECT s.answer FROM trials t JOIN participants p ON p.id = t.participant_id
		JOIN stimuli s ON s.id = t.stimulus_id WHERE p.prolific_pid = $1 AND t.position = $2`, pid(i), pos).Scan(&a)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParticipantPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 6)
	c := e.client(t)
	e.join(t, c, 1)

	// Answer every trial: correct on odd positions, wrong on even ones.
	correct := 0
	for want := 1; want <= 6; want++ {
		pos := e.trial(t, c)
		if pos != want {
			t.Fatalf("trial page shows %d, want %d", pos, want)
		}
		a := e.truth(t, 1, pos)
		if pos%2 == 0 {
			a = map[string]string{task.Yes: task.No, task.No: task.Yes}[a]
		} else {
			correct++
		}
		p := e.answer(t, c, pos, a)
		wantLoc := "/s/towers/trial"
		if pos == 6 {
			wantLoc = "/s/towers/done"
		}
		if p.status != http.StatusSeeOther || p.location != wantLoc {
			t.Fatalf("answer %d = %d %q, want 303 %s; %s", pos, p.status, p.location, wantLoc, p.body)
		}
	}
	// The score is shown only to a participant Prolific confirmed
	// (TestEndPageScore); this one is, as on a linked study.
	if _, err := e.pool.Exec(context.Background(), `UPDATE participants SET prolific_verified = 'verified'`); err != nil {
		t.Fatal(err)
	}
	end := e.do(t, c, "GET", "/s/towers/done", nil)
	if end.status != 200 || !strings.Contains(end.body, "https://app.prolific.com/submissions/complete?cc=TESTCODE1") {
		t.Fatalf("end page = %d, body lacks the completion URL:\n%s", end.status, end.body)
	}
	// 3 correct x 10 = 30 (cap 50): £0.30 bonus, £1.80 total.
	for _, s := range []string{"£1.50", "£0.30", "£1.80"} {
		if !strings.Contains(end.body, s) {
			t.Errorf("end page lacks %s", s)
		}
	}
	var status string
	var bonus int64
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT p.status, p.bonus_minor, (SELECT count(*) FROM responses r WHERE r.participant_id = p.id)
		FROM participants p WHERE p.prolific_pid = $1`, pid(1)).Scan(&status, &bonus, &n); err != nil {
		t.Fatal(err)
	}
	if status != "completed" || bonus != 30 || n != 6 {
		t.Fatalf("participant = %s, bonus %d, %d responses; want completed, 30, 6", status, bonus, n)
	}
	// Reopening the link after completion shows the end page again.
	p := e.do(t, e.client(t), "GET", "/s/towers?PROLIFIC_PID="+pid(1)+"&STUDY_ID=s1&SESSION_ID=x1", nil)
	if p.location != "/s/towers/done" {
		t.Fatalf("reopening after completion goes to %q, want /s/towers/done", p.location)
	}
}
