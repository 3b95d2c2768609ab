package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/google/uuid"
)

// count returns a count(*) query's result.
func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	for name, c := range map[string]struct {
		query  string
		status int
		says   string
	}{
		"ErrMalformedPID": {"PROLIFIC_PID=12345", 400, "PROLIFIC_PID must be 24 characters"},
		"ErrEmptyPID":     {"PROLIFIC_PID=", 400, "empty PROLIFIC_PID"},
		"ErrScriptPID":    {"PROLIFIC_PID=%3Cscript%3Ealert(1)%3C/script%3E", 400, "PROLIFIC_PID"},
		"ErrBadSession":   {"PROLIFIC_PID=" + pid(1) + "&SESSION_ID=%3Cx%3E", 400, "SESSION_ID"},
	} {
		t.Run(name, func(t *testing.T) {
			p := e.do(t, e.client(t), "GET", "/s/towers?"+c.query, nil)
			if p.status != c.status || !strings.Contains(p.body, c.says) || strings.Contains(p.body, "<script>") {
				t.Fatalf("GET ?%s = %d, want %d with %q; body:\n%s", c.query, p.status, c.status, c.says, p.body)
			}
		})
	}
	t.Run("ErrUnknownStudy", func(t *testing.T) {
		if p := e.do(t, e.client(t), "GET", "/s/nope?PROLIFIC_PID="+pid(1), nil); p.status != 404 {
			t.Fatalf("unknown study = %d, want 404", p.status)
		}
	})
	t.Run("ErrWrongProlificStudy", func(t *testing.T) {
		if _, err := e.pool.Exec(context.Background(), `UPDATE studies SET prolific_study_id = '60ffe5c8371090c7041d43f9'`); err != nil {
			t.Fatal(err)
		}
		defer e.pool.Exec(context.Background(), `UPDATE studies SET prolific_study_id = ''`)
		p := e.do(t, e.client(t), "GET", "/s/towers?PROLIFIC_PID="+pid(9)+"&STUDY_ID=60ffe5c8371090c7041d43fa", nil)
		if p.status != 400 || !strings.Contains(p.body, "different Prolific study") {
			t.Fatalf("entry with another STUDY_ID = %d:\n%s", p.status, p.body)
		}
	})
	t.Run("SecurityHeaders", func(t *testing.T) {
		p := e.do(t, e.client(t), "GET", "/s/towers?PROLIFIC_PID="+pid(2), nil)
		h := p.header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Fatalf("headers %v", h)
		}
		cookie := h.Get("Set-Cookie")
		if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") || !strings.Contains(cookie, "Path=/s/towers") {
			t.Fatalf("cookie %q lacks HttpOnly, SameSite=Lax or its path", cookie)
		}
		if strings.Contains(cookie, pid(2)) {
			t.Fatalf("the cookie carries the Prolific id: %q", cookie)
		}
	})
	t.Run("Preview", func(t *testing.T) {
		before := e.count(t, `SELECT count(*) FROM participants`)
		c := e.client(t)
		p := e.do(t, c, "GET", "/s/towers/preview", nil)
		if p.status != 200 || !strings.Contains(p.body, "Preview") || p.header.Get("Set-Cookie") != "" {
			t.Fatalf("preview entry = %d, cookie %q", p.status, p.header.Get("Set-Cookie"))
		}
		for _, path := range []string{"/s/towers/preview/instructions?consent=yes", "/s/towers/preview/trial/1", "/s/towers/preview/image/1", "/s/towers/example"} {
			if p := e.do(t, c, "GET", path, nil); p.status != 200 {
				t.Fatalf("GET %s = %d", path, p.status)
			}
		}
		if p := e.do(t, c, "GET", "/s/towers/preview/answer?position=1&answer=Yes", nil); p.location != "/s/towers/preview/trial/2" {
			t.Fatalf("preview answer 1 goes to %q", p.location)
		}
		if p := e.do(t, c, "GET", "/s/towers/preview/answer?position=3&answer=No", nil); p.location != "/s/towers/preview/done" {
			t.Fatalf("preview answer 3 goes to %q", p.location)
		}
		if p := e.do(t, c, "GET", "/s/towers/preview/done", nil); p.status != 200 || strings.Contains(p.body, "saved") ||
			!strings.Contains(p.body, "nothing you did was recorded") {
			t.Fatalf("preview end page = %d:\n%s", p.status, p.body)
		}
		if p := e.do(t, c, "GET", "/s/towers/preview/trial/4", nil); p.status != 404 {
			t.Fatalf("preview trial past the end = %d, want 404", p.status)
		}
		if after := e.count(t, `SELECT count(*) FROM participants`); after != before || e.count(t, `SELECT count(*) FROM responses`) != 0 {
			t.Fatalf("the preview recorded something: %d participants before, %d after", before, after)
		}
		// A draft's preview is for its researchers only.
		pgtest.SetStudyStatus(t, e.pool, uuid.Nil, study.Draft)
		defer pgtest.SetStudyStatus(t, e.pool, uuid.Nil, study.Published)
		for _, path := range []string{"/s/towers/preview", "/s/towers/preview/trial/1", "/s/towers/preview/image/1", "/s/towers/preview/done"} {
			if p := e.do(t, c, "GET", path, nil); p.status != http.StatusForbidden {
				t.Errorf("GET %s of a draft without logging in = %d, want 403", path, p.status)
			}
		}
	})
}

