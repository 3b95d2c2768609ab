package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// answeredStudy makes a published fixed study on a new set of n towers (item
// ti's truth is Yes when i is odd, as pgtest.TowerSet makes it) and has
// people participants finish it, person k answering item i as answer(k, i,
// truth) says; model, when not nil, gives a model's P(Yes) per item,
// imported as one run of "vlm".
func answeredStudy(t *testing.T, e *adminEnv, slug string, n, people int, answer func(k, i int, truth string) string, model func(i int) float64) study.Study {
	t.Helper()
	ctx := context.Background()
	st := pgtest.NewStudy(t, e.store, slug, n)
	for k := range people {
		tok := sha256.Sum256([]byte(fmt.Sprint(slug, k)))
		p, err := e.store.Join(ctx, st, prolific.Params{PID: pid(300 + k)}, int64(k), tok[:])
		if err != nil {
			t.Fatal(err)
		}
		for pos := 1; pos <= p.NTrials; pos++ {
			if _, err := e.store.ShowTrial(ctx, p, pos); err != nil {
				t.Fatal(err)
			}
			var ext string
			if err := e.store.Pool().QueryRow(ctx, `SELECT s.ext_id FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
				WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&ext); err != nil {
				t.Fatal(err)
			}
			var i int
			fmt.Sscanf(ext, "t%d", &i)
			truth := []string{task.Yes, task.No}[(i-1)%2]
			if _, err := e.store.Answer(ctx, p.ID, pos, answer(k, i, truth), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if model != nil {
		var b strings.Builder
		b.WriteString("model,condition,seed,stimulus_id,p_yes\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "vlm,base,0,t%02d,%v\n", i, model(i))
		}
		rows, err := modelout.Parse(strings.NewReader(b.String()), modelout.Options{Name: "vlm.csv"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.ImportModelOutputs(ctx, postgres.ModelImport{Set: slug + "-set", SourceFile: "vlm.csv", Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

var (
	planNeededRE = regexp.MustCompile(`id="plan-needed">(\d+) participants<`)
	inputValueRE = func(name string) *regexp.Regexp {
		return regexp.MustCompile(`name="` + name + `" type="[a-z]+" step="[^"]*" inputmode="decimal" value="([^"]*)"`)
	}
)

// TestAdminPlan opens the planner: its answer is the analysis package's, the
// budget buys what the pay says, bad numbers are refused by name, and a
// pilot's report fills the form.
func TestAdminPlan(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	if _, token := e.login(t, c, adminPassword); token == "" {
		t.Fatal("login failed")
	}
	resp, body := e.get(t, c, "/admin/plan")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<figure id="plan-curve"><svg`) || !strings.Contains(body, `id="plan-needed"`) {
		t.Fatalf("planner with defaults: %d\n%s", resp.StatusCode, body)
	}

	q := url.Values{"human_accuracy": {"0.65"}, "model_accuracy": {"0.8"}, "items": {"120"}, "target": {"0.06"},
		"budget": {"500.00"}, "base": {"2.00"}, "per_correct": {"0.01"}, "max_bonus": {"1.00"}, "currency": {"GBP"}, "seed": {"7"}}
	resp, body = e.get(t, c, "/admin/plan?"+q.Encode())
	m := planNeededRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("plan: %d\n%s", resp.StatusCode, body)
	}
	want, ok, err := analysis.ParticipantsFor(analysis.PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120, Seed: 7}, 0.06)
	if err != nil || !ok || m[1] != fmt.Sprint(want.Participants) {
		t.Errorf("page says %s participants, the planner %d (%v, %v)", m[1], want.Participants, ok, err)
	}
	// Pay: 2.00 base and 120 x 0.65 x 0.01 = 0.78 expected bonus, 2.78 a
	// person; 500.00 buys 179 of them.
	for _, s := range []string{"£2.78 a participant", "A budget of £500.00: 179 participants", fmt.Sprintf("cost £%.2f", float64(want.Participants)*2.78)} {
		if !strings.Contains(html.UnescapeString(body), s) {
			t.Errorf("plan lacks %q", s)
		}
	}

	t.Run("Refused", func(t *testing.T) {
		for _, tc := range []struct {
			edit url.Values
			msg  string
		}{
			{url.Values{"human_accuracy": {"1.5"}}, "The human accuracy: 1.5 is not strictly between 0 and 1."},
			{url.Values{"model_human": {"0.2"}}, "set the human-human kappa above 0"},
			{url.Values{"items": {"many"}}, `The number of items must be a whole number, not "many".`},
			{url.Values{"target": {"0"}}, "The target width must be above 0"},
			{url.Values{"budget": {"lots"}}, "The budget must be an amount like 2.50"},
			{url.Values{"participants": {"100000"}}, "The participants to price must be from 5 to 2000"},
			{url.Values{"measure": {"accuracy"}}, `The measure: "accuracy" is none of`},
			{url.Values{"currency": {"XBT"}}, "Choose a currency"},
		} {
			q2 := url.Values{}
			for k, v := range q {
				q2[k] = v
			}
			for k, v := range tc.edit {
				q2[k] = v
			}
			resp, body := e.get(t, c, "/admin/plan?"+q2.Encode())
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), tc.msg) || strings.Contains(body, `id="plan-result"`) {
				t.Errorf("%v: %d, want 400 with %q", tc.edit, resp.StatusCode, tc.msg)
			}
			// The form comes back as sent.
			for k, v := range tc.edit {
				if r := inputValueRE(k); r.MatchString(body) && r.FindStringSubmatch(body)[1] != html.EscapeString(v[0]) {
					t.Errorf("%s came back as %q", k, r.FindStringSubmatch(body)[1])
				}
			}
		}
		if resp, body := e.get(t, c, "/admin/plan?pilot=nope&from_pilot=1"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "There is no such pilot study.") {
			t.Errorf("unknown pilot: %d", resp.StatusCode)
		}
	})

	t.Run("Pilot", func(t *testing.T) {
		// Ten people on 12 towers: person k is wrong on items where (i + k) % 4
		// == 0 and everyone on t05 and t06; the model is wrong on t05, t06, t07.
		st := answeredStudy(t, e, "pilot", 12, 10, func(k, i int, truth string) string {
			if (i+k)%4 == 0 || i == 5 || i == 6 {
				return map[string]string{task.Yes: task.No, task.No: task.Yes}[truth]
			}
			return truth
		}, func(i int) float64 {
			yes := i%2 == 1
			if i >= 5 && i <= 7 {
				yes = !yes
			}
			if yes {
				return 0.9
			}
			return 0.1
		})
		resp, body := e.get(t, c, "/admin/plan?pilot="+st.ID.String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="plan-model"`) || strings.Contains(body, `id="plan-pilot-notes"`) {
			t.Fatalf("pilot chosen, not yet taken: %d\n%s", resp.StatusCode, body)
		}
		resp, body = e.get(t, c, "/admin/plan?from_pilot=1&target=0.2&pilot="+st.ID.String())
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="plan-pilot-notes"`) || !strings.Contains(body, "Pilot pilot: 10 people, 12 items") {
			t.Fatalf("pilot taken: %d\n%s", resp.StatusCode, body)
		}
		// The report's numbers, rounded to three decimals, are the form's.
		rep, err := analysis.Analyze(mustMatrix(t, e, st), analysis.Options{Grouping: analysis.ByTask})
		if err != nil {
			t.Fatal(err)
		}
		g := rep.Groups[0]
		for name, v := range map[string]float64{
			"human_accuracy": g.HumanAccuracy.P, "human_human": g.HumanHuman.Mean,
			"model_accuracy": g.Models[0].Accuracy.P, "model_human": g.Models[0].ModelHuman.Mean,
		} {
			m := inputValueRE(name).FindStringSubmatch(body)
			var got float64
			if m != nil {
				fmt.Sscan(m[1], &got)
			}
			if m == nil || math.Abs(got-v) > 0.0005 {
				t.Errorf("%s: form has %v, the pilot's report %.4f", name, m, v)
			}
		}
		if m := inputValueRE("items").FindStringSubmatch(body); m == nil || m[1] != "12" {
			t.Errorf("items: %v", m)
		}
		if m := inputValueRE("base").FindStringSubmatch(body); m == nil || m[1] != "1.50" {
			t.Errorf("base pay from the pilot: %v", m)
		}
	})
}

// mustMatrix loads a study's matrix as the report does.
func mustMatrix(t *testing.T, e *adminEnv, st study.Study) *analysis.Matrix {
	t.Helper()
	m, _, err := e.store.LoadMatrix(context.Background(), postgres.MatrixSelection{StudyID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
