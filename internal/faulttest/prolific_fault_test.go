package faulttest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/prolific/prolifictest"
)

const (
	proAdmin    = "pay@example.org"
	proPassword = "a long enough password"
)

// proEnv is the server environment that points a server at the stand-in.
func proEnv(ps *prolifictest.Server) []string {
	return []string{"PROLIFIC_TOKEN=" + prolifictest.Token, "PROLIFIC_API_URL=" + ps.URL,
		"PROLIFIC_SYNC_EVERY=300ms", "PROLIFIC_PAY_GRACE=1h", "PROLIFIC_WEBHOOK_SECRET=x"}
}

// payFixture makes a published study linked to a stand-in study, an admin,
// and batch number `batch` of n approved participants owed 50 each, whose
// sessions exist on the stand-in.
func payFixture(t *testing.T, pool *pgxpool.Pool, ps *prolifictest.Server, slug string, n int) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, slug, 4)
	proStudy := ps.AddStudy(slug, n)
	if err := store.LinkProlific(ctx, st.ID, prolific.Study{ID: proStudy, Status: "ACTIVE", TotalAvailablePlaces: n}, false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pid := prolifictest.NewID()
		session := ps.Start(proStudy, pid)
		token := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", slug, i)))
		if _, err := store.Join(ctx, st, prolific.Params{PID: pid, StudyID: proStudy, SessionID: session}, int64(i), token[:]); err != nil {
			t.Fatal(err)
		}
		ps.SetStatus(session, prolific.StatusApproved)
	}
	if _, err := pool.Exec(ctx, `UPDATE participants SET n_answered = n_trials, completed_at = now(), bonus_minor = 50,
		status = 'approved' WHERE study_id = $1`, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateBonusBatch(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	return st.ID
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// adminClient logs in to a server and returns a client and the CSRF token.
func adminClient(t *testing.T, base string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func(path string) string {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := csrfField.FindStringSubmatch(page("/admin/login"))
	if m == nil {
		t.Fatal("no login form")
	}
	resp, err := postForm(c, base, "/admin/login", url.Values{"csrf": {m[1]}, "email": {proAdmin}, "password": {proPassword}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", resp, err)
	}
	m = csrfField.FindStringSubmatch(page("/admin/"))
	if m == nil {
		t.Fatal("logged in without a CSRF field")
	}
	return c, m[1]
}

func postForm(c *http.Client, base, path string, v url.Values) (*http.Response, error) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func batchState(t *testing.T, pool *pgxpool.Pool, studyID uuid.UUID) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(context.Background(), `SELECT prolific_state FROM bonus_batches WHERE study_id = $1 AND number = 1`,
		studyID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitState(t *testing.T, pool *pgxpool.Pool, studyID uuid.UUID, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for batchState(t, pool, studyID) != want {
		if time.Now().After(deadline) {
			t.Fatalf("batch is %q after %s, want %q", batchState(t, pool, studyID), limit, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newAdmin(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	hash, err := account.Hash(proPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewStore(pool).CreateAdmin(context.Background(), proAdmin, hash); err != nil {
		t.Fatal(err)
	}
}

// TestKillBetweenPayAndRecord kills the server (SIGKILL) after the stand-in
// has paid a bulk bonus and before the server hears the answer, so that the
// payment is made and not recorded. The server comes back, reads the
// bonuses from the stand-in, and records the batch paid; pressing Pay again
// pays nothing. Then the same with two server processes: one is killed
// mid-pay, the other settles the batch while the experimenter keeps
// pressing Pay on it. The stand-in counts one payment per batch.
func TestKillBetweenPayAndRecord(t *testing.T) {
	c := newCluster(t)
	dsn, pool := c.newDatabase(t, "prolific_pay")
	newAdmin(t, pool)
	ps := prolifictest.New()
	defer ps.Close()

	t.Run("OneServer", func(t *testing.T) {
		studyID := payFixture(t, pool, ps, "pay-one", 5)
		port := freePort(t)
		srv := startServer(t, dsn, port, proEnv(ps)...)
		admin, csrf := adminClient(t, srv.url)
		var once sync.Once
		ps.OnPay = func(string) { once.Do(srv.kill) }
		defer func() { ps.OnPay = nil }()
		resp, err := postForm(admin, srv.url, "/admin/studies/"+studyID.String()+"/payouts/1/pay", url.Values{"csrf": {csrf}})
		if err == nil {
			t.Fatalf("the pay request was answered (%d): the kill came too late", resp.StatusCode)
		}
		if got := batchState(t, pool, studyID); got != "paying" || ps.Payments() != 1 {
			t.Fatalf("after the kill: batch %q, payments %d; want paying, 1", got, ps.Payments())
		}
		srv = startServer(t, dsn, port, proEnv(ps)...)
		waitState(t, pool, studyID, "paid", 20*time.Second)
		admin, csrf = adminClient(t, srv.url)
		if resp, err := postForm(admin, srv.url, "/admin/studies/"+studyID.String()+"/payouts/1/pay", url.Values{"csrf": {csrf}}); err != nil || resp.StatusCode != http.StatusConflict {
			t.Fatalf("pay after paid: %v %v", resp, err)
		}
		if ps.Payments() != 1 {
			t.Fatalf("payments %d, want 1", ps.Payments())
		}
	})

	t.Run("TwoServers", func(t *testing.T) {
		before := ps.Payments()
		studyID := payFixture(t, pool, ps, "pay-two", 5)
		a := startServer(t, dsn, freePort(t), proEnv(ps)...)
		b := startServer(t, dsn, freePort(t), proEnv(ps)...)
		adminA, csrfA := adminClient(t, a.url)
		adminB, csrfB := adminClient(t, b.url)
		var once sync.Once
		paid := make(chan struct{})
		ps.OnPay = func(string) { once.Do(func() { a.kill(); close(paid) }) }
		defer func() { ps.OnPay = nil }()
		pay := "/admin/studies/" + studyID.String() + "/payouts/1/pay"
		go postForm(adminA, a.url, pay, url.Values{"csrf": {csrfA}}) //nolint:errcheck // A dies answering it
		<-paid
		// The experimenter presses Pay on B again and again meanwhile.
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				postForm(adminB, b.url, pay, url.Values{"csrf": {csrfB}}) //nolint:errcheck // any answer will do
			}()
			time.Sleep(100 * time.Millisecond)
		}
		wg.Wait()
		waitState(t, pool, studyID, "paid", 20*time.Second)
		if got := ps.Payments() - before; got != 1 {
			t.Fatalf("two servers: %d payments, want 1", got)
		}
	})
}
