package analysis

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// simulatedStudy builds one study of the planner's generative model as the
// report sees it: a Matrix of Yes/No answers against a ground truth, people
// and one model run, written here from the model's description rather than
// from the planner's code, so that the acceptance test below compares the
// planner with the report's own bootstrap.
func simulatedStudy(rng *rand.Rand, in PlanInput, people int) *Matrix {
	items := make([]Item, in.Items)
	p := make([]float64, in.Items)
	for j := range items {
		truth := Yes
		if rng.IntN(2) == 0 {
			truth = No
		}
		items[j] = Item{ID: fmt.Sprintf("t%03d", j), Task: task.Tower, Size: 2 + j%6, Truth: truth}
		p[j] = in.HumanAccuracy
		if in.HumanHuman > 0 {
			t := 1/in.HumanHuman - 1
			p[j] = betaDraw(rng, in.HumanAccuracy*t, (1-in.HumanAccuracy)*t)
		}
	}
	answer := func(j int, right bool) Answer {
		if right {
			return items[j].Truth
		}
		return Yes + No - items[j].Truth
	}
	m := NewMatrix(items)
	pm, ph := in.ModelAccuracy, in.HumanAccuracy
	cexp := pm*ph + (1-pm)*(1-ph)
	beta := 0.0
	if in.ModelHuman != 0 {
		beta = in.ModelHuman * (1 - cexp) / (2 * in.HumanHuman * ph * (1 - ph))
	}
	mo := m.AddObserver(Observer{ID: "model", Kind: Model, Model: "vlm"})
	for j := range items {
		q := min(1, max(0, pm+beta*(p[j]-ph)))
		m.Observers[mo].Answers[j] = answer(j, rng.Float64() < q)
	}
	for i := range people {
		o := m.AddObserver(Observer{ID: fmt.Sprintf("p%d", i), Kind: Human})
		for j := range items {
			m.Observers[o].Answers[j] = answer(j, rng.Float64() < p[j])
		}
	}
	return m
}

// TestPlanMatchesSimulatedStudies is the acceptance check: the
// planner's predicted width for people at 0.65, a model at 0.8, 120 items and
// 40 participants is within 10% of the mean width of the intervals that
// Analyze (the report's code) prints for 200 simulated studies. To keep it
// fast the report's bootstrap runs 1,000 resamples instead of 10,000: the
// percentile interval's ends then move by about a percent of its width from
// study to study, at random, which the mean over 200 studies averages out;
// it does not bias the width. Once with errors independent of the items (the
// closed-form case) and once with item difficulty shared by people and model.
func TestPlanMatchesSimulatedStudies(t *testing.T) {
	cases := []PlanInput{
		{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120},
		{HumanAccuracy: 0.65, ModelAccuracy: 0.8, HumanHuman: 0.2, ModelHuman: 0.15, Items: 120},
	}
	const people, studies = 40, 200
	for ci, in := range cases {
		t.Run(fmt.Sprintf("hh=%v,mh=%v", in.HumanHuman, in.ModelHuman), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(ci)+11, 99))
			widths := map[string]float64{}
			kappas := map[string]float64{}
			for s := range studies {
				rep, err := Analyze(simulatedStudy(rng, in, people), Options{Resamples: 1000, Seed: uint64(s), Grouping: ByTask})
				if err != nil {
					t.Fatal(err)
				}
				g := rep.Groups[0]
				for measure, e := range map[string]Estimate{
					MeasureModelHuman:       g.Models[0].ModelHuman,
					MeasureHumanHuman:       g.HumanHuman,
					MeasureHumanHumanPeople: g.HumanHumanPeople,
				} {
					widths[measure] += (e.Hi - e.Lo) / studies
					kappas[measure] += e.Mean / studies
				}
			}
			for _, measure := range []string{MeasureModelHuman, MeasureHumanHuman, MeasureHumanHumanPeople} {
				in := in
				in.Measure = measure
				pt, err := PredictWidth(in, people)
				if err != nil {
					t.Fatal(err)
				}
				rel := pt.Width/widths[measure] - 1
				t.Logf("%s: predicted %.4f (80%% of studies %.4f-%.4f, limit %.4f), simulated studies %.4f (%+.1f%%); kappa %.3f vs %.3f",
					measure, pt.Width, pt.Low, pt.High, pt.Limit, widths[measure], 100*rel, pt.MeanKappa, kappas[measure])
				if math.Abs(rel) > 0.10 {
					t.Errorf("%s: predicted width %.4f is %+.1f%% off the simulated studies' %.4f", measure, pt.Width, 100*rel, widths[measure])
				}
				if math.Abs(pt.MeanKappa-kappas[measure]) > 0.02 {
					t.Errorf("%s: planner's mean kappa %.3f, studies' %.3f", measure, pt.MeanKappa, kappas[measure])
				}
			}
		})
	}
}

// TestPlanKappasAreTheInputs holds the generative model to its promise: the
// kappas its studies show are the expected kappas it was given.
func TestPlanKappasAreTheInputs(t *testing.T) {
	in := PlanInput{HumanAccuracy: 0.7, ModelAccuracy: 0.75, HumanHuman: 0.25, ModelHuman: 0.12, Items: 200, Studies: 100}
	for measure, want := range map[string]float64{MeasureHumanHuman: 0.25, MeasureModelHuman: 0.12} {
		in.Measure = measure
		pt, err := PredictWidth(in, 30)
		if err != nil {
			t.Fatal(err)
		}
		// Error consistency is biased low by about (1 - kappa)/n at n items.
		if math.Abs(pt.MeanKappa-want) > 0.02 {
			t.Errorf("%s: mean kappa %.4f, want %.2f", measure, pt.MeanKappa, want)
		}
	}
}

