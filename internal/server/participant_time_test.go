package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/task"
)

// TestTimeLimitInTheOpen: the consent page states the limit, the trial page
// shows the time left and warns in the last five minutes, and past the limit
// every page of the participant says what happened and links back to
// Prolific, never with the completion code.
func TestTimeLimitInTheOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	c := e.client(t)
	p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(1)+"&STUDY_ID=s1&SESSION_ID=x1", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("entry = %d", p.status)
	}
	consent := e.do(t, c, "GET", "/s/towers/consent", nil)
	if !strings.Contains(consent.body, "<strong>30 minutes</strong> to finish") || !strings.Contains(consent.body, "within 10 minutes") {
		t.Fatalf("consent page does not state the time limit and the reservation window:\n%s", consent.body)
	}
	if p := e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("consent = %d", p.status)
	}
	if p := e.do(t, c, "POST", "/s/towers/about-you", url.Values{"skip": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("about-you = %d", p.status)
	}

	// Not yet late: the time-up page sends the participant to their trial.
	if p := e.do(t, c, "GET", "/s/towers/time-up", nil); p.status != http.StatusSeeOther || p.location != "/s/towers/trial" {
		t.Fatalf("time-up page in time = %d %q, want 303 to the trial", p.status, p.location)
	}
	trial := e.do(t, c, "GET", "/s/towers/trial", nil)
	left := regexp.MustCompile(`id="time-left"[^>]*data-seconds="(\d+)"[^>]*>([^<]*)<`).FindStringSubmatch(trial.body)
	if left == nil || (left[2] != "30 minutes left" && left[2] != "29 minutes left") {
		t.Fatalf("trial page time left = %q:\n%s", left, trial.body)
	}
	if !regexp.MustCompile(`id="time-warning"[^>]*hidden`).MatchString(trial.body) {
		t.Errorf("trial page with 30 minutes left shows the five-minute warning")
	}

	// Four minutes left: the warning is on the page as sent.
	setStart(t, e, 26*time.Minute)
	trial = e.do(t, c, "GET", "/s/towers/trial", nil)
	if m := regexp.MustCompile(`id="time-left"[^>]*>(\d:\d\d) left<`).FindStringSubmatch(trial.body); m == nil || m[1] > "4:00" || m[1] < "3:50" {
		t.Errorf("trial page with 4 minutes left shows %q", m)
	}
	if regexp.MustCompile(`id="time-warning"[^>]*hidden`).MatchString(trial.body) || !strings.Contains(trial.body, "Less than five minutes left") {
		t.Errorf("trial page with 4 minutes left lacks the warning:\n%s", trial.body)
	}

	// Past the limit: the trial page, an answer and the time-up page all
	// explain, with the way back to Prolific and not the completion code.
	setStart(t, e, 31*time.Minute)
	if p := e.do(t, c, "GET", "/s/towers/trial", nil); p.status != http.StatusSeeOther || p.location != "/s/towers/time-up" {
		t.Fatalf("trial past the limit = %d %q, want 303 to the time-up page", p.status, p.location)
	}
	checkTimeUp := func(what string, p response, status int) {
		t.Helper()
		if p.status != status || !strings.Contains(p.body, "Time is up") || !strings.Contains(p.body, "30 minutes") ||
			!strings.Contains(p.body, `href="https://app.prolific.com/submissions"`) || strings.Contains(p.body, "TESTCODE1") ||
			!strings.Contains(p.body, "You answered 0 of 3 pictures") {
			t.Fatalf("%s = %d, want %d and the time-up page:\n%s", what, p.status, status, p.body)
		}
	}
	checkTimeUp("time-up page", e.do(t, c, "GET", "/s/towers/time-up", nil), http.StatusOK)
	checkTimeUp("answer past the limit", e.answer(t, c, 1, task.Yes), http.StatusGone)
	if n := e.count(t, `SELECT count(*) FROM responses`); n != 0 {
		t.Fatalf("%d responses recorded past the limit", n)
	}
	// Once the sweep has timed the participant out, the end page says the same.
	if _, err := e.store.SweepTimeouts(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM participants WHERE status = 'timed_out'`); n != 1 {
		t.Fatalf("%d participants timed out by the sweep, want 1", n)
	}
	checkTimeUp("end page when timed out", e.do(t, c, "GET", "/s/towers/done", nil), http.StatusOK)
	checkTimeUp("trial page when timed out", followed(t, e, c, "/s/towers/trial"), http.StatusOK)
}

// setStart moves every participant's start back by ago.
func setStart(t *testing.T, e *env, ago time.Duration) {
	t.Helper()
	pgtest.StartedAgo(t, e.pool, ago)
}

// followed gets path and follows its redirects within the site.
func followed(t *testing.T, e *env, c *http.Client, path string) response {
	t.Helper()
	p := e.do(t, c, "GET", path, nil)
	for i := 0; i < 5 && p.status == http.StatusSeeOther; i++ {
		p = e.do(t, c, "GET", p.location, nil)
	}
	return p
}

// TestEndPageScore: the end page shows the completion code as text and the
// score ("N of M correct") and bonus only to a participant Prolific
// confirmed; to anyone else (a made-up PID on an unlinked study), whose
// score per item would reveal the answers, it shows the bonus rule.
func TestEndPageScore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	c := e.client(t)
	e.join(t, c, 1)
	for pos := 1; pos <= 3; pos++ {
		e.answer(t, c, e.trial(t, c), e.truth(t, 1, pos))
	}
	end := e.do(t, c, "GET", "/s/towers/done", nil)
	if end.status != 200 || !strings.Contains(end.body, `<code id="code">TESTCODE1</code>`) || !strings.Contains(end.body, `id="copy"`) {
		t.Fatalf("end page lacks the completion code as text and its copy button:\n%s", end.body)
	}
	if strings.Contains(end.body, "correct)") || strings.Contains(end.body, "£0.30") || strings.Contains(end.body, "£1.80") {
		t.Errorf("end page of an unconfirmed participant shows the score or the bonus:\n%s", end.body)
	}
	if !strings.Contains(end.body, "£0.10 per correct answer, up to £0.20") {
		t.Errorf("end page of an unconfirmed participant lacks the bonus rule:\n%s", end.body)
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE participants SET prolific_verified = 'verified'`); err != nil {
		t.Fatal(err)
	}
	end = e.do(t, c, "GET", "/s/towers/done", nil)
	// 3 correct x 10, capped at 20.
	if !strings.Contains(end.body, "3 of 3 correct") || !strings.Contains(end.body, "£0.20") || !strings.Contains(end.body, "£1.70") {
		t.Errorf("end page of a confirmed participant lacks the score and bonus:\n%s", end.body)
	}
}
