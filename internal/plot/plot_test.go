package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/task"
)

// examples are realistic figures; set PLOT_OUT=dir to write them for a look.
func examples() map[string]interface{ Render(io.Writer) error } {
	nan := math.NaN()
	return map[string]interface{ Render(io.Writer) error }{
		"accuracy": AccuracyBySize{
			Title:  "Towers: accuracy by size",
			XLabel: "Tower size (blocks)",
			Series: []Series{
				{Name: "People (n = 100)", Points: []Point{{2, 0.95, 0.92, 0.97, 400, ""}, {3, 0.9, 0.86, 0.93, 400, ""}, {4, 0.84, 0.8, 0.87, 400, ""}, {5, 0.8, 0.76, 0.84, 400, ""}, {6, 0.74, 0.7, 0.78, 400, ""}, {7, 0.71, 0.66, 0.75, 400, ""}}},
				{Name: "Qwen2-VL-7B, base", Points: []Point{{2, 0.55, 0.34, 0.74, 20, ""}, {3, 0.5, 0.3, 0.7, 20, ""}, {4, 0.6, 0.39, 0.78, 20, ""}, {5, 0.45, 0.26, 0.66, 20, ""}, {6, 0.5, 0.3, 0.7, 20, ""}, {7, 0.55, 0.34, 0.74, 20, ""}}},
				{Name: "Qwen2-VL-7B, fine-tuned on towers 2-4", Points: []Point{{2, 1, 0.84, 1, 20, ""}, {3, 0.95, 0.76, 0.99, 20, ""}, {4, 0.9, 0.7, 0.97, 20, ""}, {5, 0.7, 0.48, 0.85, 20, ""}, {6, 0.6, 0.39, 0.78, 20, ""}, {7, 0.55, 0.34, 0.74, 20, ""}}},
				{Name: "<script>alert(1)</script>", Points: []Point{{2, 0.3, 0.15, 0.52, 20, ""}, {4, nan, nan, nan, 0, ""}, {7, 0.0, 0, 0.16, 20, ""}}},
			},
		},
		"heatmap": Heatmap{
			Title:   "Towers: accuracy of every model and condition",
			XLabel:  "Tower size (blocks)",
			Rows:    []string{"Qwen2-VL-7B, base", "Qwen2-VL-7B, fine-tuned on towers 2-4", "LLaVA-1.6 & <friends>", "GPT-4o"},
			Cols:    []int{2, 3, 4, 5, 6, 7},
			Values:  [][]float64{{0.55, 0.5, 0.6, 0.45, 0.5, 0.55}, {1, 0.95, 0.9, 0.7, 0.6, 0.55}, {0.2, 0.35, nan, 0.5, 0.65, 0.8}, {0.75, 0.7, 0.65, 0.6, 0.6, 0.58}},
			Trained: [][]bool{{}, {true, true, true, false, false, false}},
		},
		"kappa": KappaBars{
			Title:  "Towers: error consistency with people",
			YLabel: "Error consistency (kappa)",
			Band:   &Band{Label: "human-human (95% over people)", Mean: 0.32, Lo: 0.27, Hi: 0.37, N: 4950, Undefined: 3},
			Groups: []BarGroup{
				{Label: "Qwen2-VL-7B, base", Bars: []Bar{{Series: "model-human", Value: 0.02, Lo: -0.03, Hi: 0.07, N: 100}}},
				{Label: "Qwen2-VL-7B, fine-tuned on towers 2-4", Bars: []Bar{{Series: "model-human", Value: 0.28, Lo: 0.24, Hi: 0.31, N: 100}}},
				{Label: "<b>bold</b>", Bars: []Bar{{Series: "model-human", Value: nan, Lo: nan, Hi: nan, Undefined: 100}}},
			},
		},
		"truth": KappaBars{
			Title:  "Towers: Cohen's kappa with the ground truth",
			YLabel: "Cohen's kappa",
			Groups: []BarGroup{
				{Label: "Qwen2-VL-7B, base", Bars: []Bar{{Series: "model-ground truth", Value: 0.05, Lo: -0.12, Hi: 0.22, N: 120}}},
				{Label: "Qwen2-VL-7B, fine-tuned on towers 2-4", Bars: []Bar{{Series: "model-ground truth", Value: 0.62, Lo: 0.48, Hi: 0.75, N: 120}}},
				{Label: "<b>bold</b>", Bars: []Bar{{Series: "model-ground truth", Value: -0.3, Lo: -0.45, Hi: -0.1, N: 120, Undefined: 1}}},
			},
		},
	}
}

