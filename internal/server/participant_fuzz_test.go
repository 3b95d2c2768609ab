package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
	"github.com/google/uuid"
)

// The participant forms fuzzed by FuzzParticipantForms.
const (
	formConsent = iota
	formAboutYou
	formAnswer
	nForms
)

// FuzzParticipantForms sends any body to each participant form of a fresh
// participant standing on that form's page, through the real server and
// database. However hostile the body, the server answers without a 5xx and
// stores nothing a valid form could not have stored: no answer but the one
// the form named, for the trial shown, no age outside 18-120, no gender off
// the list. `go test` runs the seeds; `go test -fuzz FuzzParticipantForms`
// explores further.
func FuzzParticipantForms(f *testing.F) {
	for _, s := range []struct {
		form uint8
		body string
	}{
		{formConsent, "consent=yes"}, {formConsent, "consent=no"}, {formConsent, "consent=YES&consent=yes"},
		{formConsent, "consent=%zz"}, {formConsent, ""},
		{formAboutYou, "age=33&gender=Woman"}, {formAboutYou, "skip=yes&age=5"}, {formAboutYou, "age=17"},
		{formAboutYou, "age=121"}, {formAboutYou, "age=3e1"}, {formAboutYou, "gender=%3Cscript%3Ealert(1)%3C/script%3E"},
		{formAboutYou, "age=99999999999999999999999"}, {formAboutYou, "age=%00"},
		{formAnswer, "position=1&answer=Yes&rt=850"}, {formAnswer, "position=1&answer=No"},
		{formAnswer, "position=2&answer=Yes"}, {formAnswer, "position=0&answer=Yes"},
		{formAnswer, "position=-1&answer=No"}, {formAnswer, "position=1&answer=yes"},
		{formAnswer, "position=1&answer=Yes&answer=No"}, {formAnswer, "position=1&answer=%3Cscript%3E"},
		{formAnswer, "position=1&answer=Yes&rt=-5"}, {formAnswer, "position=1%00&answer=Yes"},
		{formAnswer, "position=1&answer=Yes&rt=" + strings.Repeat("9", 40)},
		{formAnswer, "position=1&answer=No&" + strings.Repeat("x", 20<<10)}, // over the 16 KiB limit
		{formAnswer, "%zz"}, {formAnswer, "participant_id=00000000-0000-0000-0000-000000000000&position=1&answer=Yes"},
	} {
		f.Add(s.form, s.body)
	}

	_, pool := pgtest.New(f)
	store := postgres.NewStore(pool)
	pgtest.NewStudy(f, store, "towers", 3)
	// Every input is a new participant: room for as many as a fuzzing run makes.
	pgtest.SetPlaces(f, pool, uuid.Nil, 100000000)
	srv := httptest.NewServer(server.New(server.Config{Store: store}).Handler())
	f.Cleanup(srv.Close)
	e := &env{srv: srv, pool: pool, store: store}
	var next atomic.Int64

	f.Fuzz(func(t *testing.T, form uint8, body string) {
		form %= nForms
		i := int(next.Add(1))
		c := e.client(t)
		if p := e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(i), nil); p.status != http.StatusSeeOther {
			t.Fatalf("entry = %d", p.status)
		}
		path := "/s/towers/consent"
		if form >= formAboutYou {
			e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}})
			path = "/s/towers/about-you"
		}
		if form >= formAnswer {
			e.do(t, c, "POST", "/s/towers/about-you", url.Values{"skip": {"yes"}})
			if pos := e.trial(t, c); pos != 1 {
				t.Fatalf("first trial page shows %d", pos)
			}
			path = "/s/towers/trial"
		}

		p := postRaw(t, c, srv.URL+path, body)
		if p.status >= 500 {
			t.Fatalf("POST %s %q = %d:\n%s", path, body, p.status, p.body)
		}
		if strings.Contains(p.body, "<script>") {
			t.Fatalf("POST %s %q echoed markup:\n%s", path, body, p.body)
		}

		var consented, demographics bool
		var age *int
		var gender string
		var answers int
		if err := pool.QueryRow(context.Background(), `
			SELECT consented_at IS NOT NULL, demographics_at IS NOT NULL, age, gender,
				(SELECT count(*) FROM responses r WHERE r.participant_id = p.id)
			FROM participants p WHERE prolific_pid = $1`, pid(i)).Scan(&consented, &demographics, &age, &gender, &answers); err != nil {
			t.Fatal(err)
		}
		q, qerr := url.ParseQuery(body)
		switch form {
		case formConsent:
			if consented && (qerr != nil || len(body) > 16<<10 || q.Get("consent") != "yes") {
				t.Fatalf("consent recorded from %q", body)
			}
		case formAboutYou:
			if age != nil && (*age < 18 || *age > 120) {
				t.Fatalf("age %d stored from %q", *age, body)
			}
			if gender != "" && !slices.Contains(study.Genders(), gender) {
				t.Fatalf("gender %q stored from %q", gender, body)
			}
		case formAnswer:
			if answers == 0 {
				return
			}
			var pos int
			var answer string
			if err := pool.QueryRow(context.Background(), `SELECT r.position, r.answer FROM responses r
				JOIN participants p ON p.id = r.participant_id WHERE p.prolific_pid = $1`, pid(i)).Scan(&pos, &answer); err != nil {
				t.Fatal(err)
			}
			if answers != 1 || pos != 1 || qerr != nil || q.Get("position") != "1" || answer != q.Get("answer") || !task.ValidAnswer(answer) {
				t.Fatalf("%d answers stored (position %d, %q) from %q", answers, pos, answer, body)
			}
		}
	})
}

// postRaw posts body as a form exactly as given, unencoded.
func postRaw(t *testing.T, c *http.Client, u, body string) response {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), header: resp.Header}
}
