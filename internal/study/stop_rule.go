package study

import (
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/problem"
)

// StopMeasure names the measure of the live comparison a stopping rule
// watches.
type StopMeasure string

// Stop measures: "" is no rule.
const (
	StopOff        StopMeasure = ""
	StopAccuracy   StopMeasure = "accuracy"    // people's accuracy (Wilson interval)
	StopHumanHuman StopMeasure = "human_human" // mean human-human error consistency (bootstrap interval)
	// StopModelHuman is met when the interval of mean model-human error
	// consistency is narrow enough for every model imported for the
	// study's set: the widest decides, so that no model is left imprecise.
	StopModelHuman StopMeasure = "model_human"
)

// StopMeasures lists the measures a rule may watch, with their names.
func StopMeasures() [][2]string {
	return [][2]string{
		{string(StopAccuracy), "people's accuracy"},
		{string(StopHumanHuman), "human-human kappa"},
		{string(StopModelHuman), "model-human kappa (every model)"},
	}
}

// Name is the measure in words, as StopMeasures lists it; known is false
// (and the name is the measure's key) for a measure it does not list.
func (m StopMeasure) Name() (name string, known bool) {
	for _, x := range StopMeasures() {
		if x[0] == string(m) {
			return x[1], true
		}
	}
	return string(m), false
}

// StopRule pauses recruitment once the 95% interval of Measure is narrower
// than Width (Hi - Lo).
type StopRule struct {
	Measure StopMeasure
	Width   float64
}

// Armed reports whether the rule is on.
func (r StopRule) Armed() bool { return r.Measure != StopOff }

// Met reports whether an interval of width w (defined) satisfies the rule.
func (r StopRule) Met(w float64, defined bool) bool {
	return r.Armed() && defined && w < r.Width
}

// Describe writes the rule in words.
func (r StopRule) Describe() string {
	if !r.Armed() {
		return "off"
	}
	name, _ := r.Measure.Name()
	return "pause when the 95% interval of " + name + " is narrower than " + strconv.FormatFloat(r.Width, 'f', -1, 64)
}

// ParseStopRule reads the stopping rule form: a measure ("" for off) and a
// target width of the 95% interval, greater than 0 and at most 2 (a kappa
// lies in [-1, 1]). Errors name the field.
func ParseStopRule(measure, width string) (StopRule, error) {
	m := StopMeasure(strings.TrimSpace(measure))
	if m == StopOff {
		return StopRule{}, nil
	}
	if _, known := m.Name(); !known {
		return StopRule{}, problem.Errorf(problem.EINVALID, "Measure: choose one of the listed measures, or off.")
	}
	w, err := strconv.ParseFloat(strings.TrimSpace(width), 64)
	if err != nil || w != w {
		return StopRule{}, problem.Errorf(problem.EINVALID, "Target interval width: write a number such as 0.1.")
	}
	if w <= 0 || w > 2 {
		return StopRule{}, problem.Errorf(problem.EINVALID, "Target interval width: it must be greater than 0 and at most 2 (kappas lie between -1 and 1, accuracy between 0 and 1).")
	}
	if m == StopAccuracy && w > 1 {
		return StopRule{}, problem.Errorf(problem.EINVALID, "Target interval width: an accuracy's interval is at most 1 wide; choose a width of at most 1.")
	}
	return StopRule{Measure: m, Width: w}, nil
}
