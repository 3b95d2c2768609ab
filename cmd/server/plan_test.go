package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/task"
)

func planEnv() (env, *bytes.Buffer) {
	var out bytes.Buffer
	return env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &out, stderr: io.Discard}, &out
}

// TestPlanCommand: the command's plan is the planner's, the budget buys what
// the pay says, the curve is written as SVG, and a pilot's analyze JSON
// gives the numbers.
func TestPlanCommand(t *testing.T) {
	ctx := context.Background()
	e, out := planEnv()
	svg := filepath.Join(t.TempDir(), "curve.svg")
	err := run(ctx, []string{"plan", "--human", "0.65", "--model", "0.8", "--items", "120", "--target", "0.06", "--budget", "500.00",
		"--base", "2.00", "--per-correct", "0.01", "--max-bonus", "1.00", "--seed", "7", "--svg", svg, "--format", "json"}, e)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		CostMinor int64                `json:"cost_per_participant_minor"`
		Needed    analysis.PlanPoint   `json:"needed"`
		Reached   bool                 `json:"reached"`
		Priced    []analysis.PlanPoint `json:"priced"`
		Curve     []analysis.PlanPoint `json:"curve"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want, ok, err := analysis.ParticipantsFor(analysis.PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120, Seed: 7}, 0.06)
	if err != nil || !ok || doc.Needed.Participants != want.Participants || doc.Needed.Width != want.Width || !doc.Reached {
		t.Errorf("needed %+v, the planner %+v", doc.Needed, want)
	}
	if doc.CostMinor != 278 || len(doc.Priced) != 1 || doc.Priced[0].Participants != 179 {
		t.Errorf("cost %d, priced %+v; want 278 a person and 179 people for 500.00", doc.CostMinor, doc.Priced)
	}
	if len(doc.Curve) < 10 {
		t.Errorf("curve of %d points", len(doc.Curve))
	}
	if b, err := os.ReadFile(svg); err != nil || !bytes.HasPrefix(b, []byte("<svg")) || !bytes.Contains(b, []byte(fmt.Sprintf("%d participants", want.Participants))) {
		t.Errorf("SVG: %v %.200s", err, b)
	}

	// Text output says the same.
	e, out = planEnv()
	if err := run(ctx, []string{"plan", "--target", "0.06", "--seed", "7"}, e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("Target width 0.06: %d participants", want.Participants)) || !strings.Contains(out.String(), "closed form") {
		t.Errorf("text:\n%s", out)
	}

	// A pilot: people and a model on 60 items, as "server analyze --format json" writes them.
	items := make([]analysis.Item, 60)
	for j := range items {
		items[j] = analysis.Item{ID: fmt.Sprint("t", j), Task: task.Tower, Size: 2 + j%3, Truth: analysis.Yes}
	}
	m := analysis.NewMatrix(items)
	for i := range 8 {
		o := m.AddObserver(analysis.Observer{ID: fmt.Sprint("p", i), Kind: analysis.Human})
		for j := range items {
			m.Observers[o].Answers[j] = analysis.Yes
			if j < 15 && (i+j)%3 != 0 || j == 40+i {
				m.Observers[o].Answers[j] = analysis.No
			}
		}
	}
	mo := m.AddObserver(analysis.Observer{ID: "m", Kind: analysis.Model, Model: "vlm", Condition: "base"})
	for j := range items {
		m.Observers[mo].Answers[j] = analysis.Yes
		if j < 10 || j == 50 {
			m.Observers[mo].Answers[j] = analysis.No
		}
	}
	rep, err := analysis.Analyze(m, analysis.Options{Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	pilot := filepath.Join(t.TempDir(), "pilot.json")
	b, _ := json.Marshal(analyzeOutput{Set: "s", Report: rep})
	os.WriteFile(pilot, b, 0o644)
	e, out = planEnv()
	if err := run(ctx, []string{"plan", "--pilot", pilot, "--pilot-model", "vlm:base", "--participants", "30", "--format", "json"}, e); err != nil {
		t.Fatal(err)
	}
	var pd struct {
		Input analysis.PlanInput `json:"input"`
	}
	json.Unmarshal(out.Bytes(), &pd)
	g := rep.Groups[len(rep.Groups)-1]
	if g.Size != 0 {
		for _, gr := range rep.Groups {
			if gr.Size == 0 {
				g = gr
			}
		}
	}
	wantIn, _ := analysis.PilotInput(analysis.PlanInput{}, g, &g.Models[0])
	if pd.Input.Items != 60 || pd.Input.HumanAccuracy != wantIn.HumanAccuracy || pd.Input.HumanHuman != wantIn.HumanHuman ||
		pd.Input.ModelAccuracy != wantIn.ModelAccuracy || pd.Input.ModelHuman != wantIn.ModelHuman || wantIn.HumanHuman <= 0 {
		t.Errorf("pilot input %+v, want %+v", pd.Input, wantIn)
	}

	for _, args := range [][]string{
		{"--human", "1.2"},
		{"--items", "1"},
		{"--measure", "accuracy"},
		{"--target", "-1"},
		{"--budget", "lots"},
		{"--format", "xml"},
		{"--pilot", pilot, "--pilot-model", "nope"},
		{"--pilot", svg},
		{"stray"},
	} {
		e, _ := planEnv()
		if err := run(ctx, append([]string{"plan"}, args...), e); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