// parse decodes an SVG fully (well-formed XML) and counts elements by class.
func parse(t *testing.T, svg []byte) (classes map[string]int, texts []string, elements map[string]int) {
	t.Helper()
	classes, elements = map[string]int{}, map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			elements[x.Name.Local]++
			for _, a := range x.Attr {
				if a.Name.Local == "class" {
					for _, c := range strings.Fields(a.Value) {
						classes[c]++
					}
				}
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(x)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	return classes, texts, elements
}

func render(t *testing.T, name string, r interface{ Render(io.Writer) error }) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.Render(&b); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("PLOT_OUT"); dir != "" {
		os.WriteFile(filepath.Join(dir, name+".svg"), b.Bytes(), 0o644)
	}
	if !strings.HasPrefix(b.String(), `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `) {
		t.Errorf("%s: no viewBox on the root", name)
	}
	return b.Bytes()
}

func TestAccuracyBySize(t *testing.T) {
	a := examples()["accuracy"].(AccuracyBySize)
	classes, texts, _ := parse(t, render(t, "accuracy", a))
	// One marker and one interval per defined point: 6 + 6 + 6 + 2 (one NaN).
	if classes["point"] != 20 || classes["interval"] != 20 {
		t.Errorf("points %d intervals %d, want 20 and 20", classes["point"], classes["interval"])
	}
	for _, want := range []string{"Tower size (blocks)", "Accuracy", "<script>alert(1)</script>", "chance", "7"} {
		if !slices.Contains(texts, want) {
			t.Errorf("text %q missing", want)
		}
	}
}

func TestHeatmap(t *testing.T) {
	h := examples()["heatmap"].(Heatmap)
	classes, texts, _ := parse(t, render(t, "heatmap", h))
	if classes["cell"] != 24 || classes["trained"] != 3 {
		t.Errorf("cells %d, want 24; trained outlines %d, want 3", classes["cell"], classes["trained"])
	}
	for _, want := range []string{"0.55", "1.00", "n/a", "LLaVA-1.6 & <friends>", "Accuracy", "trained size"} {
		if !slices.Contains(texts, want) {
			t.Errorf("text %q missing", want)
		}
	}
	h.Values[0] = h.Values[0][:2]
	if err := h.Render(io.Discard); err == nil {
		t.Error("ragged values accepted")
	}
}

func TestKappaBars(t *testing.T) {
	k := examples()["kappa"].(KappaBars)
	classes, texts, elements := parse(t, render(t, "kappa", k))
	// Three bars, one undefined drawn as "n/a" text rather than a zero-height
	// bar; the human-human ceiling a band across them with its mean dashed.
	if classes["bar"] != 3 || classes["undefined"] != 1 || classes["interval"] != 2 || classes["band"] != 1 || classes["band-mean"] != 1 {
		t.Errorf("bars %d undefined %d intervals %d band %d mean %d", classes["bar"], classes["undefined"], classes["interval"], classes["band"], classes["band-mean"])
	}
	if elements["b"] != 0 || !slices.Contains(texts, "<b>bold</b>") {
		t.Error("a label's markup was not escaped")
	}
	// Undefined counts are noted: 3 human-human pairs, 100 model-human.
	for _, want := range []string{"human-human (95% over people) (3 n/a)", "model-human", "100 n/a", "Error consistency (kappa)"} {
		if !slices.Contains(texts, want) {
			t.Errorf("text %q missing", want)
		}
	}
	tr := examples()["truth"].(KappaBars)
	classes, texts, _ = parse(t, render(t, "truth", tr))
	if classes["bar"] != 3 || classes["band"] != 0 || !slices.Contains(texts, "-0.50") || !slices.Contains(texts, "Cohen's kappa") || !slices.Contains(texts, "1 n/a") {
		t.Errorf("truth panel: classes %v", classes)
	}
}

