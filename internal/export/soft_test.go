package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// softTruth is what every soft export must say: for each image with at least
// two answers, the share of Yes and the count; the answer is the majority.
func softTruth(rows []Answer) map[string]soft {
	out := map[string]soft{}
	for _, r := range rows {
		s := out[r.StimulusID]
		s.NAnswers++
		if r.Response == task.Yes {
			s.yes++
		}
		out[r.StimulusID] = s
	}
	for id, s := range out {
		if s.NAnswers < 2 {
			delete(out, id)
			continue
		}
		s.PYes = float64(s.yes) / float64(s.NAnswers)
		out[id] = s
	}
	return out
}

// checkSoft compares what a format says of each image with softTruth.
func checkSoft(t *testing.T, format string, want map[string]soft, got map[string]soft, answers map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d images with soft labels, want %d", format, len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok || g.NAnswers != w.NAnswers || math.Abs(g.PYes-w.PYes) > 1e-12 {
			t.Errorf("%s: %s has p_yes %v of %d, want %v of %d", format, id, g.PYes, g.NAnswers, w.PYes, w.NAnswers)
		}
		a := answers[id]
		switch {
		case 2*w.yes > w.NAnswers && a != task.Yes, 2*w.yes < w.NAnswers && a != task.No, !task.ValidAnswer(a):
			t.Errorf("%s: %s answered %q with p_yes %v", format, id, a, w.PYes)
		}
	}
}

// metaSoft reads a chat example's metadata.
func metaSoft(t *testing.T, e parsedExample) (string, soft) {
	t.Helper()
	if e.meta == nil {
		t.Fatalf("%s: a soft example without metadata", e.image)
	}
	id, _ := e.meta["stimulus_id"].(string)
	p, _ := e.meta["p_yes"].(float64)
	n, _ := e.meta["n_answers"].(float64)
	return id, soft{PYes: p, NAnswers: int(n)}
}

