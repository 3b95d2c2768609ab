package analysis

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/task"
)

// PairedDifference is the mean of a[i] - b[i] over the pairs where both are
// defined (not NaN), with a bootstrap interval that resamples the pairs, so
// that both sides of a pair are always drawn together: the paired bootstrap.
// Pairs are items for a difference in accuracy and people for a difference
// in mean kappa to humans. name keys the bootstrap's random stream (see
// streamKey), so the same name, seed and data give the same interval.
func PairedDifference(a, b []float64, resamples int, seed uint64, name string) Estimate {
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	var d []float64
	undefined := 0
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			undefined++
			continue
		}
		d = append(d, a[i]-b[i])
	}
	var est Estimate
	jb, fin := meanEstimate(d, undefined, resamples, func(e Estimate) { est = e })
	if jb != nil {
		jb.key = streamKey("paired", name)
		runJobs([]*job{jb}, seed, 0)
	}
	fin()
	return est
}

// AccuracyDifference compares two observers' accuracy on the same items:
// McNemar's exact test and the paired bootstrap interval of the difference
// (first minus second) over the items both answered.
func AccuracyDifference(a, b, truth []Answer, resamples int, seed uint64, name string) (McNemar, Estimate) {
	ra := make([]float64, len(truth))
	rb := make([]float64, len(truth))
	for i := range truth {
		if a[i] == Missing || b[i] == Missing || truth[i] == Missing {
			ra[i], rb[i] = math.NaN(), math.NaN()
			continue
		}
		if a[i] == truth[i] {
			ra[i] = 1
		}
		if b[i] == truth[i] {
			rb[i] = 1
		}
	}
	e := PairedDifference(ra, rb, resamples, seed, name)
	e.Undefined = 0 // items either side left unanswered are not kappas
	return McNemarTest(a, b, truth), e
}

// Condition names one model and condition (all its seeds).
type Condition struct {
	Model     string `json:"model"`
	Condition string `json:"condition"`
}

// ParseCondition reads "MODEL" or "MODEL:CONDITION".
func ParseCondition(s string) Condition {
	m, c, _ := strings.Cut(s, ":")
	return Condition{Model: m, Condition: c}
}

func (c Condition) String() string {
	if c.Condition == "" {
		return c.Model
	}
	return c.Model + ":" + c.Condition
}

// Comparison is the paired difference of two conditions, First minus Second,
// on one task and size (Size 0: all sizes of the task).
type Comparison struct {
	Task   task.Domain `json:"task"`
	Size   int         `json:"size"`
	First  Condition   `json:"first"`
	Second Condition   `json:"second"`
	// Accuracy: McNemar's exact test and the paired bootstrap over items of
	// the accuracy difference. A condition's answer to an item is the
	// majority of its seeds' answers (a tie counts as no answer).
	McNemar  McNemar  `json:"mcnemar"`
	Accuracy Estimate `json:"accuracy_difference"`
	// ModelHuman is the difference in mean error consistency with people,
	// each person's kappa averaged over seeds, bootstrapped over the people
	// both conditions have a defined kappa with (the paired bootstrap).
	ModelHuman Estimate `json:"kappa_model_human_difference"`
}

// CompareConditions tests, on every task and size present, whether first
// differs from second in accuracy and in mean error consistency with people.
// Attention checks and excluded observers are left out as in Analyze.
func CompareConditions(m *Matrix, first, second Condition, opt Options) ([]Comparison, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if opt.Resamples == 0 {
		opt.Resamples = DefaultResamples
	}
	runsOf := func(c Condition) []int {
		var out []int
		for i, o := range m.Observers {
			if o.Kind == Model && !o.Excluded && o.Model == c.Model && o.Condition == c.Condition {
				out = append(out, i)
			}
		}
		return out
	}
	ra, rb := runsOf(first), runsOf(second)
	if len(ra) == 0 || len(rb) == 0 {
		return nil, fmt.Errorf("analysis: no model runs of %q or of %q", first, second)
	}
	var humans []int
	for i, o := range m.Observers {
		if o.Kind == Human && !o.Excluded {
			humans = append(humans, i)
		}
	}
	truth := make([]Answer, len(m.Items))
	for j, it := range m.Items {
		truth[j] = it.Truth
	}
	var out []Comparison
	for _, g := range groupsOf(m.Items, opt.Grouping) {
		in := func(j int) bool {
			it := m.Items[j]
			return !it.AttentionCheck && it.Task == g.Task && (g.Size == 0 || it.Size == g.Size)
		}
		masked := func(ans []Answer) []Answer {
			out := make([]Answer, len(ans))
			for j := range ans {
				if in(j) {
					out[j] = ans[j]
				}
			}
			return out
		}
		size := "all"
		if g.Size != 0 {
			size = strconv.Itoa(g.Size)
		}
		name := string(g.Task) + "|" + size + "|" + first.String() + "|" + second.String()
		c := Comparison{Task: g.Task, Size: g.Size, First: first, Second: second}
		c.McNemar, c.Accuracy = AccuracyDifference(masked(majority(m, ra)), masked(majority(m, rb)), masked(truth), opt.Resamples, opt.Seed, "accuracy|"+name)
		ka := make([]float64, len(humans))
		kb := make([]float64, len(humans))
		for i, h := range humans {
			hum := masked(m.Observers[h].Answers)
			ka[i], kb[i] = meanKappa(m, ra, hum, truth), meanKappa(m, rb, hum, truth)
		}
		c.ModelHuman = PairedDifference(ka, kb, opt.Resamples, opt.Seed, "model_human|"+name)
		out = append(out, c)
	}
	return out, nil
}

// majority is the runs' majority answer per item; a tie is Missing.
func majority(m *Matrix, runs []int) []Answer {
	out := make([]Answer, len(m.Items))
	for j := range m.Items {
		yes, no := 0, 0
		for _, r := range runs {
			switch m.Observers[r].Answers[j] {
			case Yes:
				yes++
			case No:
				no++
			}
		}
		switch {
		case yes > no:
			out[j] = Yes
		case no > yes:
			out[j] = No
		}
	}
	return out
}

// meanKappa is the error consistency of each run with the person (whose
// answers outside the group are already Missing), averaged over the runs
// where it is defined; NaN when it is defined for none.
func meanKappa(m *Matrix, runs []int, person, truth []Answer) float64 {
	var s float64
	n := 0
	for _, r := range runs {
		if k := ErrorConsistency(m.Observers[r].Answers, person, truth); k.Defined {
			s += k.Value
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