// TestPlanIndependenceLimit holds the simulation to the closed form where
// one exists: errors independent of the items, many items and people.
func TestPlanIndependenceLimit(t *testing.T) {
	for _, measure := range []string{MeasureModelHuman, MeasureHumanHuman, MeasureHumanHumanPeople} {
		in := PlanInput{HumanAccuracy: 0.7, ModelAccuracy: 0.85, Items: 400, Measure: measure, Studies: 50}
		people := 120
		if measure == MeasureModelHuman {
			people = 400
		}
		pt, err := PredictWidth(in, people)
		if err != nil {
			t.Fatal(err)
		}
		limit := IndependenceWidth(in, people)
		if pt.Limit != limit {
			t.Fatalf("%s: point's limit %v, IndependenceWidth %v", measure, pt.Limit, limit)
		}
		tol := 0.04
		t.Logf("%s: simulated %.5f, closed form %.5f", measure, pt.Width, limit)
		if math.Abs(pt.Width/limit-1) > tol {
			t.Errorf("%s: simulated width %.5f, closed form %.5f", measure, pt.Width, limit)
		}
	}
	// The closed form at the acceptance case: 0.65 and 0.8, 120 items, 40 people.
	got := IndependenceWidth(PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120, Measure: MeasureModelHuman}, 40)
	// 3.92 x 2 sqrt(.65 .35 .8 .2) / (.8 .35 + .65 .2) / sqrt(4800)
	want := 2 * z975 * 2 * math.Sqrt(0.65*0.35*0.8*0.2) / (0.8*0.35 + 0.65*0.2) / math.Sqrt(4800)
	if math.Abs(got-want) > 1e-12 || math.Abs(got-0.0527) > 0.0005 {
		t.Errorf("closed form %v, want %v (about 0.0527)", got, want)
	}
}

// TestParticipantsFor checks the search finds the edge: the predicted width
// at the answer meets the target, one person fewer does not.
func TestParticipantsFor(t *testing.T) {
	for _, tc := range []struct {
		in     PlanInput
		target float64
	}{
		{PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120, Studies: 100}, 0.06},
		{PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, HumanHuman: 0.2, Items: 120, Measure: MeasureHumanHuman, Studies: 100}, 0.02},
	} {
		pt, ok, err := ParticipantsFor(tc.in, tc.target)
		if err != nil || !ok {
			t.Fatalf("%+v: ok %v, err %v", tc.in, ok, err)
		}
		if pt.Width > tc.target {
			t.Errorf("%d participants give %.4f > target %.4f", pt.Participants, pt.Width, tc.target)
		}
		before, err := PredictWidth(tc.in, pt.Participants-1)
		if err != nil {
			t.Fatal(err)
		}
		if before.Width <= tc.target {
			t.Errorf("%d participants already give %.4f <= target %.4f", pt.Participants-1, before.Width, tc.target)
		}
		again, _, _ := ParticipantsFor(tc.in, tc.target)
		if fmt.Sprint(again) != fmt.Sprint(pt) { // NaN limits compare unequal
			t.Errorf("same seed, different plan: %+v then %+v", pt, again)
		}
	}
	// Out of reach: a width of 0.001 needs far more than the largest study.
	in := PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120, Studies: 20}
	pt, ok, err := ParticipantsFor(in, 0.001)
	if err != nil || ok || pt.Participants != in.MaxParticipants() {
		t.Errorf("unreachable target: %+v ok %v err %v", pt, ok, err)
	}
}

func TestPlanInputErrors(t *testing.T) {
	good := PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120}
	for _, tc := range []struct {
		field string
		edit  func(*PlanInput)
	}{
		{"human accuracy", func(in *PlanInput) { in.HumanAccuracy = 1 }},
		{"human accuracy", func(in *PlanInput) { in.HumanAccuracy = math.NaN() }},
		{"model accuracy", func(in *PlanInput) { in.ModelAccuracy = 0 }},
		{"human-human kappa", func(in *PlanInput) { in.HumanHuman = -0.1 }},
		{"model-human kappa", func(in *PlanInput) { in.ModelHuman = 0.2 }},
		{"items", func(in *PlanInput) { in.Items = 1 }},
		{"items", func(in *PlanInput) { in.Items = 1_000_000 }},
		{"measure", func(in *PlanInput) { in.Measure = "accuracy" }},
		{"studies", func(in *PlanInput) { in.Studies = 3 }},
	} {
		in := good
		tc.edit(&in)
		_, err := PredictWidth(in, 10)
		var pe *PlanError
		if !errors.As(err, &pe) || pe.Field != tc.field {
			t.Errorf("%+v: error %v, want one about %s", in, err, tc.field)
		}
	}
	if _, err := PredictWidth(good, 1); err == nil {
		t.Error("one participant has no interval, yet no error")
	}
	if _, _, err := ParticipantsFor(good, 0); err == nil {
		t.Error("target width 0 accepted")
	}
}
