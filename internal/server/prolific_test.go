package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/prolific/prolifictest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
)

const hookSecret = "hook-secret-for-tests"

// proEnv is an admin env whose server talks to a Prolific stand-in, with a
// pool study "pool" (12 items, K=2, R=1) linked to a Prolific study.
type proEnv struct {
	*adminEnv
	ps       *prolifictest.Server
	admin    *http.Client
	csrf     string
	pool     study.Study
	proStudy string
}

func proConfig(ps *prolifictest.Server) server.Config {
	return server.Config{Prolific: server.ProlificConfig{
		Client: prolific.ClientConfig{Token: prolifictest.Token, BaseURL: ps.URL, Timeout: 2 * time.Second,
			MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		WebhookSecret: hookSecret, VerifyWait: time.Second, SyncEvery: time.Hour, PayGrace: time.Hour,
	}}
}

func newProEnv(t *testing.T, link bool) *proEnv {
	t.Helper()
	ps := prolifictest.New()
	t.Cleanup(ps.Close)
	e := &proEnv{adminEnv: newAdminEnvWith(t, proConfig(ps)), ps: ps, admin: noRedirects()}
	_, e.csrf = e.login(t, e.admin, adminPassword)
	ctx := context.Background()
	setID, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("pool-set", 12))
	if err != nil {
		t.Fatal(err)
	}
	e.pool = study.Study{Slug: "pool", Title: "Pool study", Domain: e.study.Domain, SetID: setID, Design: study.Pool,
		ItemsPerParticipant: 2, ResponsesPerItem: 1, Places: 100, TimeLimitMinutes: 30, ConsentText: "ok",
		InstructionsText: "go", Pay: study.Pay{BaseMinor: 150, PerCorrectMinor: 10, MaxBonusMinor: 20, Currency: "GBP"},
		CompletionCode: "POOLCODE", Status: study.Draft}
	if err := e.store.CreateStudy(ctx, &e.pool); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetStudyStatus(ctx, e.pool.ID, study.Published); err != nil {
		t.Fatal(err)
	}
	if link {
		e.proStudy = ps.AddStudy("Pool study", 3)
		if r := e.form(t, "/admin/studies/"+e.pool.ID.String()+"/prolific/link", url.Values{"prolific_study_id": {e.proStudy}}); r.StatusCode != 303 {
			t.Fatalf("link = %d", r.StatusCode)
		}
	}
	return e
}

// form posts an admin form with the session's CSRF token.
func (e *proEnv) form(t *testing.T, path string, v url.Values) *http.Response {
	t.Helper()
	if v == nil {
		v = url.Values{}
	}
	v.Set("csrf", e.csrf)
	return e.post(t, e.admin, path, v, e.srv.URL)
}

// bulkApprove asks for a bulk approval of the study at base, then confirms
// the count the confirmation page shows.
func (e *proEnv) bulkApprove(t *testing.T, base string, v url.Values) *http.Response {
	t.Helper()
	resp, page := e.formBody(t, base+"/participants/approve", v)
	m := confirmCountRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("bulk approval without confirmation = %d, want its confirmation page:\n%s", resp.StatusCode, page)
	}
	v.Set("n", m[1])
	v.Set("confirm", "1")
	return e.form(t, base+"/participants/approve", v)
}

// confirmCountRE finds the count a bulk approval's confirmation carries.
var confirmCountRE = regexp.MustCompile(`name="n" value="(\d+)"`)

// formBody is form returning the page too.
func (e *proEnv) formBody(t *testing.T, path string, v url.Values) (*http.Response, string) {
	t.Helper()
	v.Set("csrf", e.csrf)
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := e.admin.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// enter opens the pool study's link as Prolific would send the participant.
func (e *proEnv) enter(t *testing.T, c *http.Client, pid, session string) (*http.Response, string) {
	t.Helper()
	return e.get(t, c, "/s/pool?PROLIFIC_PID="+pid+"&STUDY_ID="+e.proStudy+"&SESSION_ID="+session)
}

// finish walks a participant who entered through consent and every trial.
func (e *proEnv) finish(t *testing.T, c *http.Client) {
	t.Helper()
	e.post(t, c, "/s/pool/consent", url.Values{"consent": {"yes"}}, e.srv.URL)
	e.post(t, c, "/s/pool/about-you", url.Values{"skip": {"yes"}}, e.srv.URL)
	for range 10 {
		_, page := e.get(t, c, "/s/pool/trial")
		m := positionRE.FindStringSubmatch(page)
		if m == nil {
			return // done
		}
		e.post(t, c, "/s/pool/trial", url.Values{"position": {m[1]}, "answer": {"Yes"}}, e.srv.URL)
	}
	t.Fatal("never finished")
}

func (e *proEnv) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *proEnv) heldSlots(t *testing.T) int {
	return e.count(t, `SELECT count(*) FROM pool_slots WHERE study_id = $1 AND participant_id IS NOT NULL`, e.pool.ID)
}