func TestEscapeEverywhere(t *testing.T) {
	evil := `"><script>x</script><x a='`
	for name, r := range map[string]interface{ Render(io.Writer) error }{
		"acc":  AccuracyBySize{Title: evil, XLabel: evil, Series: []Series{{Name: evil, Points: []Point{{X: 2, Y: 0.5, Lo: 0.4, Hi: 0.6}}}}},
		"heat": Heatmap{Title: evil, XLabel: evil, Rows: []string{evil}, Cols: []int{2}, Values: [][]float64{{0.5}}},
		"bars": KappaBars{Title: evil, YLabel: evil, Groups: []BarGroup{{Label: evil, Bars: []Bar{{Series: evil, Value: 0.5, Lo: 0.4, Hi: 0.6}}}}},
	} {
		var b bytes.Buffer
		if err := r.Render(&b); err != nil {
			t.Fatal(err)
		}
		_, _, elements := parse(t, b.Bytes())
		if elements["script"] != 0 || elements["x"] != 0 {
			t.Errorf("%s: injected elements %v", name, elements)
		}
	}
}

func TestFiguresFromReport(t *testing.T) {
	Y, N := analysis.Yes, analysis.No
	m := analysis.NewMatrix([]analysis.Item{
		{ID: "a", Task: task.Tower, Size: 2, Truth: Y}, {ID: "b", Task: task.Tower, Size: 2, Truth: N},
		{ID: "c", Task: task.Tower, Size: 3, Truth: Y}, {ID: "d", Task: task.Tower, Size: 3, Truth: N},
	})
	for i, answers := range [][]analysis.Answer{{Y, N, Y, Y}, {Y, Y, Y, N}, {N, N, Y, N}} {
		m.Observers = append(m.Observers, analysis.Observer{ID: fmt.Sprint("p", i), Kind: analysis.Human, Answers: answers})
	}
	for s, answers := range [][]analysis.Answer{{Y, Y, Y, Y}, {Y, N, N, N}} {
		m.Observers = append(m.Observers, analysis.Observer{ID: fmt.Sprint("m", s), Kind: analysis.Model, Model: "<m>", Condition: "base", Seed: int64(s), Answers: answers})
	}
	rep, err := analysis.Analyze(m, analysis.Options{Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	acc := AccuracyFigure(rep, task.Tower)
	if len(acc.Series) != 2 || acc.Series[0].Name != "People (n = 3)" || acc.Series[1].Name != "<m>, base (2 seeds)" || len(acc.Series[1].Points) != 2 {
		t.Fatalf("accuracy figure: %+v", acc)
	}
	// Model at size 2: seed 0 right on a, wrong on b; seed 1 right on both -> 3/4.
	if p := acc.Series[1].Points[0]; p.X != 2 || p.Y != 0.75 || p.N != 4 {
		t.Errorf("model size 2: %+v", p)
	}
	h := HeatmapFigure(rep, task.Tower)
	if len(h.Rows) != 2 || h.Rows[0] != "People" || !slices.Equal(h.Cols, []int{2, 3}) || h.Values[1][0] != 0.75 ||
		h.Values[0][0] != acc.Series[0].Points[0].Y {
		t.Errorf("heat map (People first, then the model): %+v", h)
	}
	k, err := KappaFigure(rep, task.Tower, 0)
	if err != nil || len(k.Groups) != 1 || len(k.Groups[0].Bars) != 1 || k.Band == nil || k.Groups[0].Bars[0].Series != "model-human" {
		t.Fatalf("kappa figure: %+v %v", k, err)
	}
	tr, err := TruthFigure(rep, task.Tower, 0)
	if err != nil || len(tr.Groups) != 1 || tr.Band != nil || tr.Groups[0].Bars[0].Series != "model-ground truth" {
		t.Fatalf("truth figure: %+v %v", tr, err)
	}
	if _, err := KappaFigure(rep, task.Pyramid, 0); err == nil {
		t.Error("a task without results gave a figure")
	}
	for name, f := range map[string]interface{ Render(io.Writer) error }{"acc-report": acc, "heat-report": h, "kappa-report": k, "truth-report": tr} {
		parse(t, render(t, name, f))
	}
}

func TestSeriesStayDistinct(t *testing.T) {
	seen := map[string]int{}
	for i := range 24 {
		k := fmt.Sprint(colour(i), shape(i))
		if j, dup := seen[k]; dup {
			t.Errorf("series %d looks like series %d", i, j)
		}
		seen[k] = i
	}
}
