package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/task"
)

// Measure names used in the CSV output.
const (
	MeasureAccuracy   = "accuracy"
	MeasureHumanHuman = "kappa_human_human" // error consistency, mean over pairs of people, bootstrapped over pairs
	// MeasureHumanHumanPeople is the same mean bootstrapped over people.
	MeasureHumanHumanPeople = "kappa_human_human_people"
	MeasureModelHuman       = "kappa_model_human" // error consistency, mean over people
	MeasureModelTruth       = "kappa_model_truth" // Cohen's kappa on the answers against the truth
)

// CSVHeader returns the header row of WriteCSV, a fresh slice on every call
// (a package-level slice could be changed by any caller, for every other one).
func CSVHeader() []string {
	return []string{"task", "size", "observer", "model", "condition", "seeds", "trained", "split", "measure",
		"value", "lo", "hi", "n", "correct", "undefined", "resamples", "kappa_min", "kappa_max", "p_independent"}
}

// WriteCSV writes every number of the report as one tidy row per measure;
// size is "all" for a task over all its sizes, undefined values are empty.
// A condition with trained sizes has split in_distribution or held_out on
// the rows of each size, and two more sets of rows over all sizes, one per
// part (people's accuracy on the part's items among them). The mean error
// consistencies carry their attainable range and p-value against
// independent observers (KappaChance).
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csvout.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return fmt.Errorf("analysis: %w", err)
	}
	for _, g := range r.Groups {
		size := "all"
		if g.Size != 0 {
			size = strconv.Itoa(g.Size)
		}
		type who struct{ observer, model, cond, seeds, trained, split string }
		acc := func(o who, a Accuracy) []string {
			return []string{string(g.Task), size, o.observer, o.model, o.cond, o.seeds, o.trained, o.split, MeasureAccuracy,
				csvout.Num(a.P), csvout.Num(a.Lo), csvout.Num(a.Hi), strconv.Itoa(a.N), strconv.Itoa(a.Correct), "", "", "", "", ""}
		}
		est := func(o who, measure string, e Estimate, c *KappaChance) []string {
			row := []string{string(g.Task), size, o.observer, o.model, o.cond, o.seeds, o.trained, o.split, measure,
				csvout.Num(e.Mean), csvout.Num(e.Lo), csvout.Num(e.Hi), strconv.Itoa(e.N), "", strconv.Itoa(e.Undefined), strconv.Itoa(e.Resamples), "", "", ""}
			if c != nil {
				row[16], row[17], row[18] = csvout.Num(c.Min), csvout.Num(c.Max), fp(c.P)
			}
			return row
		}
		people := who{observer: "people"}
		rows := [][]string{
			acc(people, g.HumanAccuracy),
			est(people, MeasureHumanHuman, g.HumanHuman, &g.HumanHumanChance),
			est(people, MeasureHumanHumanPeople, g.HumanHumanPeople, &g.HumanHumanChance),
		}
		for _, m := range g.Models {
			seeds := make([]string, len(m.Seeds))
			for i, s := range m.Seeds {
				seeds[i] = strconv.FormatInt(s, 10)
			}
			o := who{"model", m.Model, m.Condition, strings.Join(seeds, " "), m.Trained, ""}
			if m.Split != nil {
				o.split = *m.Split
			}
			rows = append(rows,
				acc(o, m.Accuracy),
				est(o, MeasureModelHuman, m.ModelHuman, &m.ModelHumanChance),
				est(o, MeasureModelTruth, m.ModelTruth, nil))
			for _, p := range m.Parts {
				po, mo := who{"people", m.Model, m.Condition, "", m.Trained, p.Split}, o
				mo.split = p.Split
				rows = append(rows,
					acc(po, p.HumanAccuracy),
					acc(mo, p.Accuracy),
					est(mo, MeasureModelHuman, p.ModelHuman, &p.ModelHumanChance),
					est(mo, MeasureModelTruth, p.ModelTruth, nil))
			}
		}
		if err := cw.WriteAll(rows); err != nil {
			return fmt.Errorf("analysis: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("analysis: %w", err)
	}
	return nil
}

// fp writes a p-value with six significant digits (small ones stay readable).
func fp(p float64) string {
	if math.IsNaN(p) {
		return ""
	}
	return strconv.FormatFloat(p, 'g', 6, 64)
}

// jnum is a float that encodes NaN (undefined) as JSON null.
type jnum float64

func (v jnum) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(v), 'g', -1, 64), nil
}