func TestProlificEntry(t *testing.T) {
	e := newProEnv(t, true)
	t.Run("ErrMadeUpPIDs", func(t *testing.T) {
		real := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, real)
		for i := range 100 {
			c := noRedirects()
			pid := prolifictest.NewID()
			sessionID := prolifictest.NewID()
			switch i % 4 {
			case 1:
				sessionID = session // someone else's session
			case 2:
				sessionID = ""
			case 3:
				sessionID = e.ps.Start(e.ps.AddStudy("other", 1), pid) // a session of another study
			}
			resp, body := e.enter(t, c, pid, sessionID)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Prolific does not know this session") {
				t.Fatalf("made-up PID %d: %d\n%s", i, resp.StatusCode, body)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE study_id = $1`, e.pool.ID); n != 0 || e.heldSlots(t) != 0 {
			t.Fatalf("made-up PIDs left %d participants, %d slots held", n, e.heldSlots(t))
		}
	})
	t.Run("OK", func(t *testing.T) {
		pid := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, pid)
		c := noRedirects()
		if resp, body := e.enter(t, c, pid, session); resp.StatusCode != 303 {
			t.Fatalf("real participant: %d %s", resp.StatusCode, body)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND prolific_verified = 'verified'`, pid); n != 1 {
			t.Fatalf("verified participants %d", n)
		}
		// A second opening resumes without asking Prolific again.
		before := e.ps.Calls("GET /api/v1/submissions/" + session + "/")
		if resp, _ := e.enter(t, c, pid, session); resp.StatusCode != 303 || e.ps.Calls("GET /api/v1/submissions/"+session+"/") != before {
			t.Fatalf("resume: %d, calls %d -> %d", resp.StatusCode, before, e.ps.Calls("GET /api/v1/submissions/"+session+"/"))
		}
	})
	t.Run("UnreachableAdmitThenVerified", func(t *testing.T) {
		pid := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, pid)
		e.ps.Fail("GET /api/v1/submissions/", 10, 503, "")
		if resp, body := e.enter(t, noRedirects(), pid, session); resp.StatusCode != 303 {
			t.Fatalf("admit while unreachable: %d %s", resp.StatusCode, body)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND prolific_verified = 'unverified'`, pid); n != 1 {
			t.Fatalf("unverified %d", n)
		}
		_, page := e.get(t, e.admin, "/admin/studies/"+e.pool.ID.String())
		if !strings.Contains(page, "unverified") {
			t.Fatal("the monitor does not show the unverified entry")
		}
		e.ps.ClearFaults()
		if r := e.form(t, "/admin/studies/"+e.pool.ID.String()+"/prolific/sync", nil); r.StatusCode != 303 {
			t.Fatalf("sync = %d", r.StatusCode)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND prolific_verified = 'verified'`, pid); n != 1 {
			t.Fatal("the sync did not verify the entry")
		}
	})
	t.Run("UnreachableRefuse", func(t *testing.T) {
		e.form(t, "/admin/studies/"+e.pool.ID.String()+"/prolific/settings", url.Values{"on_unreachable": {"refuse"}})
		pid := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, pid)
		e.ps.Fail("GET /api/v1/submissions/", 10, 500, "")
		defer e.ps.ClearFaults()
		resp, body := e.enter(t, noRedirects(), pid, session)
		if resp.StatusCode != http.StatusGone || !strings.Contains(body, "cannot confirm your Prolific session") {
			t.Fatalf("refuse while unreachable: %d %s", resp.StatusCode, body)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1`, pid); n != 0 {
			t.Fatal("refused, yet recorded")
		}
	})
	t.Run("SlowProlificBoundedWait", func(t *testing.T) {
		e.form(t, "/admin/studies/"+e.pool.ID.String()+"/prolific/settings", url.Values{"on_unreachable": {"admit"}})
		pid := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, pid)
		e.ps.Delay = 20 * time.Second
		defer func() { e.ps.Delay = 0 }()
		start := time.Now()
		resp, _ := e.enter(t, noRedirects(), pid, session)
		// Generous for a loaded machine, far below Prolific's 20 s.
		if d := time.Since(start); resp.StatusCode != 303 || d > 8*time.Second {
			t.Fatalf("slow Prolific: %d after %s (VerifyWait is 1 s)", resp.StatusCode, d)
		}
	})
}

func TestProlificSyncAndReview(t *testing.T) {
	e := newProEnv(t, true)
	base := "/admin/studies/" + e.pool.ID.String()
	var pids, sessions []string
	for i := range 3 {
		pid := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, pid)
		c := noRedirects()
		if resp, body := e.enter(t, c, pid, session); resp.StatusCode != 303 {
			t.Fatalf("participant %d: %d %s", i, resp.StatusCode, body)
		}
		e.post(t, c, "/s/pool/consent", url.Values{"consent": {"yes"}}, e.srv.URL)
		if i < 2 {
			e.finish(t, c)
			e.ps.SetStatus(session, prolific.StatusAwaitingReview)
		}
		pids, sessions = append(pids, pid), append(sessions, session)
	}
	if held := e.heldSlots(t); held != 6 {
		t.Fatalf("held slots %d, want 6", held)
	}

	t.Run("ErrBadWebhookSignature", func(t *testing.T) {
		e.ps.SetStatus(sessions[2], prolific.StatusReturned)
		resp, err := e.ps.Webhook(e.srv.URL+"/prolific/webhook", "wrong secret", sessions[2])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || e.heldSlots(t) != 6 {
			t.Fatalf("bad signature: %d, held %d", resp.StatusCode, e.heldSlots(t))
		}
	})
	t.Run("WebhookSyncsReturn", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.server.RunProlificSync(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		resp, err := e.ps.Webhook(e.srv.URL+"/prolific/webhook", hookSecret, sessions[2])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook = %d", resp.StatusCode)
		}
		deadline := time.Now().Add(5 * time.Second)
		for e.heldSlots(t) != 4 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if held := e.heldSlots(t); held != 4 {
			t.Fatalf("after RETURNED: held %d, want 4", held)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND status = 'returned'`, pids[2]); n != 1 {
			t.Fatal("the returned participant is not returned here")
		}
	})
	t.Run("ReturnedAfterCompleting", func(t *testing.T) {
		e.ps.SetStatus(sessions[1], prolific.StatusReturned)
		e.form(t, base+"/prolific/sync", nil)
		if held := e.heldSlots(t); held != 2 {
			t.Fatalf("held %d, want 2", held)
		}
		_, page := e.get(t, e.admin, base)
		if !strings.Contains(page, "Prolific: AWAITING REVIEW") || !strings.Contains(page, "Prolific: RETURNED") {
			t.Fatal("the monitor does not show Prolific's statuses")
		}
	})
	t.Run("ErrRejectNeedsLongReason", func(t *testing.T) {
		id := e.participantID(t, pids[0])
		resp, body := e.formBody(t, base+"/participants/"+id+"/reject", url.Values{"reason": {"too short"}, "category": {"LOW_EFFORT"}})
		if resp.StatusCode != 400 || !strings.Contains(body, "at least 100 characters") {
			t.Fatalf("short reason: %d %s", resp.StatusCode, body)
		}
		if sub, _ := e.ps.Submission(sessions[0]); sub.Status != prolific.StatusAwaitingReview {
			t.Fatalf("Prolific status %s", sub.Status)
		}
	})
	t.Run("BulkApproveGoesToProlific", func(t *testing.T) {
		// The fixture serves no pictures, so every answer is flagged no_image: tick them in.
		if r := e.bulkApprove(t, base, url.Values{"q": {""}, "with_flagged": {"1"}}); r.StatusCode != 303 {
			t.Fatalf("bulk approve = %d", r.StatusCode)
		}
		if sub, _ := e.ps.Submission(sessions[0]); sub.Status != prolific.StatusApproved {
			t.Fatalf("Prolific status %s", sub.Status)
		}
		if n := e.count(t, `SELECT count(*) FROM participants WHERE prolific_pid = $1 AND status = 'approved'`, pids[0]); n != 1 {
			t.Fatal("not approved here")
		}
		if e.ps.Calls("POST /api/v1/submissions/bulk-approve/") != 0 && e.ps.Calls("POST /api/v1/submissions/"+sessions[0]+"/transition/") != 0 {
			t.Fatal("approved twice on Prolific")
		}
		// What went to Prolific is final: no undo is offered, and none is taken.
		_, page := e.get(t, e.admin, base)
		if strings.Contains(page, `id="undo-`) {
			t.Error("an approval sent to Prolific offers an undo")
		}
		var last int64
		if err := e.store.Pool().QueryRow(context.Background(), `SELECT max(id) FROM review_actions`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if r, body := e.formBody(t, fmt.Sprintf("%s/undo/%d", base, last), url.Values{}); r.StatusCode != 409 || !strings.Contains(body, "went to Prolific") {
			t.Errorf("undo of an approval sent to Prolific = %d", r.StatusCode)
		}
	})
}

