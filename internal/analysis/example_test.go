package analysis_test

import (
	"fmt"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/task"
)

// A caller fills the matrix from its rows (answers of people who were not
// rejected, attention checks left out or flagged) and reads the groups back.
func ExampleAnalyze() {
	m := analysis.NewMatrix([]analysis.Item{
		{ID: "t1", Task: task.Tower, Size: 2, Truth: analysis.Yes},
		{ID: "t2", Task: task.Tower, Size: 2, Truth: analysis.No},
		{ID: "t3", Task: task.Tower, Size: 3, Truth: analysis.Yes},
		{ID: "t4", Task: task.Tower, Size: 3, Truth: analysis.No},
	})
	rows := []struct {
		who      string
		kind     analysis.Kind
		seed     int64
		stimulus string
		answer   string
	}{
		{"p1", analysis.Human, 0, "t1", "Yes"}, {"p1", analysis.Human, 0, "t2", "No"},
		{"p1", analysis.Human, 0, "t3", "No"}, {"p1", analysis.Human, 0, "t4", "No"},
		{"p2", analysis.Human, 0, "t1", "Yes"}, {"p2", analysis.Human, 0, "t2", "Yes"},
		{"p2", analysis.Human, 0, "t3", "Yes"}, {"p2", analysis.Human, 0, "t4", "No"},
		{"qwen", analysis.Model, 1, "t1", "Yes"}, {"qwen", analysis.Model, 1, "t2", "Yes"},
		{"qwen", analysis.Model, 1, "t3", "Yes"}, {"qwen", analysis.Model, 1, "t4", "Yes"},
	}
	observers := map[string]int{}
	for _, r := range rows {
		key := fmt.Sprint(r.who, r.seed)
		i, ok := observers[key]
		if !ok {
			o := analysis.Observer{ID: r.who, Kind: r.kind}
			if r.kind == analysis.Model {
				o.Model, o.Seed = r.who, r.seed
			}
			i = m.AddObserver(o)
			observers[key] = i
		}
		a, err := analysis.ParseAnswer(r.answer)
		if err != nil {
			panic(err)
		}
		if err := m.Set(i, r.stimulus, a); err != nil {
			panic(err)
		}
	}
	rep, err := analysis.Analyze(m, analysis.Options{Resamples: 1000, Seed: 1})
	if err != nil {
		panic(err)
	}
	for _, g := range rep.Groups {
		q := g.Models[0]
		fmt.Printf("%s size %d: people %.2f, qwen %.2f, human-human defined %v, qwen-truth kappa defined %v\n",
			g.Task, g.Size, g.HumanAccuracy.P, q.Accuracy.P, g.HumanHuman.Defined, q.ModelTruth.Defined)
	}
	// Output:
	// tower size 2: people 0.75, qwen 0.50, human-human defined true, qwen-truth kappa defined true
	// tower size 3: people 0.75, qwen 0.50, human-human defined true, qwen-truth kappa defined true
	// tower size 0: people 0.75, qwen 0.50, human-human defined true, qwen-truth kappa defined true
}
