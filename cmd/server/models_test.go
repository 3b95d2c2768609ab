package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/server"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// answerStudy joins participant k to st and answers every trial with
// answer(manifest id).
func answerStudy(t *testing.T, store *postgres.Store, st study.Study, k int, answer map[string]string) study.Participant {
	t.Helper()
	ctx := context.Background()
	tok := sha256.Sum256([]byte(fmt.Sprint("analyze", k)))
	p, err := store.Join(ctx, st, prolific.Params{PID: fmt.Sprintf("%024x", 0xbeef00+k)}, int64(k), tok[:])
	if err != nil {
		t.Fatal(err)
	}
	for pos := 1; pos <= p.NTrials; pos++ {
		if _, err := store.ShowTrial(ctx, p, pos); err != nil {
			t.Fatal(err)
		}
		var ext string
		if err := store.Pool().QueryRow(ctx, `SELECT s.ext_id FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
			WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&ext); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Answer(ctx, p.ID, pos, answer[ext], nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCmd runs the server binary's command line in-process and returns stdout.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	e := quietEnv()
	e.stdout, e.stderr = &out, &errOut
	err := run(context.Background(), args, e)
	return out.String(), err
}

// TestAnalyzeHandWorked runs "server analyze" on a study small enough to
// work out on paper, after importing the model through "server models import".
//
// Items (pgtest.TowerSet): t01 size 2 Yes, t02 size 3 No, t03 size 4 Yes,
// t04 size 2 No, t05 size 3 Yes, t06 size 4 No.
//
//	     t01 t02 t03 t04 t05 t06   correct
//	p1   Y   N   Y   N   Y   N     all 6
//	p2   Y   Y   N   N   Y   Y     t01 t04 t05 (3)
//	p3   N   Y   N   Y   N   Y     none; rejected, so left out
//	m    .9  .8  .2  .1  .7  .4    (P(Yes)) Y Y N N Y N: t01 t04 t05 t06 (4)
//
// All sizes:
//   - people 9/12 = 0.75; Wilson with z = 1.959964, n = 12: denominator
//     1 + z²/n = 1.320122, centre (0.75 + z²/24)/1.320122 = 0.689376, half-width
//     z sqrt(0.75·0.25/12 + z²/576)/1.320122 = 0.221682: 0.467695 to 0.911058.
//   - human-human: p1 is always right (1), p2 half (0.5): c_exp = 1·0.5 + 0·0.5
//     = 0.5; both right on t01 t04 t05, never both wrong: c_obs = 3/6 = 0.5,
//     kappa = 0. One pair, so the interval is 0 to 0.
//   - m: 4/6; Wilson 0.299993 to 0.903229 (denominator 1.640243, centre
//     0.601611, half-width 0.301618).
//   - m-p1: c_exp = (2/3)·1 = 2/3 = c_obs, kappa 0. m-p2: both right t01 t04
//     t05, both wrong t02 t03: c_obs = 5/6; c_exp = (2/3)(1/2) + (1/3)(1/2) =
//     1/2; kappa = (5/6 - 1/2)/(1/2) = 2/3. Mean 1/3; resampling the two
//     pair kappas gives means 0, 1/3 or 2/3, so the interval is 0 to 2/3.
//   - m-truth (Cohen): answers agree on t01 t04 t05 t06, p_o = 2/3; m says
//     Yes 3/6, the truth 3/6: p_e = 0.5·0.5 + 0.5·0.5 = 0.5; kappa = 1/3.
//
// Size 2 (t01 Yes, t04 No): people 4/4 (Wilson 0.510109 to 1); both people
// and the model always right, so human-human and model-human are undefined
// (c_exp = 1); m-truth: p_o = 1, p_e = 0.5, kappa 1.
//
// Size 3 (t02 No, t05 Yes): people 3/4 (0.300642 to 0.954413); human-human
// 0 (p1 perfect); m 1/2 (0.094531 to 0.905469); m-p1 0, m-p2: both wrong
// on t02, both right on t05, c_obs 1, c_exp 0.5·0.5 + 0.5·0.5 = 0.5, kappa
// 1, mean 0.5; m-truth: m says Yes to both, p_o 1/2, p_e 1·0.5 + 0·0.5 = 0.5,
// kappa 0.
//
// Size 4 (t03 Yes, t06 No): people 2/4 (0.150039 to 0.849961); human-human:
// p1 1, p2 0, c_exp 0, c_obs 0, kappa 0; m 1/2; m-p2: c_exp 0.5, c_obs 1/2
// (both wrong on t03 only), kappa 0, mean 0; m-truth: m says No to both,
// p_o 1/2, p_e 0·0.5 + 1·0.5 = 0.5, kappa 0.
func TestAnalyzeHandWorked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "hand", 6)
	answers := func(s string) map[string]string {
		m := map[string]string{}
		for i, c := range s {
			m[fmt.Sprintf("t%02d", i+1)] = map[rune]string{'Y': task.Yes, 'N': task.No}[c]
		}
		return m
	}
	answerStudy(t, store, st, 1, answers("YNYNYN"))
	answerStudy(t, store, st, 2, answers("YYNNYY"))
	p3 := answerStudy(t, store, st, 3, answers("NYNYNY"))
	if err := store.ActOnParticipant(ctx, st.ID, p3.ID, postgres.Reject, "all wrong"); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, "m.csv", "stimulus_id,p_yes\nt01,0.9\nt02,0.8\nt03,0.2\nt04,0.1\nt05,0.7\nt06,0.4\n")
	out, err := runCmd(t, "models", "import", file, "--database-url", dsn, "--set", "hand-set", "--model", "m", "--seed", "1")
	if err != nil || !strings.Contains(out, "imported m seed 1 on set hand-set: 6 outputs") {
		t.Fatalf("import: %q, %v", out, err)
	}

	out, err = runCmd(t, "analyze", "--database-url", dsn, "--study", "hand", "--bootstrap", "2000", "--seed", "5", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// key: size|observer|measure -> value, lo, hi ("" when undefined)
	got := map[string][3]string{}
	for _, r := range records[1:] {
		got[r[1]+"|"+r[2]+"|"+r[8]] = [3]string{r[9], r[10], r[11]}
	}
	const u = "" // undefined
	want := map[string][3]string{
		"all|people|accuracy":          {"0.750000", "0.467695", "0.911058"},
		"all|people|kappa_human_human": {"0.000000", "0.000000", "0.000000"},
		"all|model|accuracy":           {"0.666667", "0.299993", "0.903229"},
		"all|model|kappa_model_human":  {"0.333333", "0.000000", "0.666667"},
		"2|people|accuracy":            {"1.000000", "0.510109", "1.000000"},
		"2|people|kappa_human_human":   {u, u, u},
		"2|model|kappa_model_human":    {u, u, u},
		"2|model|kappa_model_truth":    {"1.000000", "1.000000", "1.000000"},
		"3|people|accuracy":            {"0.750000", "0.300642", "0.954413"},
		"3|people|kappa_human_human":   {"0.000000", "0.000000", "0.000000"},
		"3|model|accuracy":             {"0.500000", "0.094531", "0.905469"},
		"3|model|kappa_model_human":    {"0.500000", "0.000000", "1.000000"},
		"4|people|accuracy":            {"0.500000", "0.150039", "0.849961"},
		"4|people|kappa_human_human":   {"0.000000", "0.000000", "0.000000"},
		"4|model|kappa_model_human":    {"0.000000", "0.000000", "0.000000"},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	// Kappas against the truth resample items: only the mean is on paper.
	for k, w := range map[string]string{"all|model|kappa_model_truth": "0.333333", "3|model|kappa_model_truth": "0.000000", "4|model|kappa_model_truth": "0.000000"} {
		if got[k][0] != w {
			t.Errorf("%s mean = %q, want %q", k, got[k][0], w)
		}
	}

	// The report page's CSV is the same document, with the same defaults.
	out, err = runCmd(t, "analyze", "--database-url", dsn, "--study", "hand", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if page := reportCSV(t, store, st); page != out {
		t.Errorf("the report page's CSV differs from server analyze's:\n%s\nversus\n%s", page, out)
	}
	// With an exclusion rule too: run>=1 excludes every finished
	// participant, leaving the model alone with the truth; both agree.
	out, err = runCmd(t, "analyze", "--database-url", dsn, "--study", "hand", "--exclude", "run>=1", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if page := reportCSVQuery(t, store, st, "?exclude=run%3E%3D1"); page != out {
		t.Errorf("with --exclude, the report page's CSV differs from server analyze's:\n%s\nversus\n%s", page, out)
	}
	if !strings.Contains(out, "tower,all,people,,,,,,accuracy,,,,0,0,,") {
		t.Errorf("run>=1 must leave no person counted:\n%s", out)
	}
	jsonOut, err := runCmd(t, "analyze", "--database-url", dsn, "--study", "hand", "--exclude", "run>=1", "--format", "json")
	if err != nil || !strings.Contains(jsonOut, `"exclusion": "Finished participants are excluded for 1 or more identical answers in a row`) ||
		strings.Count(jsonOut, `"participant_id"`) != 2 {
		t.Errorf("analyze --exclude JSON must state the rule and the two people: %v\n%s", err, jsonOut)
	}
	// --compare tests one condition against another: here the model against itself.
	cmpOut, err := runCmd(t, "analyze", "--database-url", dsn, "--study", "hand", "--compare", "m,m", "--bootstrap", "200", "--format", "csv")
	if err != nil || !strings.Contains(cmpOut, "tower,all,m,m,accuracy_difference,0.000000,0.000000,0.000000,6,0,200,0,0,1") {
		t.Errorf("analyze --compare m,m: %v\n%s", err, cmpOut)
	}

	// The JSON says what was compared and carries the same numbers.
	out, err = runCmd(t, "analyze", "--database-url", dsn, "--study", "hand", "--bootstrap", "2000", "--seed", "5", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Input  postgres.MatrixInfo
		Report struct {
			Groups []struct {
				Size          int
				HumanAccuracy struct{ P *float64 } `json:"human_accuracy"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Input.Humans != 2 || doc.Input.Rejected != 1 || doc.Input.ModelRuns != 1 || doc.Input.Items != 6 {
		t.Errorf("input %+v", doc.Input)
	}
	for _, g := range doc.Report.Groups {
		if g.Size == 0 && (g.HumanAccuracy.P == nil || math.Abs(*g.HumanAccuracy.P-0.75) > 1e-9) {
			t.Errorf("JSON human accuracy over all sizes %v, want 0.75", g.HumanAccuracy.P)
		}
	}
}

func TestModelsImportCommand(t *testing.T) {
	t.Parallel()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	pgtest.NewStudy(t, store, "imp", 3)
	file := writeFile(t, "m.csv", "model,seed,stimulus_id,logprob_yes,logprob_no\nm,1,t01,-0.1,-2.4\nm,1,t02,-2.4,-0.1\n")
	args := []string{"models", "import", file, "--database-url", dsn, "--set", "imp-set"}

	if _, err := runCmd(t, args...); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, args...); problem.Code(err) != problem.ECONFLICT || !strings.Contains(err.Error(), "nothing was stored") {
		t.Errorf("second import: %v, want a conflict", err)
	}
	if out, err := runCmd(t, append(args, "--replace")...); err != nil || !strings.Contains(out, "replaced 1 run") {
		t.Errorf("with --replace: %q, %v", out, err)
	}
	bad := writeFile(t, "bad.csv", "model,seed,stimulus_id,p_yes\nm,2,t01,0.5\nm,2,t01x,2\n")
	_, err := runCmd(t, "models", "import", bad, "--database-url", dsn, "--set", "imp-set")
	if err == nil || !strings.Contains(err.Error(), "bad.csv:3: p_yes") {
		t.Errorf("bad file: %v, want the line and field named", err)
	}
	if _, err := runCmd(t, "models", "import", "--set", "imp-set"); !errors.Is(err, errUsage) {
		t.Errorf("no file: %v, want a usage error", err)
	}
	// What a condition was trained on: with the import, or on its own; the
	// analysis then splits the task and marks the trained size.
	if out, err := runCmd(t, append(args, "--replace", "--trained", "tower:2")...); err != nil || !strings.Contains(out, "trained on tower:2") {
		t.Errorf("import --trained: %q, %v", out, err)
	}
	if _, err := runCmd(t, append(args, "--replace", "--trained", "towers:1")...); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "is not a task") {
		t.Errorf("import --trained with a misspelt task: %v", err)
	}
	out, err := runCmd(t, "analyze", "--database-url", dsn, "--set", "imp-set", "--format", "csv", "--bootstrap", "20")
	if err != nil || !strings.Contains(out, "tower,2,model,m,,1,tower:2,in_distribution,accuracy,") ||
		!strings.Contains(out, "tower,all,model,m,,1,tower:2,held_out,accuracy,") {
		t.Errorf("analyze after --trained: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "models", "trained", "--database-url", dsn, "--model", "m", "none"); err != nil || !strings.Contains(out, "nothing recorded") {
		t.Errorf("models trained none: %q, %v", out, err)
	}
	out, err = runCmd(t, "analyze", "--database-url", dsn, "--set", "imp-set", "--format", "csv", "--bootstrap", "20")
	if err != nil || strings.Contains(out, "in_distribution") {
		t.Errorf("analyze after clearing trained sizes: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "models", "trained", "--database-url", dsn, "--model", "nobody", "tower:2"); problem.Code(err) != problem.ENOTFOUND {
		t.Errorf("models trained of an unknown model: %v", err)
	}
}

// batch-input writes one request per stimulus; query sends them to a local
// server that answers in the real chat completions format, resumes after
// a failure, and its output imports unchanged.
func TestModelsBatchInputAndQuery(t *testing.T) {
	t.Parallel()
	dsn, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	pgtest.NewStudy(t, store, "q", 4)

	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	if _, err := runCmd(t, "models", "batch-input", "--database-url", dsn, "--set", "q-set", "--model", "llava", "--out", in); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		var req struct {
			CustomID string `json:"custom_id"`
			Body     struct {
				Model     string `json:"model"`
				MaxTokens int    `json:"max_tokens"`
			} `json:"body"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			t.Fatal(err)
		}
		if req.Body.Model != "llava" || req.Body.MaxTokens != 1 {
			t.Errorf("request %+v", req)
		}
		ids = append(ids, req.CustomID)
	}
	f.Close()
	if strings.Join(ids, " ") != "t01 t02 t03 t04" {
		t.Errorf("batch input ids %v", ids)
	}

	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := calls.Add(1); n == 2 {
			// One request fails for good within the first run (no retries).
			http.Error(w, `{"error":{"message":"bad"}}`, http.StatusBadRequest)
			return
		}
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1738745600,"model":"llava-served",
  "choices":[{"index":0,"message":{"role":"assistant","content":"Yes"},
    "logprobs":{"content":[{"token":"Yes","logprob":-0.1,"bytes":[89,101,115],"top_logprobs":[
      {"token":"Yes","logprob":-0.1,"bytes":[89,101,115]},{"token":" No","logprob":-2.5,"bytes":[32,78,111]}]}]},
    "finish_reason":"length"}],"usage":{"prompt_tokens":900,"completion_tokens":1,"total_tokens":901}}`)
	}))
	defer srv.Close()
	out := filepath.Join(dir, "out.jsonl")
	query := []string{"models", "query", "--database-url", dsn, "--endpoint", srv.URL, "--model", "llava", "--set", "q-set",
		"--out", out, "--concurrency", "1", "--retries", "0"}
	if _, err := runCmd(t, query...); err == nil || !strings.Contains(err.Error(), "1 stimuli failed") {
		t.Fatalf("first run: %v, want one failure", err)
	}
	stdout, err := runCmd(t, query...)
	if err != nil || !strings.Contains(stdout, "1 answered now, 3 already there") {
		t.Fatalf("resume: %q, %v", stdout, err)
	}
	if stdout, err := runCmd(t, "models", "import", out, "--database-url", dsn, "--set", "q-set", "--model", "llava"); err != nil ||
		!strings.Contains(stdout, "llava seed 0 on set q-set: 4 outputs, 0 flagged") {
		t.Fatalf("import of the query's output: %q, %v", stdout, err)
	}
}

// reportCSV downloads /admin/studies/{id}/report.csv as a logged-in
// experimenter would.
func reportCSV(t *testing.T, store *postgres.Store, st study.Study) string {
	t.Helper()
	return reportCSVQuery(t, store, st, "")
}

// reportCSVQuery is reportCSV with a query string ("?exclude=..." or "").
func reportCSVQuery(t *testing.T, store *postgres.Store, st study.Study, query string) string {
	t.Helper()
	return reportGet(t, store, st, ".csv"+query)
}

// reportGet downloads what the study's report page offers at path, below
// its URL (".csv", "/tower/kappa.pdf?width=single", ...), as an admin.
func reportGet(t *testing.T, store *postgres.Store, st study.Study, path string) string {
	t.Helper()
	ctx := context.Background()
	id, err := store.CreateAdmin(ctx, fmt.Sprintf("r%d@example.org", time.Now().UnixNano()), "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	if err != nil {
		t.Fatal(err)
	}
	token := "report-csv-session-token-0123456789" + fmt.Sprint(time.Now().UnixNano())
	sum := sha256.Sum256([]byte(token))
	if err := store.CreateAdminSession(ctx, id, sum[:], strings.Repeat("c", 32), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/admin/studies/"+st.ID.String()+"/report"+path, nil)
	req.AddCookie(&http.Cookie{Name: "cubelab_admin", Value: token})
	rec := httptest.NewRecorder()
	server.New(server.Config{Store: store}).Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("report%s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}
