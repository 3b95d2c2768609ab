package plot

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/analysis"
)

func TestWidthCurve(t *testing.T) {
	in := analysis.PlanInput{HumanAccuracy: 0.65, ModelAccuracy: 0.8, Items: 120, Studies: 50}
	pts, err := analysis.WidthCurve(in, analysis.CurveCounts(in, 120, 12))
	if err != nil {
		t.Fatal(err)
	}
	svg := render(t, "width-curve", WidthCurve{Title: "Model-human kappa: <width> by participants", Points: pts, Target: 0.06, Chosen: 43})
	classes, texts, _ := parse(t, svg)
	for _, c := range []string{"band", "curve", "limit", "target", "chosen"} {
		if classes[c] != 1 {
			t.Errorf("class %s drawn %d times, want once", c, classes[c])
		}
	}
	if classes["point"] != len(pts) {
		t.Errorf("%d points drawn, %d predicted", classes["point"], len(pts))
	}
	if !slices.Contains(texts, "43 participants") || !slices.Contains(texts, "Model-human kappa: <width> by participants") {
		t.Errorf("labels missing: %q", texts)
	}
	// Without a target, a chosen point or a closed form: none of them drawn.
	in.HumanHuman = 0.2
	pts, err = analysis.WidthCurve(in, []int{10, 20})
	if err != nil {
		t.Fatal(err)
	}
	svg = render(t, "width-curve-bare", WidthCurve{Title: "bare", Points: pts, Target: math.NaN()})
	classes, _, _ = parse(t, svg)
	for _, c := range []string{"limit", "target", "chosen"} {
		if classes[c] != 0 {
			t.Errorf("bare curve draws %s", c)
		}
	}
	if strings.Contains(string(svg), "NaN") {
		t.Error("NaN written into the SVG")
	}
}
