package study

import (
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
)

func TestParseStopRule(t *testing.T) {
	for _, c := range []struct {
		measure, width string
		want           StopRule
		field          string // "" when accepted
	}{
		{"", "", StopRule{}, ""},
		{"", "junk", StopRule{}, ""},
		{"human_human", "0.1", StopRule{StopHumanHuman, 0.1}, ""},
		{"model_human", " 0.25 ", StopRule{StopModelHuman, 0.25}, ""},
		{"accuracy", "1", StopRule{StopAccuracy, 1}, ""},
		{"accuracy", "1.5", StopRule{}, "Target interval width"},
		{"human_human", "0", StopRule{}, "Target interval width"},
		{"human_human", "NaN", StopRule{}, "Target interval width"},
		{"human_human", "3", StopRule{}, "Target interval width"},
		{"human_human", "", StopRule{}, "Target interval width"},
		{"kappa", "0.1", StopRule{}, "Measure"},
	} {
		got, err := ParseStopRule(c.measure, c.width)
		if c.field == "" {
			if err != nil || got != c.want {
				t.Errorf("%q %q: %+v %v, want %+v", c.measure, c.width, got, err, c.want)
			}
			continue
		}
		if problem.Code(err) != problem.EINVALID || !strings.HasPrefix(problem.Message(err), c.field+":") {
			t.Errorf("%q %q: %v, want a refusal naming %s", c.measure, c.width, err, c.field)
		}
	}
	r := StopRule{StopHumanHuman, 0.1}
	if !r.Met(0.09, true) || r.Met(0.1, true) || r.Met(0.05, false) || (StopRule{}).Met(0, true) {
		t.Error("Met")
	}
}