// TestSoftLabels exports the same answers with soft labels in every format,
// reads each with the checks its hard-label export passes (the loaders'
// shapes), and finds the share of Yes and the count of every image answered
// at least twice, with the majority as the answer.
func TestSoftLabels(t *testing.T) {
	rows := sampleRows(48) // image i has 1 + i%4 answers: a quarter have one, some tie
	want := softTruth(rows)
	opts := func(f Format) Options { return Options{Source: SoftLabel, Format: f, ValidationFraction: 0.3, Seed: 5} }

	t.Run("messages", func(t *testing.T) {
		data, sum, _ := export(t, rows, opts(Messages))
		files := zipFiles(t, data)
		exs := checkMessages(t, files)
		checkImages(t, files, exs, func(string) string { return "" })
		got, answers := map[string]soft{}, map[string]string{}
		for _, e := range exs {
			id, s := metaSoft(t, e)
			got[id], answers[id] = s, e.label
		}
		checkSoft(t, "messages", want, got, answers)
		if sum.TooFewForSoft != 12 || sum.Images != len(want) {
			t.Errorf("summary: %d left out, %d images; want 12 and %d", sum.TooFewForSoft, sum.Images, len(want))
		}
		card := string(files["README.md"])
		if !strings.Contains(card, "Label source: soft labels") || !strings.Contains(card, "12 images with fewer than 2 answers left out") {
			t.Errorf("card:\n%s", card)
		}
	})
	t.Run("trl", func(t *testing.T) {
		data, _, _ := export(t, rows, opts(TRL))
		files := zipFiles(t, data)
		exs := checkTRL(t, files)
		checkImages(t, files, exs, func(string) string { return "" })
		got, answers := map[string]soft{}, map[string]string{}
		for _, e := range exs {
			id, s := metaSoft(t, e)
			got[id], answers[id] = s, e.label
		}
		checkSoft(t, "trl", want, got, answers)
	})
	t.Run("llamafactory", func(t *testing.T) {
		data, _, _ := export(t, rows, opts(LlamaFactory))
		files := zipFiles(t, data)
		got, answers := map[string]soft{}, map[string]string{}
		for _, split := range []string{Train, Validation} {
			var arr []struct {
				Messages []map[string]string `json:"messages"`
				Images   []string            `json:"images"`
				Metadata map[string]any      `json:"metadata"`
			}
			if err := json.Unmarshal(files[split+".json"], &arr); err != nil {
				t.Fatalf("%s.json: %v", split, err)
			}
			for _, x := range arr {
				if len(x.Messages) != 2 || !strings.HasPrefix(x.Messages[0]["content"], "<image>") || len(x.Images) != 1 {
					t.Fatalf("%+v", x)
				}
				id, s := metaSoft(t, parsedExample{image: x.Images[0], meta: x.Metadata})
				got[id], answers[id] = s, x.Messages[1]["content"]
			}
		}
		if !bytes.Contains(files["dataset_info.json"], []byte(`"cubelab_train"`)) {
			t.Error("dataset_info.json does not register the training file")
		}
		checkSoft(t, "llamafactory", want, got, answers)
	})
	t.Run("imagefolder", func(t *testing.T) {
		data, _, _ := export(t, rows, opts(ImageFolder))
		files := zipFiles(t, data)
		got, answers := map[string]soft{}, map[string]string{}
		var exs []parsedExample
		for _, split := range []string{Train, Validation} {
			name := split + "/metadata.jsonl"
			for i, v := range jsonLines(t, name, files[name]) {
				// Every row has both columns, so the loader's schema holds for the whole file.
				p, okP := v["p_yes"].(float64)
				n, okN := v["n_answers"].(float64)
				if !okP || !okN {
					t.Fatalf("%s line %d: p_yes %v n_answers %v", name, i+1, v["p_yes"], v["n_answers"])
				}
				id := v["stimulus_id"].(string)
				got[id], answers[id] = soft{PYes: p, NAnswers: int(n)}, v["answer"].(string)
				exs = append(exs, parsedExample{split: split, image: v["file_name"].(string), label: v["answer"].(string)})
			}
		}
		checkImages(t, files, exs, func(split string) string { return split })
		checkSoft(t, "imagefolder", want, got, answers)
	})
	t.Run("csv", func(t *testing.T) {
		data, _, _ := export(t, rows, opts(CSV))
		files := zipFiles(t, data)
		recs, err := csv.NewReader(bytes.NewReader(files["data.csv"])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		got, answers := map[string]soft{}, map[string]string{}
		responses := 0
		for _, r := range recs[1:] {
			p, err1 := strconv.ParseFloat(r[col["p_yes"]], 64)
			n, err2 := strconv.Atoi(r[col["n_answers"]])
			if err1 != nil || err2 != nil || r[col["label_source"]] != "soft" {
				t.Fatalf("row %v", r)
			}
			id := r[col["stimulus_id"]]
			got[id], answers[id] = soft{PYes: p, NAnswers: n}, r[col["label"]]
			responses++
		}
		checkSoft(t, "csv", want, got, answers)
		wantResponses := 0
		for _, s := range want {
			wantResponses += s.NAnswers
		}
		if responses != wantResponses {
			t.Errorf("%d rows, want one per answer to a soft-labelled image, %d", responses, wantResponses)
		}
	})
	t.Run("openai", func(t *testing.T) {
		data, _, _ := export(t, rows, opts(OpenAI))
		files := zipFiles(t, data)
		got, answers := map[string]soft{}, map[string]string{}
		for _, split := range []string{Train, Validation} {
			lines := jsonLines(t, split+".jsonl", files[split+".jsonl"])
			labels := jsonLines(t, split+".labels.jsonl", files[split+".labels.jsonl"])
			if len(lines) != len(labels) || len(lines) == 0 {
				t.Fatalf("%s: %d training lines, %d label lines", split, len(lines), len(labels))
			}
			for i, v := range lines {
				if got := keys(v); len(got) != 1 || got[0] != "messages" {
					t.Fatalf("%s line %d: keys %v; OpenAI takes messages alone", split, i+1, got)
				}
				asst := v["messages"].([]any)[1].(map[string]any)["content"].(string)
				l := labels[i]
				if l["answer"] != asst {
					t.Fatalf("%s line %d: label line says %v, the example %v", split, i+1, l["answer"], asst)
				}
				id := l["stimulus_id"].(string)
				got[id], answers[id] = soft{PYes: l["p_yes"].(float64), NAnswers: int(l["n_answers"].(float64))}, asst
			}
		}
		checkSoft(t, "openai", want, got, answers)
	})
	// Hard-label exports are unchanged: no metadata, no labels file, and in
	// the CSV p_yes and n_answers describe the image's answers.
	t.Run("hard unchanged", func(t *testing.T) {
		data, _, _ := export(t, rows, Options{Source: Majority, Format: TRL, Seed: 5})
		for _, e := range checkTRL(t, zipFiles(t, data)) {
			if e.meta != nil {
				t.Fatalf("a hard-label example has metadata: %v", e.meta)
			}
		}
		data, _, _ = export(t, rows, Options{Source: EveryAnswer, Format: OpenAI, Seed: 5})
		for name := range zipFiles(t, data) {
			if strings.HasSuffix(name, ".labels.jsonl") {
				t.Errorf("hard-label OpenAI export has %s", name)
			}
		}
	})
	if _, err := ParseSource("soft"); err != nil {
		t.Error(err)
	}
	if _, err := ParseSource("p_yes"); err == nil || !strings.Contains(fmt.Sprint(err), "soft") {
		t.Errorf("unknown source error %v does not name soft", err)
	}
}