func TestAnswerForm(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	c := e.client(t)
	e.join(t, c, 1)
	pos := e.trial(t, c)

	for name, form := range map[string]url.Values{
		"ErrNoPosition":  {"answer": {"Yes"}},
		"ErrBadAnswer":   {"position": {"1"}, "answer": {"yes please"}},
		"ErrBadRT":       {"position": {"1"}, "answer": {"Yes"}, "rt": {"-5"}},
		"ErrFuture":      {"position": {"3"}, "answer": {"Yes"}},
		"ErrPastTheEnd":  {"position": {"99"}, "answer": {"Yes"}},
		"ErrNotAPositon": {"position": {"1e3"}, "answer": {"No"}},
	} {
		p := e.do(t, c, "POST", "/s/towers/trial", form)
		if p.status != 400 && p.status != 409 {
			t.Errorf("%s: %v = %d, want 400 or 409", name, form, p.status)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM responses`); n != 0 {
		t.Fatalf("refused forms stored %d responses", n)
	}

	t.Run("ErrNoCookie", func(t *testing.T) {
		p := e.do(t, e.client(t), "POST", "/s/towers/trial", url.Values{"position": {"1"}, "answer": {"Yes"}})
		if p.status != 401 {
			t.Fatalf("answer without a session = %d, want 401", p.status)
		}
	})
	t.Run("ErrForgedCookie", func(t *testing.T) {
		jar := e.client(t)
		u, _ := url.Parse(e.srv.URL + "/s/towers")
		jar.Jar.SetCookies(u, []*http.Cookie{{Name: "cubelab_towers", Value: "forged", Path: "/s/towers"}})
		if p := e.do(t, jar, "POST", "/s/towers/trial", url.Values{"position": {"1"}, "answer": {"Yes"}}); p.status != 401 {
			t.Fatalf("answer with a forged session = %d, want 401", p.status)
		}
	})
	t.Run("ErrOtherParticipantsImages", func(t *testing.T) {
		if p := e.do(t, c, "GET", "/s/towers/image/4", nil); p.status != 404 {
			t.Fatalf("an image two trials ahead = %d, want 404", p.status)
		}
		if p := e.do(t, c, "GET", "/s/towers/image/2", nil); p.status != 200 || p.header.Get("Content-Type") != "image/png" {
			t.Fatalf("the next image (preload) = %d %s, want 200 image/png", p.status, p.header.Get("Content-Type"))
		}
	})
	t.Run("Replay", func(t *testing.T) {
		first := e.answer(t, c, pos, task.Yes)
		if first.status != http.StatusSeeOther {
			t.Fatalf("answer = %d", first.status)
		}
		// The same POST again, and one with the other answer: nothing changes.
		for _, a := range []string{task.Yes, task.No} {
			if p := e.answer(t, c, pos, a); p.status != http.StatusSeeOther || p.location != "/s/towers/trial" {
				t.Fatalf("replayed answer = %d %q", p.status, p.location)
			}
		}
		var answer string
		_ = e.pool.QueryRow(context.Background(), `SELECT answer FROM responses WHERE position = 1`).Scan(&answer)
		if n := e.count(t, `SELECT count(*) FROM responses`); n != 1 || answer != task.Yes {
			t.Fatalf("%d responses, first answer %s; want 1, Yes", n, answer)
		}
		if next := e.trial(t, c); next != 2 {
			t.Fatalf("after the replays the trial page shows %d, want 2", next)
		}
	})
	t.Run("ErrOtherStudysCookie", func(t *testing.T) {
		// A token is tied to its study: the cookie of "towers" sent to another
		// study's path finds no session there.
		jar := e.client(t)
		u, _ := url.Parse(e.srv.URL + "/s/other")
		for _, ck := range c.Jar.Cookies(mustURL(t, e.srv.URL+"/s/towers/trial")) {
			jar.Jar.SetCookies(u, []*http.Cookie{{Name: "cubelab_other", Value: ck.Value, Path: "/s/other"}})
		}
		if p := e.do(t, jar, "GET", "/s/other/trial", nil); p.status != 401 {
			t.Fatalf("a towers token on another study = %d, want 401", p.status)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	if p := e.do(t, e.client(t), "GET", "/healthz", nil); p.status != 200 {
		t.Fatalf("healthz = %d", p.status)
	}
	e.pool.Close()
	if p := e.do(t, e.client(t), "GET", "/healthz", nil); p.status != 503 {
		t.Fatalf("healthz without a database = %d, want 503", p.status)
	}
}

func TestDemographics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	c := e.client(t)
	if p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(1), nil); p.location != "/s/towers/consent" {
		t.Fatalf("entry goes to %q", p.location)
	}
	// Before consent, every later page sends the participant back to consent.
	for _, path := range []string{"/s/towers/instructions", "/s/towers/about-you", "/s/towers/trial", "/s/towers/done"} {
		if p := e.do(t, c, "GET", path, nil); p.location != "/s/towers/consent" {
			t.Fatalf("GET %s before consent goes to %q, want consent", path, p.location)
		}
	}
	e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}})
	for name, form := range map[string]url.Values{
		"ErrAgeText":    {"age": {"thirty"}},
		"ErrAgeMinor":   {"age": {"17"}},
		"ErrAgeHuge":    {"age": {"1000"}},
		"ErrGenderFree": {"gender": {"<b>x</b>"}},
	} {
		p := e.do(t, c, "POST", "/s/towers/about-you", form)
		if p.status != 400 || !strings.Contains(p.body, `role="alert"`) || strings.Contains(p.body, "<b>x</b>") ||
			strings.Count(p.body, `aria-invalid="true"`) != 2 {
			t.Errorf("%s: %d, want the form again with a message", name, p.status)
		}
	}
	if p := e.do(t, c, "POST", "/s/towers/about-you", url.Values{"skip": {"yes"}, "age": {"thirty"}}); p.location != "/s/towers/trial" {
		t.Fatalf("skip goes to %q, want the trial", p.location)
	}
	var age *int
	var gender string
	if err := e.pool.QueryRow(context.Background(), `SELECT age, gender FROM participants`).Scan(&age, &gender); err != nil || age != nil || gender != "" {
		t.Fatalf("after a skip: age %v gender %q (%v); want nothing stored", age, gender, err)
	}
}

var imageRE = regexp.MustCompile(`id="stimulus"[^>]* src="([^"]+)"`)

// Two participants in one browser, one after the other, must not share a
// cached picture: the image address at a position differs between them, and
// each address gives the picture of its own participant's trial.
func TestTrialImagePerParticipant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	c := e.client(t) // one cookie jar: the second join replaces the first session
	src := func() string {
		t.Helper()
		p := e.do(t, c, "GET", "/s/towers/trial", nil)
		m := imageRE.FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("trial page = %d, no image in:\n%s", p.status, p.body)
		}
		return html.UnescapeString(m[1])
	}
	e.join(t, c, 1)
	first := src()
	firstImg := e.do(t, c, "GET", first, nil).body
	e.join(t, c, 2)
	second := src()
	if first == second {
		t.Fatalf("both participants see the picture at %q: a browser cache would show the first one's to the second", first)
	}
	if !strings.HasPrefix(first, "/s/towers/image/1?") || !strings.HasPrefix(second, "/s/towers/image/1?") {
		t.Fatalf("image addresses %q and %q, want position 1 with a query", first, second)
	}
	var differ bool
	if err := e.pool.QueryRow(context.Background(), `SELECT a.stimulus_id <> b.stimulus_id FROM trials a, trials b
		JOIN participants pb ON pb.id = b.participant_id JOIN participants pa ON pa.prolific_pid = $1
		WHERE a.participant_id = pa.id AND a.position = 1 AND pb.prolific_pid = $2 AND b.position = 1`, pid(1), pid(2)).Scan(&differ); err != nil {
		t.Fatal(err)
	}
	if secondImg := e.do(t, c, "GET", second, nil).body; differ && secondImg == firstImg {
		t.Fatal("the second participant's address serves the first one's picture")
	}
}

