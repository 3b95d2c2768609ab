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
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/task"
)

// setPractice gives the test study n practice trials drawn from a set of
// its own (the study uses every item of its set), and returns that set's name.
func (e *env) setPractice(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	setID, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("practice-set", 7))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE studies SET practice_items = $1, practice_set_id = $2`, n, setID); err != nil {
		t.Fatal(err)
	}
	return "practice-set"
}

// joinPractice opens the link as participant i and walks to the first
// practice trial.
func (e *env) joinPractice(t *testing.T, c *http.Client, i int) {
	t.Helper()
	e.do(t, c, "GET", "/s/towers?PROLIFIC_PID="+pid(i)+"&STUDY_ID=s1&SESSION_ID=x1", nil)
	e.do(t, c, "POST", "/s/towers/consent", url.Values{"consent": {"yes"}})
	if p := e.do(t, c, "GET", "/s/towers/instructions", nil); !strings.Contains(p.body, "practice pictures") {
		t.Fatalf("the instructions do not announce the practice:\n%s", p.body)
	}
	if p := e.do(t, c, "POST", "/s/towers/about-you", url.Values{"skip": {"yes"}}); p.location != "/s/towers/practice" {
		t.Fatalf("about-you = %d %q, want the practice", p.status, p.location)
	}
}

// practiceTruth is the correct answer of participant i's practice trial at pos.
func (e *env) practiceTruth(t *testing.T, i, pos int) string {
	t.Helper()
	var a string
	if err := e.pool.QueryRow(context.Background(), `SELECT s.answer FROM practice_trials pt JOIN participants p ON p.id = pt.participant_id
		JOIN stimuli s ON s.id = pt.stimulus_id WHERE p.prolific_pid = $1 AND pt.position = $2`, pid(i), pos).Scan(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func other(a string) string {
	if a == task.Yes {
		return task.No
	}
	return task.Yes
}

var feedbackRE = regexp.MustCompile(`id="verdict" class="[^"]*">([^<]+)</h1>`)

