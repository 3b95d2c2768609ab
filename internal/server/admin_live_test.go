package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/prolific/prolifictest"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

var liveRowRE = regexp.MustCompile(`<th scope="row">([^<]*)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>`)

// liveRows reads the live panel's rows: measure -> "estimate|interval|width".
func liveRows(page string) map[string]string {
	out := map[string]string{}
	for _, m := range liveRowRE.FindAllStringSubmatch(page, -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2] + "|" + m[3] + "|" + m[4])
	}
	return out
}

// liveFinish joins person k to the study and answers every trial, person k
// answering item i rightly with probability right(k).
func liveFinish(t *testing.T, e *adminEnv, st study.Study, k int, rng *rand.Rand, right float64) {
	t.Helper()
	ctx := context.Background()
	tok := sha256.Sum256([]byte(fmt.Sprint("live", k)))
	p, err := e.store.Join(ctx, st, prolific.Params{PID: pid(700 + k)}, int64(k), tok[:])
	if err != nil {
		t.Fatal(err)
	}
	liveAnswerAll(t, e, p, rng, right)
}

func liveAnswerAll(t *testing.T, e *adminEnv, p study.Participant, rng *rand.Rand, right float64) {
	t.Helper()
	ctx := context.Background()
	for pos := 1; pos <= p.NTrials; pos++ {
		if _, err := e.store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		var truth string
		if err := e.store.Pool().QueryRow(ctx, `SELECT s.answer FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&truth); err != nil {
			t.Fatal(err)
		}
		a := truth
		if rng != nil && rng.Float64() >= right {
			a = map[string]string{task.Yes: task.No, task.No: task.Yes}[truth]
		}
		if _, err := e.store.Answer(ctx, p.ID, pos, a, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// liveExpected is the panel's rows computed from scratch: the whole matrix
// read again and analysed with the live options (2,000 resamples, the
// report's seed 0). The people are put in the order they finished, as the
// live comparison meets them: the bootstrap draws units by their place, so
// the report (people in the order they started) can differ from the panel
// in its intervals' last digits when someone who started earlier finished
// later.
func liveExpected(t *testing.T, e *adminEnv, st study.Study) map[string]string {
	t.Helper()
	m, _, err := e.store.LoadMatrix(context.Background(), postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := e.store.Pool().Query(context.Background(), `SELECT id::text FROM participants WHERE study_id = $1
		AND completed_at IS NOT NULL ORDER BY completed_at, id`, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	order, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	rank := map[string]int{}
	for i, id := range order {
		rank[id] = i
	}
	slices.SortStableFunc(m.Observers, func(a, b analysis.Observer) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return rank[a.ID] - rank[b.ID]
	})
	rep, err := analysis.Analyze(m, analysis.Options{Resamples: 2000, Seed: 0, Grouping: analysis.ByTask})
	if err != nil {
		t.Fatal(err)
	}
	g := rep.Groups[0]
	f3 := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	est := func(e analysis.Estimate) string {
		if !e.Defined {
			return "undefined|–|–"
		}
		return f3(e.Mean) + "|" + f3(e.Lo) + " to " + f3(e.Hi) + "|" + f3(e.Hi-e.Lo)
	}
	a := g.HumanAccuracy
	out := map[string]string{
		"People's accuracy": f3(a.P) + "|" + f3(a.Lo) + " to " + f3(a.Hi) + "|" + f3(a.Hi-a.Lo),
		"Human-human kappa": est(g.HumanHuman),
	}
	for _, mo := range g.Models {
		out["Model-human kappa: "+mo.Model+" ("+mo.Condition+")"] = est(mo.ModelHuman)
	}
	return out
}

// TestLivePanelFollowsCompletions feeds completions one at a time to a
// linked fixed study with an imported model: after each, the study's live
// panel (its fragment, as the page's script fetches it) shows what a full
// recomputation gives, from one read of the matrix and then only the new
// people. A stopping rule on human-human kappa with target 2 (met by any
// defined interval) fires when the tenth person finishes, by the watcher
// alone: the study is paused, logged, Prolific gets one PAUSE, and new
// joins are refused; a person already working finishes and counts, and
// neither further completions nor more polls pause again.
func TestLivePanelFollowsCompletions(t *testing.T) {
	t.Parallel()
	e := newProEnv(t, false)
	ctx := context.Background()
	st := pgtest.NewStudy(t, e.store, "live", 12)
	var b strings.Builder
	b.WriteString("model,condition,seed,stimulus_id,p_yes\n")
	for i := 1; i <= 12; i++ {
		p := 0.8
		if i%3 == 0 {
			p = 0.2
		}
		fmt.Fprintf(&b, "vlm,base,0,t%02d,%v\n", i, p)
	}
	rows, err := modelout.Parse(strings.NewReader(b.String()), modelout.Options{Name: "vlm.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ImportModelOutputs(ctx, postgres.ModelImport{Set: "live-set", SourceFile: "vlm.csv", Rows: rows}); err != nil {
		t.Fatal(err)
	}
	proStudy := e.ps.AddStudy("Live", 20)
	base := "/admin/studies/" + st.ID.String()
	if r := e.form(t, base+"/prolific/link", url.Values{"prolific_study_id": {proStudy}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("link = %d", r.StatusCode)
	}
	c, err := prolific.NewClient(prolific.ClientConfig{Token: prolifictest.Token, BaseURL: e.ps.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishStudy(ctx, proStudy); err != nil {
		t.Fatal(err)
	}

	// Refused by field name.
	for _, bad := range []url.Values{{"stop_measure": {"human_human"}, "stop_width": {"wide"}}, {"stop_measure": {"human_human"}, "stop_width": {"0"}},
		{"stop_measure": {"nope"}, "stop_width": {"0.1"}}} {
		resp, page := e.formBody(t, base+"/stop-rule", bad)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Target interval width") && !strings.Contains(page, "Measure:") {
			t.Errorf("rule %v: %d\n%s", bad, resp.StatusCode, page)
		}
	}
	if r := e.form(t, base+"/stop-rule", url.Values{"stop_measure": {"human_human"}, "stop_width": {"2"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop rule = %d", r.StatusCode)
	}

	rng := rand.New(rand.NewPCG(18, 18))
	transition := "POST /api/v1/studies/" + proStudy + "/transition/"
	before := e.ps.Calls(transition)
	rebuilds := e.server.LiveRebuilds()
	var late study.Participant
	for k := range 13 {
		if k == 9 {
			// Joins before the rule fires, finishes after.
			tok := sha256.Sum256([]byte("late"))
			if late, err = e.store.Join(ctx, st, prolific.Params{PID: pid(799)}, 99, tok[:]); err != nil {
				t.Fatal(err)
			}
		}
		if k < 10 {
			liveFinish(t, e.adminEnv, st, k, rng, 0.55+0.04*float64(k%5))
		} else if k == 11 {
			liveAnswerAll(t, e.adminEnv, late, rng, 0.7)
		}
		if k == 9 {
			// The tenth person: the watcher alone pauses the study within 2 s.
			deadline := time.Now().Add(2 * time.Second)
			for {
				if err := e.server.LiveWatchOnce(ctx); err != nil {
					t.Fatal(err)
				}
				cur, err := e.store.StudyByID(ctx, st.ID)
				if err != nil {
					t.Fatal(err)
				}
				if cur.Status == study.Paused {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("study still %s 2 s after the tenth completion", cur.Status)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		resp, page := e.get(t, e.admin, base+"/live")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("live = %d", resp.StatusCode)
		}
		got, want := liveRows(page), liveExpected(t, e.adminEnv, st)
		if len(want) != 3 {
			t.Fatalf("expected rows %v", want)
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("after %d people: %s = %q, recomputed %q", k+1, name, got[name], w)
			}
		}
		if k < 9 && strings.Contains(page, `id="stop-fired"`) {
			t.Fatalf("the rule fired after %d people", k+1)
		}
	}
	if n := e.server.LiveRebuilds() - rebuilds; n != 1 {
		t.Errorf("%d full reads of the live comparison, want 1 (then only new completions)", n)
	}
	if err := e.server.LiveWatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.ps.Calls(transition) - before; n != 1 {
		t.Errorf("Prolific got %d transitions, want one PAUSE", n)
	}
	if ps, _ := e.ps.Study(proStudy); ps.Status != "PAUSED" {
		t.Errorf("Prolific study %s, want PAUSED", ps.Status)
	}
	_, page := e.get(t, e.admin, base)
	for _, s := range []string{"by the stopping rule: the 95% interval of human-human kappa", "paused by the stopping rule", `id="stop-fired"`} {
		if !strings.Contains(html.UnescapeString(page), s) {
			t.Errorf("study page lacks %q", s)
		}
	}
	var logged int
	if err := e.store.Pool().QueryRow(ctx, `SELECT count(*) FROM study_changes WHERE study_id = $1 AND what LIKE '%by the stopping rule:%'`, st.ID).Scan(&logged); err != nil || logged != 1 {
		t.Errorf("%d automatic stops logged (%v), want 1", logged, err)
	}
	// New people are turned away with the paused study's page.
	session := e.ps.Start(proStudy, pid(900))
	joinURL := "/s/live?" + url.Values{prolific.ParamPID: {pid(900)}, prolific.ParamStudyID: {proStudy},
		prolific.ParamSessionID: {session}}.Encode()
	resp, page := e.get(t, noRedirects(), joinURL)
	if resp.StatusCode != http.StatusGone || !strings.Contains(page, "not taking new participants") {
		t.Errorf("a join to the paused study = %d, want 410 with the paused page:\n%s", resp.StatusCode, page)
	}
}

// TestStopRuleProlificRefuses: when Prolific refuses the PAUSE, the study
// is paused here all the same and its log says that Prolific was not, and
// what to do; the rule does not try again.
func TestStopRuleProlificRefuses(t *testing.T) {
	t.Parallel()
	e := newProEnv(t, false)
	ctx := context.Background()
	st := pgtest.NewStudy(t, e.store, "stopfail", 4)
	proStudy := e.ps.AddStudy("Stop fail", 20)
	base := "/admin/studies/" + st.ID.String()
	if r := e.form(t, base+"/prolific/link", url.Values{"prolific_study_id": {proStudy}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("link = %d", r.StatusCode)
	}
	c, err := prolific.NewClient(prolific.ClientConfig{Token: prolifictest.Token, BaseURL: e.ps.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishStudy(ctx, proStudy); err != nil {
		t.Fatal(err)
	}
	if r := e.form(t, base+"/stop-rule", url.Values{"stop_measure": {"accuracy"}, "stop_width": {"1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop rule = %d", r.StatusCode)
	}
	for k := range 10 {
		liveFinish(t, e.adminEnv, st, k, nil, 1)
	}
	transition := "POST /api/v1/studies/" + proStudy + "/transition/"
	e.ps.Fail(transition, 1, http.StatusForbidden, "")
	for range 2 {
		if err := e.server.LiveWatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if cur, err := e.store.StudyByID(ctx, st.ID); err != nil || cur.Status != study.Paused || cur.StopFiredAt == nil {
		t.Fatalf("study after the rule: %+v %v", cur, err)
	}
	if ps, _ := e.ps.Study(proStudy); ps.Status != "ACTIVE" {
		t.Errorf("Prolific study %s, want still ACTIVE after the refusal", ps.Status)
	}
	if n := e.ps.Calls(transition); n != 2 { // PUBLISH, then the one refused PAUSE
		t.Errorf("%d transitions, want PUBLISH and one PAUSE", n)
	}
	_, page := e.get(t, e.admin, base)
	if !strings.Contains(html.UnescapeString(page), "Prolific study "+proStudy+" was not paused (") {
		t.Errorf("the study's log does not say Prolific was not paused")
	}
}
