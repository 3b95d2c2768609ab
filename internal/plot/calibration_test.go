package plot

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/analysis"
)

func TestCalibration(t *testing.T) {
	var items []analysis.ItemAnswers
	model := map[string]float64{}
	for i := range 30 {
		id := fmt.Sprint("t", i)
		items = append(items, analysis.ItemAnswers{Item: analysis.Item{ID: id}, N: 8, Yes: i % 9})
		model[id] = float64(i%10)/10 + 0.05
	}
	c := analysis.CompareSoft(items, model)
	svg := render(t, "calibration", Calibration{Title: "Towers: people's P(Yes) against <models>", Series: []CalibrationSeries{
		{Name: "qwen, base", Bins: c.Bins}, {Name: "empty", Bins: analysis.CompareSoft(nil, nil).Bins},
	}})
	classes, texts, _ := parse(t, svg)
	if classes["diagonal"] != 1 || classes["point"] != 10 || classes["series"] != 2 || classes["interval"] != 10 {
		t.Errorf("classes %v", classes)
	}
	if !slices.Contains(texts, "Towers: people's P(Yes) against <models>") || strings.Contains(string(svg), "NaN") {
		t.Errorf("texts %q", texts)
	}
}
