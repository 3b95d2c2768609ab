package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// reviewEnv is a logged-in experimenter and a fixed study of two tower items
// and one attention check (t03), so each participant has three trials.
type reviewEnv struct {
	*adminEnv
	c     *http.Client
	csrf  string
	clock *clock
	base  string
}

func newReviewEnv(t *testing.T) *reviewEnv {
	t.Helper()
	ctx := context.Background()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	hash, err := account.Hash(adminPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateAdmin(ctx, adminEmail, hash); err != nil {
		t.Fatal(err)
	}
	setID, _, err := store.ImportSet(ctx, pgtest.TowerSet("review-set", 3))
	if err != nil {
		t.Fatal(err)
	}
	checks, err := store.StimulusIDs(ctx, setID, []string{"t03"})
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{
		Slug: "review", Title: "Review", Domain: task.Tower, SetID: setID, Design: study.Fixed,
		ResponsesPerItem: 1, Places: 200, TimeLimitMinutes: 60, AttentionCheckIDs: checks,
		ConsentText: "c", InstructionsText: "i", CompletionCode: "CODE1",
		Pay:       study.Pay{BaseMinor: 100, PerCorrectMinor: 5, MaxBonusMinor: 100, Currency: "GBP"},
		MinViewMs: study.DefaultMinViewMs, TooFastMs: study.DefaultTooFastMs, ReservationMinutes: study.DefaultReservationMinutes,
		Status: study.Published,
	}
	if err := store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	s := server.New(server.Config{Store: store, Now: clk.now})
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &reviewEnv{adminEnv: &adminEnv{srv: srv, handler: h, server: s, store: store, study: st}, clock: clk,
		base: "/admin/studies/" + st.ID.String()}
	e.c = noRedirects()
	if _, e.csrf = e.login(t, e.c, adminPassword); e.csrf == "" {
		t.Fatal("login failed")
	}
	return e
}

// finish makes participant pid complete the study: every item answered
// right, the attention check right unless failCheck, and flagged answers
// recorded on flagged of them.
func (e *reviewEnv) finish(t *testing.T, pid string, failCheck bool, flagged int) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	p, err := e.store.Join(ctx, e.study, prolific.Params{PID: pid}, 1, []byte(fmt.Sprintf("%032s", pid)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Consent(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveDemographics(ctx, p.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	rt := 900
	for pos := 1; pos <= p.NTrials; pos++ {
		if _, err := e.store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		var answer string
		var check bool
		if err := e.store.Pool().QueryRow(ctx, `SELECT s.answer, t.is_attention_check FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&answer, &check); err != nil {
			t.Fatal(err)
		}
		if check && failCheck {
			answer = map[string]string{task.Yes: task.No, task.No: task.Yes}[answer]
		}
		if _, err := e.store.Answer(ctx, p.ID, pos, answer, &rt); err != nil {
			t.Fatal(err)
		}
	}
	// The fixture serves no pictures, so every answer carries no_image: set
	// the participant's count of flagged answers to what the test wants.
	if _, err := e.store.Pool().Exec(ctx, `UPDATE participants SET n_flagged = $2 WHERE id = $1`, p.ID, flagged); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (e *reviewEnv) postForm(t *testing.T, path string, v url.Values) (int, string, string) {
	t.Helper()
	v.Set("csrf", e.csrf)
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (e *reviewEnv) statusCount(t *testing.T, prefix string, st study.ParticipantStatus) int {
	t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM participants
		WHERE study_id = $1 AND starts_with(prolific_pid, $2) AND status = $3`, e.study.ID, prefix, string(st)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var undoFormRE = regexp.MustCompile(`action="(/admin/studies/[^"]+/undo/\d+)"`)

// A filter matching 50 people awaiting review, 3 of them flagged, approves
// 47 after a confirmation that names the 3; the approval can be undone
// within five minutes, once.
func TestBulkApproveLeavesFlaggedOut(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	for i := range 50 {
		failCheck, flagged := i == 3 || i == 17, 0
		if i == 30 {
			flagged = 2
		}
		e.finish(t, fmt.Sprintf("aa%022x", i), failCheck, flagged)
	}
	for i := range 10 {
		e.finish(t, fmt.Sprintf("bb%022x", i), false, 0)
	}
	_, page := e.get(t, e.c, e.base)
	if !regexp.MustCompile(`<dt>Awaiting review</dt><dd>60</dd>`).MatchString(page) {
		t.Errorf("study page lacks an awaiting-review count of 60")
	}
	q := url.Values{"pid": {"aa"}}.Encode()

	status, _, body := e.postForm(t, e.base+"/participants/approve", url.Values{"q": {q}})
	if status != 200 || !strings.Contains(body, "Approve 47 participants?") || !strings.Contains(body, `name="n" value="47"`) {
		t.Fatalf("bulk approval asks no confirmation of 47: %d\n%s", status, body)
	}
	for _, want := range []string{fmt.Sprintf("aa%022x: failed 1 attention check of 1", 3), fmt.Sprintf("aa%022x: 2 answers flagged", 30)} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmation does not name %q", want)
		}
	}
	if n := e.statusCount(t, "", study.Approved); n != 0 {
		t.Fatalf("%d approved before the confirmation", n)
	}
	// A confirmation of another count (the set changed) asks again.
	status, _, body = e.postForm(t, e.base+"/participants/approve", url.Values{"q": {q}, "confirm": {"1"}, "n": {"48"}})
	if status != 200 || !strings.Contains(body, "changed since") {
		t.Fatalf("stale confirmation: %d", status)
	}
	status, loc, _ := e.postForm(t, e.base+"/participants/approve", url.Values{"q": {q}, "confirm": {"1"}, "n": {"47"}})
	if status != 303 || !strings.Contains(loc, "approved=47") {
		t.Fatalf("confirmed bulk approval = %d %q", status, loc)
	}
	if a, c, other := e.statusCount(t, "aa", study.Approved), e.statusCount(t, "aa", study.Completed), e.statusCount(t, "bb", study.Completed); a != 47 || c != 3 || other != 10 {
		t.Fatalf("after the bulk approval: %d approved, %d awaiting review of the 50; %d of the 10 others awaiting; want 47, 3, 10", a, c, other)
	}

	_, page = e.get(t, e.c, e.base)
	m := undoFormRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Approved 47 participants") {
		t.Fatalf("no undo offered for the approval")
	}
	if status, _, _ := e.postForm(t, m[1], url.Values{}); status != 303 {
		t.Fatalf("undo = %d", status)
	}
	if a, c := e.statusCount(t, "aa", study.Approved), e.statusCount(t, "aa", study.Completed); a != 0 || c != 50 {
		t.Fatalf("after undo: %d approved, %d awaiting review; want 0, 50", a, c)
	}
	if status, _, body := e.postForm(t, m[1], url.Values{}); status != 409 || !strings.Contains(body, "undone already") {
		t.Errorf("second undo = %d, want 409", status)
	}

	// Ticked, the flagged come too: 50.
	status, _, body = e.postForm(t, e.base+"/participants/approve", url.Values{"q": {q}, "with_flagged": {"1"}})
	if status != 200 || !strings.Contains(body, "Approve 50 participants?") || !strings.Contains(body, "Included although flagged") {
		t.Fatalf("with flagged: %d", status)
	}
}

// Approving someone who needs a look, and any rejection, ask first; an
// approval cannot be undone after five minutes; a return can, and takes the
// place back; a rejection never can.
func TestReviewConfirmAndUndo(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	ctx := context.Background()
	flagged := e.finish(t, "cc0000000000000000000001", true, 0)
	clean := e.finish(t, "cc0000000000000000000002", false, 0)
	other := e.finish(t, "cc0000000000000000000003", false, 0)
	act := func(id uuid.UUID, a string, v url.Values) (int, string, string) {
		return e.postForm(t, e.base+"/participants/"+id.String()+"/"+a, v)
	}
	status, _, body := act(flagged, "approve", url.Values{})
	if status != 200 || !strings.Contains(body, "failed 1 attention check of 1") {
		t.Fatalf("approving a flagged participant: %d, want a confirmation naming the failed check", status)
	}
	if status, _, _ := act(flagged, "approve", url.Values{"confirm": {"1"}}); status != 303 {
		t.Fatalf("confirmed approval = %d", status)
	}
	if status, _, _ := act(clean, "approve", url.Values{}); status != 303 {
		t.Fatalf("approving a clean participant takes one click: %d", status)
	}
	e.clock.add(study.UndoWindow + time.Second)
	_, page := e.get(t, e.c, e.base)
	if undoFormRE.MatchString(page) {
		t.Error("undo offered after five minutes")
	}
	var last int64
	if err := e.store.Pool().QueryRow(ctx, `SELECT max(id) FROM review_actions`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if status, _, body := e.postForm(t, fmt.Sprintf("%s/undo/%d", e.base, last), url.Values{}); status != 409 || !strings.Contains(body, "Too late") {
		t.Fatalf("late undo = %d", status)
	}

	status, _, body = act(other, "reject", url.Values{"reason": {"Did not read the question."}})
	if status != 200 || !strings.Contains(body, "cannot be undone") {
		t.Fatalf("rejection without confirmation = %d", status)
	}
	if n := e.statusCount(t, "cc", study.Rejected); n != 0 {
		t.Fatal("rejected before the confirmation")
	}
	if status, _, _ := act(other, "reject", url.Values{"reason": {"Did not read the question."}, "confirm": {"1"}}); status != 303 {
		t.Fatalf("confirmed rejection = %d", status)
	}
	if n := e.statusCount(t, "cc", study.Rejected); n != 1 {
		t.Fatalf("%d rejected, want 1", n)
	}
	_, page = e.get(t, e.c, e.base)
	if undoFormRE.MatchString(page) {
		t.Error("a rejection offers an undo")
	}

	// A return is undone with the place taken back.
	p, err := e.store.Join(ctx, e.study, prolific.Params{PID: "dd0000000000000000000001"}, 1, []byte("dd345678901234567890123456789012"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := act(p.ID, "return", url.Values{}); status != 303 {
		t.Fatalf("return = %d", status)
	}
	_, page = e.get(t, e.c, e.base)
	m := undoFormRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Marked dd0000000000000000000001 returned") {
		t.Fatal("no undo offered for the return")
	}
	if status, _, _ := e.postForm(t, m[1], url.Values{}); status != 303 {
		t.Fatalf("undo return = %d", status)
	}
	var st string
	var shard *int
	if err := e.store.Pool().QueryRow(ctx, `SELECT status, place_shard FROM participants WHERE id = $1`, p.ID).Scan(&st, &shard); err != nil {
		t.Fatal(err)
	}
	if st != string(study.Started) || shard == nil {
		t.Fatalf("after undoing the return: %s, shard %v; want started with a place", st, shard)
	}
}
