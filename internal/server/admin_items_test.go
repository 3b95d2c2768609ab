package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/task"
)

// itemsStudy: ten people on twelve towers; everyone answers t05 and t06
// against the ground truth, person k also errs where (i + k) % 4 == 0. The
// model's P(Yes) follows people's share of Yes loosely. t05's stored scene
// is a two-cube tower whose top cube overhangs by a centimetre.
func itemsStudy(t *testing.T, e *adminEnv) (slug string, pyes func(i int) float64) {
	t.Helper()
	flip := map[string]string{task.Yes: task.No, task.No: task.Yes}
	pyes = func(i int) float64 {
		yes := i%2 == 1
		if i == 5 || i == 6 {
			yes = !yes
		}
		if yes {
			return 0.7 + float64(i)/100
		}
		return 0.3 - float64(i)/100
	}
	st := answeredStudy(t, e, "items", 12, 10, func(k, i int, truth string) string {
		if (i+k)%4 == 0 || i == 5 || i == 6 {
			return flip[truth]
		}
		return truth
	}, pyes)
	scene := `{"id": "t05", "domain": "tower", "answer": "Yes", "red": null, "blocks": [
		{"size": [0.1, 0.1, 0.1], "pos": [0, 0, 0.05], "yaw_deg": 0, "color": "#808080"},
		{"size": [0.1, 0.1, 0.1], "pos": [0.06, 0, 0.15], "yaw_deg": 0, "color": "#808080"}]}`
	if _, err := e.store.Pool().Exec(context.Background(), `UPDATE stimuli SET scene = $1 WHERE ext_id = 't05' AND set_id = $2`, scene, st.SetID); err != nil {
		t.Fatal(err)
	}
	return st.ID.String(), pyes
}

func TestAdminItemPages(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	if _, token := e.login(t, c, adminPassword); token == "" {
		t.Fatal("login failed")
	}
	id, pyes := itemsStudy(t, e)
	base := "/admin/studies/" + id

	t.Run("Disagreements", func(t *testing.T) {
		resp, body := e.get(t, c, base+"/disagreements")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		page := html.UnescapeString(body)
		// 10 of 10 wrong: p = 1/1024, q = 12 x p / 2 for the pair = 0.0059.
		for _, want := range []string{"2 of 12 items found at a false discovery rate of 0.05", "<strong>t05</strong>", "<strong>t06</strong>",
			"10 of 10 answers (100%)", "-10.0 mm", "no scene", "9.77e-04"} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if n := strings.Count(body, `<li class="found">`); n != 2 {
			t.Errorf("%d found items listed, want 2", n)
		}
		img := regexp.MustCompile(`src="(/admin/studies/[^"]+/image)"`).FindStringSubmatch(body)
		if img == nil {
			t.Fatal("no thumbnail")
		}
		if resp, png := e.get(t, c, img[1]); resp.StatusCode != http.StatusOK || !strings.HasPrefix(png, "\x89PNG") {
			t.Errorf("thumbnail: %d %.8q", resp.StatusCode, png)
		}
		// Another study's picture is not this study's item.
		other := pgtestStimulus(t, e)
		if resp, _ := e.get(t, c, base+"/items/"+other+"/image"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another set's picture through this study: %d", resp.StatusCode)
		}
		// At a false discovery rate of 0.001 nothing is found, and the nearest are shown.
		_, body = e.get(t, c, base+"/disagreements?fdr=0.001")
		if !strings.Contains(body, "0 of 12 items found") || !strings.Contains(body, `id="disagree-note"`) || strings.Count(body, "<li") < 10 {
			t.Errorf("strict rate:\n%s", body)
		}
		if resp, body := e.get(t, c, base+"/disagreements?fdr=2"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The false discovery rate must be a number above 0 and below 1") {
			t.Errorf("fdr=2: %d", resp.StatusCode)
		}
		resp, text := e.get(t, c, base+"/disagreements.csv")
		recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil || resp.StatusCode != http.StatusOK || len(recs) != 13 {
			t.Fatalf("CSV: %d, %d rows, %v\n%s", resp.StatusCode, len(recs), err, text)
		}
		found := 0
		for _, r := range recs[1:] {
			if r[9] == "true" {
				found++
				if r[0] != "t05" && r[0] != "t06" || r[5] != "10" {
					t.Errorf("found row %v", r)
				}
			}
			if r[0] == "t05" && r[10] != "-0.01000" {
				t.Errorf("t05's margin %q, want -0.01000", r[10])
			}
		}
		if found != 2 {
			t.Errorf("%d found in the CSV", found)
		}
	})

	t.Run("Soft", func(t *testing.T) {
		resp, body := e.get(t, c, base+"/soft")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<figure id="soft-calibration"><svg`) {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		// The page's correlation is the one computed from the stored answers and outputs.
		st := e.study
		st.ID = mustParseUUID(t, id)
		items := analysis.HumanItemAnswers(mustMatrix(t, e, st))
		model := map[string]float64{}
		for i := 1; i <= 12; i++ {
			model[fmt.Sprintf("t%02d", i)] = pyes(i)
		}
		cmp := analysis.CompareSoft(items, model)
		if cmp.Items != 12 || !strings.Contains(body, fmt.Sprintf("<td class=\"num\">%.3f</td>", cmp.Pearson)) {
			t.Errorf("Pearson %.3f over %d items not on the page", cmp.Pearson, cmp.Items)
		}
		resp, text := e.get(t, c, base+"/soft.csv")
		recs, err := csv.NewReader(bytes.NewReader([]byte(text))).ReadAll()
		if err != nil || resp.StatusCode != http.StatusOK || len(recs) != 13 || recs[0][6] != "p_yes" {
			t.Fatalf("soft.csv: %d %v\n%s", resp.StatusCode, err, text)
		}
		for _, r := range recs[1:] {
			if r[0] == "t05" && (r[4] != "10" && r[4] != "0" || r[5] != "10" || r[7] != "vlm") {
				t.Errorf("t05 row %v", r)
			}
		}
	})

	t.Run("ReportLinks", func(t *testing.T) {
		_, body := e.get(t, c, base+"/report")
		if !strings.Contains(body, `id="report-item-links"`) || !strings.Contains(body, base+"/disagreements") {
			t.Error("the report does not link the item pages")
		}
	})
}

func mustParseUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pgtestStimulus is a stimulus of the env's own study's set (towers-set),
// not of the items study's.
func pgtestStimulus(t *testing.T, e *adminEnv) string {
	t.Helper()
	var id string
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT id::text FROM stimuli WHERE set_id = $1 LIMIT 1`, e.study.SetID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