// The preview's image address names the item it shows, so an edited draft
// never shows an hour-old cached picture.
func TestPreviewImageVersioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	c := e.client(t)
	src := func() string {
		t.Helper()
		p := e.do(t, c, "GET", "/s/towers/preview/trial/1", nil)
		m := imageRE.FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("preview trial = %d:\n%s", p.status, p.body)
		}
		return html.UnescapeString(m[1])
	}
	before := src()
	old := e.do(t, c, "GET", before, nil)
	if old.status != 200 || old.header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s = %d", before, old.status)
	}
	// The draft's list changes: the first item moves to the end, so every
	// position shows another item.
	if _, err := e.pool.Exec(context.Background(), `UPDATE stimuli SET ext_id = 'z' || ext_id WHERE ext_id = 't01'`); err != nil {
		t.Fatal(err)
	}
	after := src()
	if after == before {
		t.Fatalf("the preview's first picture changed but its address %q did not", before)
	}
	if e.do(t, c, "GET", after, nil).body == old.body {
		t.Fatal("the new address serves the old picture")
	}
}

// Declining consent shows the thank-you page and returns the participant at
// once, so their place is free; a "no" after consenting changes nothing.
func TestDeclineConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	status := func(i int) string {
		t.Helper()
		var s string
		if err := e.pool.QueryRow(context.Background(), `SELECT status FROM participants WHERE prolific_pid = $1`, pid(i)).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	c := e.client(t)
	if p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(1), nil); p.location != "/s/towers/consent" {
		t.Fatalf("entry = %d %q", p.status, p.location)
	}
	for range 2 { // the second "no" is a double click
		if p := e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"no"}}); p.status != 200 || !strings.Contains(p.body, "Thank you") {
			t.Fatalf("decline = %d:\n%s", p.status, p.body)
		}
	}
	if s := status(1); s != "returned" {
		t.Errorf("after declining, the participant is %s, want returned", s)
	}
	if p := e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}}); p.status == http.StatusSeeOther && p.location == "/s/towers/instructions" {
		t.Error("a participant who declined could consent afterwards")
	}

	other := e.client(t)
	e.join(t, other, 2)
	if p := e.do(t, other, "POST", "/s/towers/consent", url.Values{"consent": {"no"}}); p.status != http.StatusSeeOther {
		t.Errorf("a \"no\" after consenting = %d, want 303 to the current step", p.status)
	}
	if s := status(2); s != "started" {
		t.Errorf("a \"no\" after consenting made the participant %s", s)
	}
}

// An answer past the time limit, before the sweep has run, is refused with
// a page saying the time is up, and nothing is recorded.
func TestAnswerTimeUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	c := e.client(t)
	e.join(t, c, 1)
	pos := e.trial(t, c)
	pgtest.StartedAgo(t, e.pool, 31*time.Minute)
	p := e.answer(t, c, pos, task.Yes)
	if p.status != http.StatusGone || !strings.Contains(p.body, "Time is up") || !strings.Contains(p.body, "30 minutes") {
		t.Fatalf("answer past the limit = %d:\n%s", p.status, p.body)
	}
	if n := e.count(t, `SELECT count(*) FROM responses`); n != 0 {
		t.Fatalf("%d responses recorded past the limit", n)
	}
}
