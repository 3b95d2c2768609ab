package server_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// adminClient logs an experimenter in on e's server and returns the client
// and its CSRF token.
func (e *env) adminClient(t *testing.T) (*http.Client, string) {
	t.Helper()
	hash, err := account.Hash(adminPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateAdmin(context.Background(), adminEmail, hash); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	m := csrfRE.FindStringSubmatch(e.do(t, c, "GET", "/admin/login", nil).body)
	if m == nil {
		t.Fatal("login page has no CSRF field")
	}
	req := url.Values{"csrf": {m[1]}, "email": {adminEmail}, "password": {adminPassword}}
	if p := e.doOrigin(t, c, "/admin/login", req); p.status != http.StatusSeeOther {
		t.Fatalf("login = %d", p.status)
	}
	m = csrfRE.FindStringSubmatch(e.do(t, c, "GET", "/admin/", nil).body)
	if m == nil {
		t.Fatal("logged in, but no CSRF field")
	}
	return c, m[1]
}

// doOrigin posts a form with this site's Origin, as a browser does.
func (e *env) doOrigin(t *testing.T, c *http.Client, path string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header}
}

var instructedRE = regexp.MustCompile(`For this picture, please press (Yes|No)\.`)

// setChecks gives the env's study n instructed-response checks per participant.
func (e *env) setChecks(t *testing.T, n int) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), `UPDATE studies SET instructed_checks = $1`, n); err != nil {
		t.Fatal(err)
	}
}

// TestInstructedChecks: a study with instructed-response checks gives each
// participant that many extra trials whose prompt names the button to
// press; they are scored against that answer, left out of the score and
// the bonus, and their kind shows in the monitor and the answers download.
func TestInstructedChecks(t *testing.T) {
	t.Parallel()
	const n, checks = 6, 2
	e := newEnv(t, n)
	e.setChecks(t, checks)
	c := e.client(t)
	e.join(t, c, 1)
	var demanded []string
	if err := e.pool.QueryRow(context.Background(), `SELECT array_agg(t.instructed_answer ORDER BY t.instructed_answer)
		FROM trials t JOIN participants p ON p.id = t.participant_id
		WHERE p.prolific_pid = $1 AND t.instructed_answer IS NOT NULL AND t.is_attention_check`, pid(1)).Scan(&demanded); err != nil {
		t.Fatal(err)
	}
	if strings.Join(demanded, ",") != "No,Yes" {
		t.Fatalf("instructed checks demand %v, want one No and one Yes", demanded)
	}
	failed := false
	for pos := 1; pos <= n+checks; pos++ {
		page := e.do(t, c, "GET", "/s/towers/trial", nil)
		m := instructedRE.FindStringSubmatch(page.body)
		answer := e.truth(t, 1, pos)
		if m != nil {
			answer = m[1]
			if !failed {
				// Fail the first check: press the other button.
				answer, failed = map[string]string{task.Yes: task.No, task.No: task.Yes}[m[1]], true
			}
		}
		if !strings.Contains(page.body, task.Tower.Prompt()[:30]) {
			t.Fatalf("trial %d lacks the task's prompt", pos)
		}
		e.answer(t, c, pos, answer)
	}
	if !failed {
		t.Fatal("no trial asked for a button")
	}
	var nCorrect, nTrials int
	var bonus int64
	if err := e.pool.QueryRow(context.Background(), `SELECT n_correct, n_trials, bonus_minor FROM participants WHERE prolific_pid = $1`,
		pid(1)).Scan(&nCorrect, &nTrials, &bonus); err != nil {
		t.Fatal(err)
	}
	if nTrials != n+checks || nCorrect != n || bonus != int64(10*(n-1)) {
		t.Fatalf("n_trials %d, n_correct %d, bonus %d; want %d, %d (checks not counted), %d (capped)", nTrials, nCorrect, bonus, n+checks, n, 10*(n-1))
	}
	if f := e.count(t, `SELECT count(*) FROM responses r JOIN trials t USING (participant_id, position)
		WHERE t.instructed_answer IS NOT NULL AND NOT r.correct`); f != 1 {
		t.Errorf("%d instructed checks stored as failed, want 1", f)
	}

	// The rule instructed>=1 leaves the participant out of the analysis.
	rule, err := study.ParseExclusion("instructed>=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, info, err := e.store.LoadMatrix(context.Background(), postgres.MatrixSelection{StudyID: e.study.ID, Exclude: &rule}); err != nil ||
		len(info.Excluded) != 1 || info.Humans != 0 {
		t.Errorf("instructed>=1: excluded %v, humans %d (%v); want the participant out", info.Excluded, info.Humans, err)
	}

	// The preview shows the checks too, where a participant of seed 0 has them.
	asked := 0
	for pos := 1; pos <= n+checks; pos++ {
		if instructedRE.MatchString(e.do(t, e.client(t), "GET", "/s/towers/preview/trial/"+strconv.Itoa(pos), nil).body) {
			asked++
		}
	}
	if asked != checks {
		t.Errorf("the preview asks for a button on %d trials, want %d", asked, checks)
	}

	admin, _ := e.adminClient(t)
	base := "/admin/studies/" + e.study.ID.String()
	monitor := e.do(t, admin, "GET", base+"/monitor", nil)
	if !strings.Contains(monitor.body, "(1 instructed)") {
		t.Errorf("the monitor does not name the failed check's kind:\n%s", monitor.body)
	}
	answers := e.do(t, admin, "GET", base+"/answers.csv", nil)
	rows, err := csv.NewReader(strings.NewReader(answers.body)).ReadAll()
	if err != nil || len(rows) != n+checks+1 {
		t.Fatalf("answers.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	kinds := map[string]int{}
	for _, r := range rows[1:] {
		kinds[r[col["check_kind"]]]++
		if r[col["check_kind"]] == string(study.CheckInstructed) && r[col["correct_answer"]] != r[col["instructed_answer"]] {
			t.Errorf("an instructed check's correct answer %q is not the demanded %q", r[col["correct_answer"]], r[col["instructed_answer"]])
		}
	}
	if kinds[""] != n || kinds["instructed"] != checks {
		t.Errorf("answers.csv check kinds %v, want %d plain and %d instructed", kinds, n, checks)
	}
	prow, _ := csv.NewReader(strings.NewReader(e.do(t, admin, "GET", base+"/participants.csv", nil).body)).ReadAll()
	if len(prow) != 2 {
		t.Fatalf("participants.csv: %v", prow)
	}
	for i, h := range prow[0] {
		if want := map[string]string{"attention_checks": "2", "attention_failed": "1", "instructed_failed": "1"}[h]; want != "" && prow[1][i] != want {
			t.Errorf("participants.csv %s = %q, want %q", h, prow[1][i], want)
		}
	}
	form := e.do(t, admin, "GET", base+"/edit", nil)
	if !strings.Contains(form.body, `name="instructed"`) || !strings.Contains(form.body, "reject a submission for failed <strong>instructed-response</strong> checks only") {
		t.Errorf("the study form lacks the instructed checks setting or the Prolific rule")
	}
}