func (e *proEnv) participantID(t *testing.T, pid string) string {
	t.Helper()
	var id string
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT id::text FROM participants WHERE prolific_pid = $1`, pid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// approvedWithBonus makes n participants who complete, are approved, and
// are owed a bonus (every answer Yes; the fixture has Yes items).
func (e *proEnv) approvedWithBonus(t *testing.T, n int) []string {
	t.Helper()
	var pids []string
	for range n {
		pid := prolifictest.NewID()
		session := e.ps.Start(e.proStudy, pid)
		c := noRedirects()
		e.enter(t, c, pid, session)
		e.finish(t, c)
		e.ps.SetStatus(session, prolific.StatusAwaitingReview)
		pids = append(pids, pid)
	}
	e.bulkApprove(t, "/admin/studies/"+e.pool.ID.String(), url.Values{"with_flagged": {"1"}})
	// Make sure every one is owed something, whatever the fixture's answers.
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE participants SET bonus_minor = 10 WHERE study_id = $1 AND bonus_minor = 0`, e.pool.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.form(t, "/admin/studies/"+e.pool.ID.String()+"/payouts", nil); r.StatusCode != 303 {
		t.Fatalf("export bonuses = %d", r.StatusCode)
	}
	return pids
}

func (e *proEnv) batchState(t *testing.T, n int) string {
	t.Helper()
	var s string
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT prolific_state FROM bonus_batches WHERE study_id = $1 AND number = $2`,
		e.pool.ID, n).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProlificBonus(t *testing.T) {
	t.Run("OKPaidOnce", func(t *testing.T) {
		e := newProEnv(t, true)
		pids := e.approvedWithBonus(t, 2)
		pay := "/admin/studies/" + e.pool.ID.String() + "/payouts/1/pay"
		if r := e.form(t, pay, nil); r.StatusCode != 303 {
			t.Fatalf("pay = %d", r.StatusCode)
		}
		if e.batchState(t, 1) != "paid" || e.ps.Payments() != 1 || e.ps.Paid(pids[0]) == 0 {
			t.Fatalf("state %s, payments %d", e.batchState(t, 1), e.ps.Payments())
		}
		if r := e.form(t, pay, nil); r.StatusCode != 409 || e.ps.Payments() != 1 {
			t.Fatalf("second pay = %d, payments %d", r.StatusCode, e.ps.Payments())
		}
	})
	t.Run("LostAnswerReconciled", func(t *testing.T) {
		e := newProEnv(t, true)
		e.approvedWithBonus(t, 2)
		pay := "/admin/studies/" + e.pool.ID.String() + "/payouts/1/pay"
		e.ps.LoseNextPayAnswer()
		if r := e.form(t, pay, nil); r.StatusCode == 303 {
			t.Fatal("a lost answer taken for a payment")
		}
		if e.batchState(t, 1) != "paying" || e.ps.Payments() != 1 {
			t.Fatalf("after the lost answer: %s, payments %d", e.batchState(t, 1), e.ps.Payments())
		}
		_, page := e.get(t, e.admin, "/admin/studies/"+e.pool.ID.String()+"/payouts")
		if !strings.Contains(page, "The answer to the payment was lost") {
			t.Fatal("the payouts page does not say the answer was lost")
		}
		// Pressing Pay again reads Prolific's bonuses first: paid, not paid twice.
		if r := e.form(t, pay, nil); r.StatusCode != 303 {
			t.Fatalf("pay again = %d", r.StatusCode)
		}
		if e.batchState(t, 1) != "paid" || e.ps.Payments() != 1 {
			t.Fatalf("after reconciling: %s, payments %d", e.batchState(t, 1), e.ps.Payments())
		}
	})
	t.Run("ConcurrentPays", func(t *testing.T) {
		e := newProEnv(t, true)
		e.approvedWithBonus(t, 3)
		pay := "/admin/studies/" + e.pool.ID.String() + "/payouts/1/pay"
		e.ps.Delay = 50 * time.Millisecond
		defer func() { e.ps.Delay = 0 }()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() { defer wg.Done(); e.form(t, pay, nil) }()
		}
		wg.Wait()
		if e.batchState(t, 1) != "paid" || e.ps.Payments() != 1 {
			t.Fatalf("8 concurrent pays: %s, payments %d", e.batchState(t, 1), e.ps.Payments())
		}
	})
	t.Run("RefusedGoesBack", func(t *testing.T) {
		e := newProEnv(t, true)
		e.approvedWithBonus(t, 1)
		pay := "/admin/studies/" + e.pool.ID.String() + "/payouts/1/pay"
		e.ps.Fail("POST /api/v1/bulk-bonus-payments/", 1, 402, "")
		if r := e.form(t, pay, nil); r.StatusCode == 303 || e.batchState(t, 1) != "created" || e.ps.Payments() != 0 {
			t.Fatalf("refused: %d, %s, payments %d", r.StatusCode, e.batchState(t, 1), e.ps.Payments())
		}
		if r := e.form(t, pay, nil); r.StatusCode != 303 || e.ps.Payments() != 1 {
			t.Fatalf("after a refusal, pay = %d, payments %d", r.StatusCode, e.ps.Payments())
		}
	})
}

func TestProlificCreatePublishPlaces(t *testing.T) {
	e := newProEnv(t, false)
	base := "/admin/studies/" + e.pool.ID.String()
	_, page := e.get(t, e.admin, base)
	if !strings.Contains(page, "ceil(12 items x R=1 / K=2) = 6") {
		t.Fatalf("the create form does not compute the pool's places:\n%s", page)
	}
	form := url.Values{"name": {"Towers"}, "description": {"Look at towers."}, "minutes": {"5"}, "max_minutes": {"30"},
		"reward": {"1.50"}, "places": {"3"}, "completed_action": {"manual"}}
	if r := e.form(t, base+"/prolific/create", form); r.StatusCode != 303 {
		t.Fatalf("create = %d", r.StatusCode)
	}
	link, ok, err := e.store.ProlificLinkOf(context.Background(), e.pool.ID)
	if err != nil || !ok {
		t.Fatalf("not linked: %v", err)
	}
	ps, _ := e.ps.Study(link.ProlificStudyID)
	if ps.Reward != 150 || ps.TotalAvailablePlaces != 3 || len(ps.CompletionCodes) != 3 ||
		!strings.Contains(ps.ExternalStudyURL, "/s/pool?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}") ||
		ps.CompletionCodes[0].Actions[0].Action != prolific.ActionManualReview || ps.CompletionCodes[2].CodeType != prolific.CodeNoConsent {
		t.Fatalf("created %+v", ps)
	}
	if r := e.form(t, base+"/prolific/publish", nil); r.StatusCode != 303 {
		t.Fatalf("publish = %d", r.StatusCode)
	}
	if ps, _ := e.ps.Study(link.ProlificStudyID); ps.Status != "ACTIVE" {
		t.Fatalf("status on Prolific %s", ps.Status)
	}
	if r := e.form(t, base+"/prolific/places", url.Values{"places": {"2"}}); r.StatusCode != 400 {
		t.Fatalf("decrease = %d", r.StatusCode)
	}
	if r := e.form(t, base+"/prolific/places", url.Values{"places": {"150"}}); r.StatusCode != 303 {
		t.Fatalf("increase = %d", r.StatusCode)
	}
	if ps, _ := e.ps.Study(link.ProlificStudyID); ps.TotalAvailablePlaces != 150 {
		t.Fatalf("places on Prolific %d", ps.TotalAvailablePlaces)
	}
	if n := e.count(t, `SELECT places FROM studies WHERE id = $1`, e.pool.ID); n != 150 {
		t.Fatalf("places here %d", n)
	}
	_, page = e.get(t, e.admin, "/admin/prolific")
	if !strings.Contains(page, "The token works") || !strings.Contains(page, "/api/v1/studies/") || strings.Contains(page, prolifictest.Token) {
		t.Fatalf("settings page:\n%s", page)
	}
	if n := e.count(t, `SELECT count(*) FROM prolific_calls WHERE path LIKE '%' || $1 || '%' OR error LIKE '%' || $1 || '%'`, prolifictest.Token); n != 0 {
		t.Fatal("the token is in the call log")
	}
}
