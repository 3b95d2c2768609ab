package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/task"
)

// batchLine is one line of an OpenAI batch output as the batch API writes
// it, answering stimulus id with the given top tokens and log-probabilities.
func batchLine(id string, top ...any) string {
	var tl []string
	for i := 0; i+1 < len(top); i += 2 {
		tl = append(tl, fmt.Sprintf(`{"token": %q, "logprob": %v, "bytes": [%d]}`, top[i], top[i+1], len(top[i].(string))))
	}
	first := top[0].(string)
	return fmt.Sprintf(`{"id": "batch_req_%s", "custom_id": %q, "response": {"status_code": 200, "request_id": "req_%s", "body": {"id": "chatcmpl-%s", "object": "chat.completion", "created": 1738745601, "model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "message": {"role": "assistant", "content": %q, "refusal": null}, "logprobs": {"content": [{"token": %q, "logprob": %v, "bytes": [1], "top_logprobs": [%s]}], "refusal": null}, "finish_reason": "length"}], "usage": {"prompt_tokens": 1123, "completion_tokens": 1, "total_tokens": 1124}, "system_fingerprint": "fp_50cad350e4"}}, "error": null}`,
		id, id, id, id, first, first, top[1], strings.Join(tl, ", ")) + "\n"
}

// towersBatch answers t01..tn of pgtest.TowerSet (truth Yes on odd
// numbers): Yes (" Yes" and "yes" both count) to odd items, "No." to even
// ones, the opposite on every fourth, and t03 with neither label (flagged).
func towersBatch(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("t%02d", i)
		switch {
		case i == 3:
			b.WriteString(batchLine(id, "The", -0.3, "A", -1.9))
		case (i%2 == 1) != (i%4 == 0):
			b.WriteString(batchLine(id, " Yes", -0.4, "yes", -2.0, "No", -1.6))
		default:
			b.WriteString(batchLine(id, "No.", -0.1, " Yes", -2.6))
		}
	}
	return b.String()
}