// TestPractice walks practice trials with plain forms (no JavaScript): they
// come before the real trials, each answer is followed by feedback in the
// task's words, a replay changes nothing, and practice answers count in no
// score, bonus, analysis or export, while the monitor and the answers
// download show them, marked.
func TestPractice(t *testing.T) {
	t.Parallel()
	const n, practice = 4, 2
	e := newEnv(t, n)
	e.setPractice(t, practice)
	c := e.client(t)
	e.joinPractice(t, c, 1)
	if p := e.do(t, c, "GET", "/s/towers/trial", nil); p.location != "/s/towers/practice" {
		t.Fatalf("the trial page during practice = %d %q, want the practice", p.status, p.location)
	}
	if p := e.do(t, c, "GET", "/s/towers/practice/image/2", nil); p.status != http.StatusNotFound {
		t.Fatalf("the second practice picture before the first answer = %d, want 404", p.status)
	}
	for pos := 1; pos <= practice; pos++ {
		page := e.do(t, c, "GET", "/s/towers/practice", nil)
		if page.status != 200 || !strings.Contains(page.body, "Practice "+strconv.Itoa(pos)+" of 2") ||
			!strings.Contains(page.body, `action="/s/towers/practice"`) || !strings.Contains(page.body, task.Tower.Prompt()[:30]) ||
			!strings.Contains(page.body, "Practice answers do not count") || !strings.Contains(page.body, "minutes left") {
			t.Fatalf("practice page %d = %d:\n%s", pos, page.status, page.body)
		}
		if p := e.do(t, c, "GET", "/s/towers/practice/image/"+strconv.Itoa(pos), nil); p.status != 200 {
			t.Fatalf("practice picture %d = %d", pos, p.status)
		}
		truth := e.practiceTruth(t, 1, pos)
		answer := truth
		if pos == 1 {
			answer = other(truth) // the first one wrong
		}
		want := "/s/towers/practice/feedback/" + strconv.Itoa(pos)
		if p := e.answer(t, c, pos, answer); p.location != "" {
			t.Fatalf("a practice answer posted to the trial form was taken: %d %q", p.status, p.location)
		}
		form := url.Values{"position": {strconv.Itoa(pos)}, "answer": {answer}}
		if p := e.do(t, c, "POST", "/s/towers/practice", form); p.status != http.StatusSeeOther || p.location != want {
			t.Fatalf("practice answer %d = %d %q, want %q", pos, p.status, p.location, want)
		}
		// The same answer sent again with the other button changes nothing.
		form.Set("answer", other(answer))
		if p := e.do(t, c, "POST", "/s/towers/practice", form); p.location != want {
			t.Fatalf("replayed practice answer %d = %d %q", pos, p.status, p.location)
		}
		fb := e.do(t, c, "GET", want, nil)
		m := feedbackRE.FindStringSubmatch(fb.body)
		outcome := map[string]string{task.Yes: "this tower falls.", task.No: "this tower stays up."}[truth]
		lead := map[bool]string{true: "Correct: ", false: "Not quite: "}[pos != 1]
		if fb.status != 200 || m == nil || m[1] != lead+outcome {
			t.Fatalf("feedback %d = %d, verdict %v, want %q:\n%s", pos, fb.status, m, lead+outcome, fb.body)
		}
		next := map[bool]string{true: `href="/s/towers/trial">Start the study`, false: `href="/s/towers/practice">Next practice picture`}[pos == practice]
		if !strings.Contains(fb.body, next) {
			t.Fatalf("feedback %d does not lead on with %q:\n%s", pos, next, fb.body)
		}
	}
	if d := e.count(t, `SELECT count(*) FROM participant_devices d JOIN participants p ON p.id = d.participant_id WHERE p.prolific_pid = $1`, pid(1)); d != 1 {
		t.Errorf("no device recorded from the practice answers")
	}
	if p := e.do(t, c, "GET", "/s/towers/practice", nil); p.location != "/s/towers/trial" {
		t.Fatalf("the practice page after the practice = %d %q", p.status, p.location)
	}
	for pos := 1; pos <= n; pos++ {
		if got := e.trial(t, c); got != pos {
			t.Fatalf("trial page shows %d, want %d", got, pos)
		}
		e.answer(t, c, pos, e.truth(t, 1, pos))
	}
	var nTrials, nCorrect, nPractice, answered int
	var bonus int64
	if err := e.pool.QueryRow(context.Background(), `SELECT n_trials, n_correct, bonus_minor, n_practice, n_practice_answered
		FROM participants WHERE prolific_pid = $1`, pid(1)).Scan(&nTrials, &nCorrect, &bonus, &nPractice, &answered); err != nil {
		t.Fatal(err)
	}
	if nTrials != n || nCorrect != n || bonus != int64(10*(n-1)) || nPractice != practice || answered != practice {
		t.Fatalf("trials %d correct %d bonus %d practice %d/%d", nTrials, nCorrect, bonus, answered, nPractice)
	}
	if r := e.count(t, `SELECT count(*) FROM responses`); r != n {
		t.Fatalf("%d responses, want %d (practice kept apart)", r, n)
	}
	// The analysis sees the real answers only.
	m, info, err := e.store.LoadMatrix(context.Background(), postgres.MatrixSelection{StudyID: e.study.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != n || info.Humans != 1 {
		t.Fatalf("analysis: %d items, %d people; want %d and 1", len(m.Items), info.Humans, n)
	}

	admin, _ := e.adminClient(t)
	base := "/admin/studies/" + e.study.ID.String()
	if p := e.do(t, admin, "GET", base+"/monitor", nil); !strings.Contains(p.body, "practice 2/2, 1 right") {
		t.Errorf("the monitor does not show the practice:\n%s", p.body)
	}
	rows, err := csv.NewReader(strings.NewReader(e.do(t, admin, "GET", base+"/answers.csv", nil).body)).ReadAll()
	if err != nil || len(rows) != n+practice+1 {
		t.Fatalf("answers.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, r := range rows[1:] {
		if want := strconv.FormatBool(i < practice); r[col["practice"]] != want {
			t.Errorf("answers.csv row %d: practice %q, want %q", i+1, r[col["practice"]], want)
		}
	}
	participants := e.do(t, admin, "GET", base+"/participants.csv", nil).body
	prow, _ := csv.NewReader(strings.NewReader(participants)).ReadAll()
	if len(prow) != 2 || prow[1][9] != strconv.Itoa(n) {
		t.Fatalf("participants.csv counts practice answers: %v", prow)
	}
	pcol := map[string]string{}
	for i, h := range prow[0] {
		pcol[h] = prow[1][i]
	}
	if pcol["n_practice"] != "2" || pcol["practice_answered"] != "2" || pcol["practice_correct"] != "1" || pcol["n_correct"] != strconv.Itoa(n) {
		t.Errorf("participants.csv practice columns: %v", pcol)
	}
	form := e.do(t, admin, "GET", base+"/edit", nil).body
	if !strings.Contains(form, `name="practice"`) || !strings.Contains(form, `name="practice_set"`) || !strings.Contains(form, "Pick practice items") {
		t.Errorf("the study form lacks the practice settings")
	}

	t.Run("Preview", func(t *testing.T) {
		c := e.client(t)
		if p := e.do(t, c, "GET", "/s/towers/preview/instructions?consent=yes", nil); !strings.Contains(p.body, `href="/s/towers/preview/practice/1"`) {
			t.Fatalf("the preview's instructions do not lead to the practice:\n%s", p.body)
		}
		p := e.do(t, c, "GET", "/s/towers/preview/practice/1", nil)
		if p.status != 200 || !strings.Contains(p.body, "Practice 1 of 2") || !strings.Contains(p.body, `action="/s/towers/preview/practice/answer"`) {
			t.Fatalf("preview practice = %d:\n%s", p.status, p.body)
		}
		if p := e.do(t, c, "GET", "/s/towers/preview/practice/image/1", nil); p.status != 200 {
			t.Fatalf("preview practice picture = %d", p.status)
		}
		if p := e.do(t, c, "GET", "/s/towers/preview/practice/answer?position=2&answer=No", nil); p.location != "/s/towers/preview/practice/feedback/2?answer=No" {
			t.Fatalf("preview practice answer goes to %q", p.location)
		}
		fb := e.do(t, c, "GET", "/s/towers/preview/practice/feedback/2?answer=No", nil)
		if fb.status != 200 || feedbackRE.FindStringSubmatch(fb.body) == nil || !strings.Contains(fb.body, `href="/s/towers/preview/trial/1">Start the study`) {
			t.Fatalf("preview feedback = %d:\n%s", fb.status, fb.body)
		}
	})

	t.Run("Picked", func(t *testing.T) {
		// Practice items picked from the study's own set are left out of the trials.
		if _, err := e.pool.Exec(context.Background(), `UPDATE studies SET practice_set_id = NULL, practice_items = 2,
			practice_ids = ARRAY(SELECT id FROM stimuli WHERE set_id = $1 AND ext_id IN ('t01', 't02'))`, e.study.SetID); err != nil {
			t.Fatal(err)
		}
		c := e.client(t)
		e.joinPractice(t, c, 2)
		var trials, overlap, practiceN int
		if err := e.pool.QueryRow(context.Background(), `SELECT p.n_trials, p.n_practice,
			(SELECT count(*) FROM trials t JOIN practice_trials pt ON pt.participant_id = t.participant_id AND pt.stimulus_id = t.stimulus_id
			 WHERE t.participant_id = p.id)
			FROM participants p WHERE p.prolific_pid = $1`, pid(2)).Scan(&trials, &practiceN, &overlap); err != nil {
			t.Fatal(err)
		}
		if trials != n-2 || practiceN != 2 || overlap != 0 {
			t.Fatalf("picked practice: %d trials (want %d), %d practice, %d shared", trials, n-2, practiceN, overlap)
		}
	})

	t.Run("TimeUp", func(t *testing.T) {
		c := e.client(t)
		e.joinPractice(t, c, 3)
		e.do(t, c, "GET", "/s/towers/practice", nil)
		pgtest.StartedAgo(t, e.pool, 31*time.Minute)
		if p := e.do(t, c, "POST", "/s/towers/practice", url.Values{"position": {"1"}, "answer": {"Yes"}}); p.status != http.StatusGone {
			t.Fatalf("a practice answer past the limit = %d, want 410", p.status)
		}
		if p := e.do(t, c, "GET", "/s/towers/practice", nil); p.location != "/s/towers/time-up" {
			t.Fatalf("the practice page past the limit = %d %q", p.status, p.location)
		}
	})
}

// TestBrowserPractice: practice trials and their feedback in a real
// browser, with the trial page's gating, pass axe-core and fit every
// screen; then the same without JavaScript, by plain forms.
func TestBrowserPractice(t *testing.T) {
	t.Parallel()
	const n, practice = 2, 2
	e := newEnv(t, n)
	e.setPractice(t, practice)
	ctx := browser(t)
	browserJoin(t, ctx, e, 1)
	step(t, ctx, "about you", chromedp.Click("button[name=skip][value=yes]"))
	for pos := 1; pos <= practice; pos++ {
		label := "Practice " + strconv.Itoa(pos) + " of 2"
		waitFor(t, ctx, label, `(() => {
			const l = document.getElementById("progress-label"), i = document.getElementById("stimulus"), f = document.getElementById("answer");
			return !!(l && l.textContent.trim() === "`+label+`" && i && i.complete && i.naturalWidth > 0 && f && f.dataset.state === "ready");
		})()`)
		if pos == 1 {
			checkAccessibility(t, ctx, "practice trial")
			screenshots(t, ctx, "practice", true)
		}
		truth := e.practiceTruth(t, 1, pos)
		answer := truth
		if pos == 1 {
			answer = other(truth)
		}
		step(t, ctx, "practice answer", chromedp.KeyEvent(map[string]string{task.Yes: "y", task.No: "n"}[answer]))
		waitFor(t, ctx, "feedback", `!!document.getElementById("verdict") && document.readyState === "complete" && document.querySelector(".feedback-picture").naturalWidth > 0`)
		verdict, _ := run(ctx, chromedp.Text("#verdict"))
		if (pos == 1) != strings.HasPrefix(verdict, "Not quite: ") {
			t.Errorf("feedback %d says %q", pos, verdict)
		}
		// The second half of a double click does not skip the feedback.
		step(t, ctx, "double click's second half", void(chromedp.Evaluate[bool](
			`document.getElementById("continue").dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, detail: 2})), true`)))
		time.Sleep(200 * time.Millisecond)
		if still, _ := run(ctx, chromedp.Evaluate[bool](`!!document.getElementById("verdict")`)); !still {
			t.Fatal("a second click left the feedback page")
		}
		name := map[bool]string{true: "feedback-wrong", false: "feedback-right"}[pos == 1]
		checkAccessibility(t, ctx, name)
		screenshots(t, ctx, name, false)
		continueReady(t, ctx)
		step(t, ctx, "continue", chromedp.Click("#continue"))
	}
	waitTrial(t, ctx, 1, n)
	if got := e.answers(t, 1); len(got) != 0 {
		t.Fatalf("practice stored as answers: %v", got)
	}

	scripts(t, ctx, false)
	browserJoin(t, ctx, e, 2)
	step(t, ctx, "about you (no script)", chromedp.Click("button[name=skip][value=yes]"))
	for pos := 1; pos <= practice; pos++ {
		label := "Practice " + strconv.Itoa(pos) + " of 2"
		waitFor(t, ctx, "plain "+label, `(document.getElementById("progress-label") || {textContent: ""}).textContent.trim() === "`+label+`" &&
			!!document.querySelector(".answers:not(.scripted) button[value=Yes]") && document.readyState === "complete"`)
		step(t, ctx, "plain practice answer", chromedp.Click(".answers:not(.scripted) button[value=Yes]"))
		waitFor(t, ctx, "plain feedback", `!!document.getElementById("continue") && document.readyState === "complete" &&
			document.querySelector(".feedback-progress").textContent === "`+label+`"`)
		step(t, ctx, "continue (no script)", chromedp.Click("#continue"))
	}
	waitFor(t, ctx, "trial 1 without script", `(document.getElementById("progress-label") || {}).textContent === "1 of 2"`)
	if c := e.count(t, `SELECT count(*) FROM practice_trials pt JOIN participants p ON p.id = pt.participant_id
		WHERE p.prolific_pid = $1 AND pt.answer = 'Yes' AND pt.timed = false`, pid(2)); c != practice {
		t.Fatalf("%d plain practice answers stored as untimed, want %d", c, practice)
	}
}