// MarshalJSON writes undefined values as null, which encoding/json cannot do for NaN.
func (a Accuracy) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Correct int  `json:"correct"`
		N       int  `json:"n"`
		P       jnum `json:"p"`
		Lo      jnum `json:"lo"`
		Hi      jnum `json:"hi"`
	}{a.Correct, a.N, jnum(a.P), jnum(a.Lo), jnum(a.Hi)})
}

// MarshalJSON writes undefined values as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mean      jnum `json:"mean"`
		Lo        jnum `json:"lo"`
		Hi        jnum `json:"hi"`
		Defined   bool `json:"defined"`
		N         int  `json:"n"`
		Undefined int  `json:"undefined"`
		Resamples int  `json:"resamples"`
	}{jnum(e.Mean), jnum(e.Lo), jnum(e.Hi), e.Defined, e.N, e.Undefined, e.Resamples})
}

// MarshalJSON writes an undefined kappa as null.
func (k Kappa) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Value    jnum `json:"value"`
		Defined  bool `json:"defined"`
		N        int  `json:"n"`
		Observed jnum `json:"observed"`
		Expected jnum `json:"expected"`
	}{jnum(k.Value), k.Defined, k.N, jnum(k.Observed), jnum(k.Expected)})
}

// ComparisonsCSVHeader is the header of WriteComparisonsCSV (a fresh slice).
func ComparisonsCSVHeader() []string {
	return []string{"task", "size", "first", "second", "measure", "difference", "lo", "hi", "n", "undefined",
		"resamples", "mcnemar_b", "mcnemar_c", "p"}
}

// WriteComparisonsCSV writes paired comparisons, two rows each: the accuracy
// difference (with McNemar's b, c and exact p) and the difference in mean
// kappa to humans; undefined values are empty.
func WriteComparisonsCSV(w io.Writer, cs []Comparison) error {
	cw := csvout.NewWriter(w)
	if err := cw.Write(ComparisonsCSVHeader()); err != nil {
		return fmt.Errorf("analysis: %w", err)
	}
	for _, c := range cs {
		size := "all"
		if c.Size != 0 {
			size = strconv.Itoa(c.Size)
		}
		row := func(measure string, e Estimate, b, cc, p string) []string {
			return []string{string(c.Task), size, c.First.String(), c.Second.String(), measure, csvout.Num(e.Mean), csvout.Num(e.Lo),
				csvout.Num(e.Hi), strconv.Itoa(e.N), strconv.Itoa(e.Undefined), strconv.Itoa(e.Resamples), b, cc, p}
		}
		mc := c.McNemar
		if err := cw.WriteAll([][]string{
			row("accuracy_difference", c.Accuracy, strconv.Itoa(mc.B), strconv.Itoa(mc.C), strconv.FormatFloat(mc.P, 'g', 6, 64)),
			row("kappa_model_human_difference", c.ModelHuman, "", "", ""),
		}); err != nil {
			return fmt.Errorf("analysis: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("analysis: %w", err)
	}
	return nil
}

// Tasks are the tasks the report has results for, in its order.
func (r *Report) Tasks() []task.Domain {
	var out []task.Domain
	for _, g := range r.Groups {
		if len(out) == 0 || out[len(out)-1] != g.Task {
			out = append(out, g.Task)
		}
	}
	return out
}