// upload posts a multipart form with a file as the browser would.
func (e *adminEnv) upload(t *testing.T, c *http.Client, fields map[string]string, name string, file []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/models", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *adminEnv) runs(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM model_runs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAdminModelUpload(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	form := map[string]string{"csrf": token, "set": "towers-set", "format": "auto", "model": "gpt-4o"}

	t.Run("ErrLineAndField", func(t *testing.T) {
		status, body := e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set"}, "bad.csv",
			[]byte("model,seed,stimulus_id,p_yes\nm,1,t01,0.2\nm,1,t02,1.5\nm,1,t09,0.3\n"))
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "bad.csv:3: p_yes") || !strings.Contains(body, "nothing was stored") {
			t.Errorf("%d, want 422 naming bad.csv line 3, field p_yes:\n%s", status, body)
		}
		// The parser found no fault; the set does not have t09.
		status, body = e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set"}, "ids.csv",
			[]byte("model,seed,stimulus_id,p_yes\nm,1,t01,0.2\nm,1,t09,0.3\n"))
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "ids.csv:3: stimulus_id") {
			t.Errorf("%d, want 422 naming ids.csv line 3, stimulus_id:\n%s", status, body)
		}
		if n := e.runs(t); n != 0 {
			t.Errorf("%d runs stored after refused uploads", n)
		}
	})
	t.Run("ErrNoFile", func(t *testing.T) {
		status, body := e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set"}, "", nil)
		if status != http.StatusBadRequest || !strings.Contains(body, "Choose a model output file") {
			t.Errorf("%d:\n%s", status, body)
		}
	})
	t.Run("OK", func(t *testing.T) {
		status, body := e.upload(t, c, form, "batch_output.jsonl", []byte(towersBatch(4)))
		if status != http.StatusOK || !strings.Contains(body, "Imported gpt-4o seed 0 from batch_output.jsonl on set towers-set: 4 outputs, 1 flagged, 1 without a Yes/No answer.") {
			t.Fatalf("%d:\n%s", status, body)
		}
		if !strings.Contains(body, `<td>batch_output.jsonl</td>`) {
			t.Error("the run is not listed on the page")
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		status, body := e.upload(t, c, form, "batch_output.jsonl", []byte(towersBatch(4)))
		if status != http.StatusConflict || !strings.Contains(body, "already imported") {
			t.Errorf("%d, want 409:\n%s", status, body)
		}
		withReplace := map[string]string{"replace": "1"}
		for k, v := range form {
			withReplace[k] = v
		}
		status, body = e.upload(t, c, withReplace, "batch_output.jsonl", []byte(towersBatch(4)))
		if status != http.StatusOK || !strings.Contains(body, "1 run(s) imported before were replaced") {
			t.Errorf("%d with replace:\n%s", status, body)
		}
		if n := e.runs(t); n != 1 {
			t.Errorf("%d runs, want 1", n)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		status, _ := e.upload(t, c, form, "huge.csv", bytes.Repeat([]byte("x"), 64<<20+1))
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("%d, want 413", status)
		}
	})
	t.Run("BatchInput", func(t *testing.T) {
		resp, body := e.get(t, c, "/admin/models/batch-input?set=towers-set&model=gpt-4o")
		if resp.StatusCode != http.StatusOK || strings.Count(body, "\n") != 4 || !strings.Contains(body, `"custom_id":"t04"`) ||
			resp.Header.Get("Content-Disposition") != `attachment; filename="batch-input-towers-set-gpt-4o.jsonl"` {
			t.Errorf("%d %q: %.300s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
		}
		if resp, _ := e.get(t, c, "/admin/models/batch-input?set=nope&model=m"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown set: %d", resp.StatusCode)
		}
		// Split as the command line splits: a ZIP of parts, here one part
		// holding the same requests as the single file.
		resp, zipped := e.get(t, c, "/admin/models/batch-input?set=towers-set&model=gpt-4o&split=1")
		zr, err := zip.NewReader(strings.NewReader(zipped), int64(len(zipped)))
		if resp.StatusCode != http.StatusOK || err != nil || len(zr.File) != 1 || zr.File[0].Name != "batch-input-towers-set-gpt-4o-001.jsonl" {
			t.Fatalf("split: %d %v %+v", resp.StatusCode, err, zr)
		}
		f, _ := zr.File[0].Open()
		part, _ := io.ReadAll(f)
		if string(part) != body {
			t.Errorf("the one part differs from the single file:\n%s\nversus\n%s", part, body)
		}
		if resp, _ := e.get(t, c, "/admin/models/batch-input?set=nope&model=m&split=1"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown set, split: %d", resp.StatusCode)
		}
	})
}

// A report with nobody and no model says so; with both it shows the three
// figures, each downloadable as SVG and CSV.
func TestAdminReport(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	base := "/admin/studies/" + e.study.ID.String() + "/report"

	resp, body := e.get(t, c, base)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "No completed or approved participants yet") ||
		!strings.Contains(body, "No model outputs on set towers-set yet") {
		t.Fatalf("empty report: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `id="tower-heatmap"`) {
		t.Error("an empty heat map is drawn without any model")
	}

	e.answerAll(t)
	if status, body := e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set", "model": "gpt-4o"}, "b.jsonl", []byte(towersBatch(4))); status != http.StatusOK {
		t.Fatalf("upload: %d\n%s", status, body)
	}
	_, body = e.get(t, c, base)
	for _, want := range []string{`id="tower-accuracy"`, `id="tower-heatmap"`, `id="tower-kappa"`, `<g class="series" data-name="gpt-4o">`,
		`class="cell"`, `class="bar"`, "Only one person so far", base + "/tower/kappa.csv"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if strings.Contains(body, "No model outputs") {
		t.Error("the report still says there are no model outputs")
	}
	// A rejection shows at once, though the report was just computed.
	if err := e.store.ActOnParticipant(context.Background(), e.study.ID, e.part.ID, postgres.Reject, "test"); err != nil {
		t.Fatal(err)
	}
	if _, body := e.get(t, c, base); !strings.Contains(body, "1 rejected, left out") || !strings.Contains(body, "No completed or approved participants yet") {
		t.Errorf("after a rejection the report still shows the participant")
	}

	resp, svg := e.get(t, c, base+"/tower/accuracy.svg")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg, "<svg") {
		t.Errorf("accuracy.svg: %d %s %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), svg)
	}
	// The participant answered No, Yes, No, Yes by position; whatever the
	// order, the kappa CSV has the human-human band and the model's bar, the
	// truth CSV the model's Cohen's kappa.
	resp, kcsv := e.get(t, c, base+"/tower/kappa.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(kcsv, "observer,measure,mean,lo,hi,n,undefined\n") ||
		!strings.Contains(kcsv, "People,human-human (95% over people),") || !strings.Contains(kcsv, "gpt-4o,model-human,") {
		t.Errorf("kappa.csv: %d\n%s", resp.StatusCode, kcsv)
	}
	resp, tcsv := e.get(t, c, base+"/tower/truth.csv")
	if resp.StatusCode != http.StatusOK || !strings.Contains(tcsv, "gpt-4o,model-ground truth,") {
		t.Errorf("truth.csv: %d\n%s", resp.StatusCode, tcsv)
	}
	// The model answered t01 Yes, t02 No, t03 nothing, t04 Yes: accuracy by
	// size (t01 and t04 size 2, t02 size 3, t03 size 4; truth Yes on t01, t03)
	// 1/2, 1/1 and none.
	_, acsv := e.get(t, c, base+"/tower/accuracy.csv")
	for _, want := range []string{"gpt-4o,2,0.500000,", "gpt-4o,3,1.000000,", "gpt-4o,4,,,,0"} {
		if !strings.Contains(acsv, want) {
			t.Errorf("accuracy.csv lacks %q:\n%s", want, acsv)
		}
	}
	_, all := e.get(t, c, base+".csv")
	if !strings.HasPrefix(all, "task,size,observer,model,") || !strings.Contains(all, "tower,all,model,gpt-4o,,0,,,accuracy,0.666667,") {
		t.Errorf("report.csv:\n%s", all)
	}
	// The same outputs as a condition trained on size 2: the report marks
	// size 2 as trained, splits the task into sizes 2 and 3-4, outlines the
	// trained cell in the heat map and says so in the CSVs.
	if status, body := e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set", "model": "gpt-4o", "condition": "ft",
		"trained": "tower:2"}, "b.jsonl", []byte(towersBatch(4))); status != http.StatusOK || !strings.Contains(body, "recorded as trained on tower:2") {
		t.Fatalf("upload with trained sizes: %d\n%s", status, body)
	}
	_, body = e.get(t, c, base)
	for _, want := range []string{"Trained sizes and held-out sizes", "In distribution", "Held out", `gpt-4o, ft <small class="trained-size" title="a size this condition was trained on">trained</small>`,
		`class="trained"`, "p independent", "Attainable"} {
		if !strings.Contains(body, want) {
			t.Errorf("report with a trained condition lacks %q", want)
		}
	}
	_, all = e.get(t, c, base+".csv")
	for _, want := range []string{"tower,2,model,gpt-4o,ft,0,tower:2,in_distribution,accuracy,0.500000,",
		"tower,all,model,gpt-4o,ft,0,tower:2,held_out,accuracy,1.000000,", "tower,all,people,gpt-4o,ft,,tower:2,in_distribution,accuracy,"} {
		if !strings.Contains(all, want) {
			t.Errorf("report.csv lacks %q:\n%s", want, all)
		}
	}
	if _, hcsv := e.get(t, c, base+"/tower/heatmap.csv"); !strings.Contains(hcsv, "\"gpt-4o, ft\",2,0.500000,true") ||
		!strings.Contains(hcsv, "\"gpt-4o, ft\",3,1.000000,false") {
		t.Errorf("heatmap.csv does not mark the trained cell:\n%s", hcsv)
	}
	if status, body := e.upload(t, c, map[string]string{"csrf": token, "set": "towers-set", "model": "gpt-4o", "condition": "ft2",
		"trained": "towers:2"}, "b.jsonl", []byte(towersBatch(4))); status != http.StatusBadRequest || !strings.Contains(body, "is not a task") {
		t.Errorf("a misspelt task in trained sizes: %d\n%s", status, body)
	}
	// Figures for print: PDF one or two columns wide, SVG at the same
	// widths, without the title on request; a bad width is refused.
	for _, q := range []string{"?width=single", "?width=double&title=no", ""} {
		resp, pdf := e.get(t, c, base+"/tower/kappa.pdf"+q)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf, "%PDF-") {
			t.Errorf("kappa.pdf%s: %d %s %.20q", q, resp.StatusCode, resp.Header.Get("Content-Type"), pdf)
		}
	}
	if resp, svg := e.get(t, c, base+"/tower/heatmap.svg?width=single&title=no"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(svg, `viewBox="0 0 336 `) || strings.Contains(svg, `font-weight="bold"`) {
		t.Errorf("heatmap.svg one column without title: %d\n%.300s", resp.StatusCode, svg)
	}
	if resp, body := e.get(t, c, base+"/tower/kappa.pdf?width=huge"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "single or double") {
		t.Errorf("a bad width: %d", resp.StatusCode)
	}
	if _, page := e.get(t, c, base); !strings.Contains(page, "/tower/kappa.pdf?width=single") {
		t.Error("the report page has no PDF link")
	}
	if resp, _ := e.get(t, c, base+"/tower/pie.svg"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown figure: %d", resp.StatusCode)
	}
	if resp, body := e.get(t, c, "/admin/sets/towers-set/report"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="tower-kappa"`) {
		t.Errorf("set report: %d", resp.StatusCode)
	}
	if _, _, err := e.store.ImportSet(context.Background(), pgtest.TowerSet("unused", 3)); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.get(t, c, "/admin/sets/unused/report"); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, "No study uses this set yet") || !strings.Contains(body, "No model outputs on set unused yet") {
		t.Errorf("report of an unused set: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := e.get(t, c, "/admin/sets/nope/report"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown set: %d", resp.StatusCode)
	}
}

// TestBrowserModels: an experimenter logs in, uploads an OpenAI batch output
// on the models page, opens the study's report and finds the three figures
// drawn with data. Screenshots go to $CUBELAB_SCREENSHOTS when set.
func TestBrowserModels(t *testing.T) {
	t.Parallel()
	ctx0 := context.Background()
	e := newAdminEnv(t)
	st := pgtest.NewStudy(t, e.store, "report", 12)
	truth := func(ext string) string { // pgtest.TowerSet: item i (from 0) is Yes when even
		var i int
		fmt.Sscanf(ext, "t%d", &i)
		return []string{task.Yes, task.No}[(i-1)%2]
	}
	other := map[string]string{task.Yes: task.No, task.No: task.Yes}
	for k := range 5 {
		tok := sha256.Sum256([]byte(fmt.Sprint("report", k)))
		p, err := e.store.Join(ctx0, st, prolific.Params{PID: pid(200 + k)}, int64(k), tok[:])
		if err != nil {
			t.Fatal(err)
		}
		for pos := 1; pos <= p.NTrials; pos++ {
			if _, err := e.store.ShowTrial(ctx0, p, pos); err != nil {
				t.Fatal(err)
			}
			var ext string
			if err := e.store.Pool().QueryRow(ctx0, `SELECT s.ext_id FROM trials t JOIN stimuli s ON s.id = t.stimulus_id
				WHERE t.participant_id = $1 AND t.position = $2`, p.ID, pos).Scan(&ext); err != nil {
				t.Fatal(err)
			}
			var i int
			fmt.Sscanf(ext, "t%d", &i)
			a := truth(ext)
			if (i*(k+2))%5 == 1 || (i%3 == 0 && k%2 == 0) { // some mistakes, more on size 4
				a = other[a]
			}
			if _, err := e.store.Answer(ctx0, p.ID, pos, a, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A fine-tuned model with two seeds, imported as the command would.
	var csvText strings.Builder
	csvText.WriteString("model,condition,seed,stimulus_id,p_yes\n")
	for seed := 1; seed <= 2; seed++ {
		for i := 1; i <= 12; i++ {
			p := 0.8
			if truth(fmt.Sprintf("t%02d", i)) == task.No {
				p = 0.2
			}
			if (i+seed)%4 == 0 {
				p = 1 - p
			}
			fmt.Fprintf(&csvText, "qwen2-vl-7b,fine-tuned on towers 2-4,%d,t%02d,%v\n", seed, i, p)
		}
	}
	rows, err := modelout.Parse(strings.NewReader(csvText.String()), modelout.Options{Name: "qwen.csv"})
	if err != nil {
		t.Fatal(err)
	}
	trained, _ := analysis.ParseTrained("tower:2")
	if _, err := e.store.ImportModelOutputs(ctx0, postgres.ModelImport{Set: "report-set", SourceFile: "qwen.csv", Rows: rows, Trained: &trained}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "batch_output.jsonl")
	if err := os.WriteFile(file, []byte(towersBatch(12)), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := browser(t)
	step(t, ctx, "log in",
		chromedp.Navigate(e.srv.URL+"/admin/models"), chromedp.WaitVisible("#password"),
		chromedp.SendKeys("#email", adminEmail), chromedp.SendKeys("#password", adminPassword),
		chromedp.Click("form button[type=submit]"), chromedp.WaitVisible("#upload-form"))
	bad := filepath.Join(t.TempDir(), "broken.jsonl")
	lines := strings.SplitAfter(towersBatch(3), "\n")
	if err := os.WriteFile(bad, []byte(lines[0]+`{"custom_id": "t02", "response": {"status_code": 200, "body": {}}}`+"\n"+
		strings.Replace(lines[2], `"t03"`, `"t99"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "upload a broken file",
		chromedp.SetUploadFiles("#file", []string{bad}),
		chromedp.SetValue("#set", "report-set"),
		chromedp.SendKeys("#model", "gpt-4o"),
		chromedp.Click("#upload"),
		chromedp.WaitVisible("#upload-error"))
	problem, err := run(ctx, chromedp.Text("#upload-error"))
	if err != nil || !strings.Contains(problem, "broken.jsonl was not imported: nothing was stored") || !strings.Contains(problem, "broken.jsonl:2: response.body") {
		t.Errorf("refused upload shows %q, %v", problem, err)
	}
	if model, _ := run(ctx, chromedp.Value("#model")); model != "gpt-4o" {
		t.Errorf("the form came back with model %q", model)
	}
	adminShot(t, ctx, "models-error")
	step(t, ctx, "upload",
		chromedp.SetUploadFiles("#file", []string{file}),
		chromedp.Click("#upload"),
		chromedp.WaitVisible("#upload-done"))
	done, err := run(ctx, chromedp.Text("#upload-done"))
	if err != nil || !strings.Contains(done, "Imported gpt-4o seed 0 from batch_output.jsonl on set report-set: 12 outputs, 1 flagged") {
		t.Fatalf("after the upload: %q, %v", done, err)
	}
	adminShot(t, ctx, "models")

	step(t, ctx, "open the report", chromedp.Navigate(e.srv.URL+studyPath(st.ID)+"/report"), chromedp.WaitVisible("#tower-kappa svg"))
	counts, err := run(ctx, chromedp.Evaluate[[]int](`[
		document.querySelectorAll('#tower-accuracy svg g.series').length,
		document.querySelectorAll('#tower-accuracy svg g.series line, #tower-accuracy svg g.series path').length,
		document.querySelectorAll('#tower-heatmap svg rect.cell').length,
		document.querySelectorAll('#tower-kappa svg rect.bar').length,
		document.querySelectorAll('#tower-truth svg rect.bar').length,
		document.querySelectorAll('#tower-heatmap svg rect.trained').length,
		document.querySelectorAll('table.split tbody tr').length]`))
	if err != nil {
		t.Fatal(err)
	}
	// Series: people, qwen (2 seeds) and gpt-4o; people and 2 models x 3
	// sizes cells; one error-consistency bar and one ground-truth bar per model.
	if counts[0] != 3 || counts[1] == 0 || counts[2] != 9 || counts[3] != 2 || counts[4] != 2 {
		t.Errorf("figures: %d series with %d marks, %d heat map cells, %d kappa bars, %d truth bars; want 3, some, 9, 2, 2", counts[0], counts[1], counts[2], counts[3], counts[4])
	}
	// qwen's condition was trained on size 2: one outlined cell, and its
	// in-distribution and held-out rows.
	if counts[5] != 1 || counts[6] != 2 {
		t.Errorf("trained: %d outlined cells, %d split rows; want 1, 2", counts[5], counts[6])
	}
	adminShot(t, ctx, "report")
	if dir := os.Getenv("CUBELAB_SCREENSHOTS"); dir != "" {
		png, err := run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "admin-report-full.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shotAll := func(name, open string) {
		dir := os.Getenv("CUBELAB_SCREENSHOTS")
		if dir == "" {
			return
		}
		for _, vp := range []struct{ w, h int64 }{{390, 844}, {1366, 768}, {1920, 1080}} {
			step(t, ctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h), void(chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) && (document.querySelector(%q).open = true), window.scrollTo(0, 0), true", open, open))))
			png, err := run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%dx%d.png", name, vp.w, vp.h)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		step(t, ctx, "reset viewport", chromedp.EmulateViewport(1366, 768))
	}
	// The run picker (issue 11): both models are picked by default (the 12
	// latest); unticking one leaves it out of the figures and the table.
	step(t, ctx, "open the run picker", void(chromedp.Evaluate[bool](`document.querySelector('#run-picker').open = true, true`)),
		chromedp.WaitVisible(`#run-picker input[name=run]`))
	if picks, err := run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll('#run-picker input[name=run]').length,
		document.querySelectorAll('#run-picker input[name=run]:checked').length]`)); err != nil || picks[0] != 2 || picks[1] != 2 {
		t.Errorf("the picker lists and ticks %v runs, want 2 and 2 (%v)", picks, err)
	}
	checkAccessibility(t, ctx, "admin report with the run picker open")
	shotAll("admin-report-runs", "#run-picker")
	// The form's query as the browser would send it (the click itself is
	// not what this tests), then the page it asks for.
	query, err := run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#run-picker label')].find(l => l.textContent.includes('gpt-4o')).querySelector('input').click(),
		new URLSearchParams(new FormData(document.querySelector('#run-picker form'))).toString()`))
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "show the picked", chromedp.Navigate(e.srv.URL+studyPath(st.ID)+"/report?"+query), chromedp.WaitVisible("#tower-kappa svg"))
	counts, err = run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll('#tower-accuracy svg g.series').length,
		document.querySelectorAll('#tower-kappa svg rect.bar').length,
		[...document.querySelectorAll('table.report td')].filter(td => td.textContent.startsWith('gpt-4o')).length]`))
	if err != nil || counts[0] != 2 || counts[1] != 1 || counts[2] != 0 {
		t.Errorf("gpt-4o unticked: %v series, kappa bars, gpt-4o table rows; want 2, 1, 0 (%v)", counts, err)
	}
	if summary, _ := run(ctx, chromedp.Text("#runs-summary")); !strings.Contains(summary, "1 picked of 2 models and conditions.") {
		t.Errorf("picker summary %q", summary)
	}

	// Another exclusion rule for this page: stated, with whom it left out,
	// and carried by the page's downloads.
	step(t, ctx, "report with a rule", chromedp.Navigate(e.srv.URL+studyPath(st.ID)+"/report?exclude=run%3E%3D1"), chromedp.WaitVisible("#exclusion-rule"))
	rule, err := run(ctx, chromedp.Text("#exclusion-rule"))
	if err != nil || !strings.Contains(rule, "rule run>=1") {
		t.Errorf("exclusion rule on the page: %q, %v", rule, err)
	}
	if href, _ := run(ctx, chromedp.Evaluate[string](`document.querySelector('#report-csv').getAttribute('href')`)); !strings.Contains(href, "exclude=run%3E%3D1") {
		t.Errorf("the CSV link %q does not carry the rule", href)
	}
	if n, _ := run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#excluded li').length`)); n == 0 {
		t.Error("no excluded participant listed under run>=1")
	}
	checkAccessibility(t, ctx, "admin report with a rule")
	shotAll("admin-report-exclude", "details")
	step(t, ctx, "export form", chromedp.Navigate(e.srv.URL+"/admin/export"), chromedp.WaitVisible("#exclude"))
	shotAll("admin-export", "details")

	// The figure's download is the same drawing.
	svg := fetchText(t, ctx, studyPath(st.ID)+"/report/tower/heatmap.svg")
	if !strings.HasPrefix(svg, "<svg") || strings.Count(svg, `class="cell"`) != 9 {
		t.Errorf("heatmap.svg: %.200s", svg)
	}
}

func studyPath(id uuid.UUID) string { return "/admin/studies/" + id.String() }

// Requests for the same report at once share one computation: the finding
// was that concurrent first views each computed it again.
func TestReportComputedOnce(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	e.login(t, c, adminPassword)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			resp, err := c.Get(e.srv.URL + studyPath(e.study.ID) + "/report")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("report: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := e.server.ReportsComputed(); n != 1 {
		t.Errorf("4 views of one report computed it %d times, want 1", n)
	}
	for _, path := range []string{"/report.csv", "/report/tower/accuracy.svg"} {
		if resp, _ := e.get(t, c, studyPath(e.study.ID)+path); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	if n := e.server.ReportsComputed(); n != 1 {
		t.Errorf("the CSV and a figure computed it again: %d", n)
	}
}
