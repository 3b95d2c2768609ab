package analysis

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// goldenCell is one bootstrap estimate of the acceptance case.
type goldenCell struct {
	Task    task.Domain `json:"task"`
	Size    int         `json:"size"`
	Model   string      `json:"model,omitempty"`
	Measure string      `json:"measure"`
	Mean    float64     `json:"mean"`
	Lo      float64     `json:"lo"`
	Hi      float64     `json:"hi"`
}

func cellsOf(rep *Report) []goldenCell {
	var cells []goldenCell
	for _, g := range rep.Groups {
		cells = append(cells, goldenCell{g.Task, g.Size, "", MeasureHumanHuman, g.HumanHuman.Mean, g.HumanHuman.Lo, g.HumanHuman.Hi})
		for _, m := range g.Models {
			cells = append(cells, goldenCell{g.Task, g.Size, m.Model, MeasureModelHuman, m.ModelHuman.Mean, m.ModelHuman.Lo, m.ModelHuman.Hi})
			cells = append(cells, goldenCell{g.Task, g.Size, m.Model, MeasureModelTruth, m.ModelTruth.Mean, m.ModelTruth.Lo, m.ModelTruth.Hi})
		}
	}
	return cells
}

// TestAcceptanceAgreesWithBefore: the acceptance case (100 people x 120
// towers x 10 models, six sizes and all, 10,000 resamples, seed 1) against
// the intervals the analysis gave before its bootstrap shared draws between
// means (testdata/acceptance_d22ae99.json, written by commit d22ae99 and
// never to be regenerated). The kappas with the truth draw as before and must
// not move beyond their last bits. The means over pairs and people now share their draws
// (meanKey), so their endpoints may differ by Monte Carlo error: the 2.5% percentile of 10,000 resamples has a
// standard error of about 0.7% of the interval's width, and the difference of
// two independent ones about 1%; every endpoint must lie within 5% of the
// width (five standard errors), the means exactly where they were, and the
// typical (root mean square) difference must look like Monte Carlo error, not
// like a shift.
func TestAcceptanceAgreesWithBefore(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 resamples of the acceptance case")
	}
	b, err := os.ReadFile("testdata/acceptance_d22ae99.json")
	if err != nil {
		t.Fatal(err)
	}
	var before []goldenCell
	if err := json.Unmarshal(b, &before); err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(benchMatrix(), Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := cellsOf(rep)
	// Run after run, with any number of workers: the same intervals.
	again, err := Analyze(benchMatrix(), Options{Seed: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(now, cellsOf(again)) {
		t.Error("the same seed gave other intervals on a second run")
	}
	if len(now) != len(before) {
		t.Fatalf("%d estimates, %d before", len(now), len(before))
	}
	var sq float64
	var worst float64
	shared := 0
	for i, c := range now {
		o := before[i]
		if c.Task != o.Task || c.Size != o.Size || c.Model != o.Model || c.Measure != o.Measure {
			t.Fatalf("estimate %d is %+v, was %+v", i, c, o)
		}
		if !near(c.Mean, o.Mean, 1e-12) {
			t.Errorf("%+v: mean moved from %v", c, o.Mean)
		}
		if c.Measure == MeasureModelTruth {
			// The same draws; a resample's kappa now takes one division
			// instead of four, which may move its last bits.
			if !near(c.Lo, o.Lo, 1e-12) || !near(c.Hi, o.Hi, 1e-12) {
				t.Errorf("%+v: interval moved from [%v, %v]", c, o.Lo, o.Hi)
			}
			continue
		}
		shared++
		width := o.Hi - o.Lo
		for _, d := range []float64{(c.Lo - o.Lo) / width, (c.Hi - o.Hi) / width} {
			sq += d * d
			worst = max(worst, math.Abs(d))
			if math.Abs(d) > 0.05 {
				t.Errorf("%s %s size %d %s: [%.6f, %.6f], before [%.6f, %.6f]: %.1f%% of the width apart",
					c.Task, c.Measure, c.Size, c.Model, c.Lo, c.Hi, o.Lo, o.Hi, 100*d)
			}
		}
	}
	rms := math.Sqrt(sq / float64(2*shared))
	t.Logf("%d intervals over pairs and people: endpoints differ by %.2f%% of the width (root mean square), at most %.2f%%", shared, 100*rms, 100*worst)
	if rms > 0.02 {
		t.Errorf("endpoints differ by %.2f%% of the width on average: more than Monte Carlo error", 100*rms)
	}
}

// TestPeopleAgreesWithBefore: the bootstrap over people (HumanHumanPeople) of
// the acceptance case against what main at 5986982 gave for seeds 1 to 4
// (testdata/people_5986982.json, never to be regenerated), before its draws
// were shared between the sizes (one key per task and number of people
// instead of one per size) and before a resample visited only the drawn
// people. The definition is unchanged, so the means must not move and the
// endpoints may differ by Monte Carlo error only, as in
// TestAcceptanceAgreesWithBefore.
func TestPeopleAgreesWithBefore(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 resamples of the acceptance case, four seeds")
	}
	b, err := os.ReadFile("testdata/people_5986982.json")
	if err != nil {
		t.Fatal(err)
	}
	var before []struct {
		Seed         uint64
		Size         int
		Mean, Lo, Hi float64
	}
	if err := json.Unmarshal(b, &before); err != nil {
		t.Fatal(err)
	}
	var sq, worst float64
	i := 0
	for seed := uint64(1); seed <= 4; seed++ {
		rep, err := Analyze(benchMatrix(), Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range rep.Groups {
			o, c := before[i], g.HumanHumanPeople
			i++
			if o.Seed != seed || o.Size != g.Size {
				t.Fatalf("seed %d size %d, reference has seed %d size %d", seed, g.Size, o.Seed, o.Size)
			}
			if !near(c.Mean, o.Mean, 1e-12) {
				t.Errorf("seed %d size %d: mean %v, was %v", seed, g.Size, c.Mean, o.Mean)
			}
			width := o.Hi - o.Lo
			for _, d := range []float64{(c.Lo - o.Lo) / width, (c.Hi - o.Hi) / width} {
				sq += d * d
				worst = max(worst, math.Abs(d))
				if math.Abs(d) > 0.05 {
					t.Errorf("seed %d size %d: [%.6f, %.6f], before [%.6f, %.6f]: %.1f%% of the width apart",
						seed, g.Size, c.Lo, c.Hi, o.Lo, o.Hi, 100*d)
				}
			}
		}
	}
	if i != len(before) {
		t.Fatalf("%d estimates, %d before", i, len(before))
	}
	rms := math.Sqrt(sq / float64(2*i))
	t.Logf("%d intervals over people: endpoints differ by %.2f%% of the width (root mean square), at most %.2f%%", i, 100*rms, 100*worst)
	if rms > 0.02 {
		t.Errorf("endpoints differ by %.2f%% of the width on average: more than Monte Carlo error", 100*rms)
	}
}
