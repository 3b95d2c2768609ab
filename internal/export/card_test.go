package export

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// TestAgreementHandWorked exports 200 answers whose table against the ground truth
// is worked out by hand:
//
//	               truth Yes   truth No
//	answer Yes     a = 70      b = 43      a+b = 113
//	answer No      c = 30      d = 57      c+d =  87
//	               a+c = 100   b+d = 100   n   = 200
//
// equal = (a + d) / n = (70 + 57) / 200 = 127 / 200 = 63.5 %
// phi   = (ad - bc) / sqrt((a+b)(c+d)(a+c)(b+d))
//
//	= (70*57 - 43*30) / sqrt(113 * 87 * 100 * 100)
//	= (3990 - 1290) / (100 * sqrt(9831))
//	= 2700 / (100 * 99.151399)
//	= 0.272311
//
// which are the paper's 63.5 % and 0.27.
func TestAgreementHandWorked(t *testing.T) {
	var rows []Answer
	add := func(n int, resp, truth string) {
		for range n {
			i := len(rows)
			rows = append(rows, Answer{StimulusID: fmt.Sprintf("s%03d", i), Domain: task.Tower, Size: 2 + i%6,
				Truth: truth, Response: resp, ParticipantID: fmt.Sprintf("p%d", i%25), Study: "st"})
		}
	}
	add(70, task.Yes, task.Yes)
	add(43, task.Yes, task.No)
	add(30, task.No, task.Yes)
	add(57, task.No, task.No)
	data, sum, _ := export(t, rows, Options{Source: AsCollected, Format: Messages, ValidationFraction: 0.1})
	if want := (Agreement{YesYes: 70, YesNo: 43, NoYes: 30, NoNo: 57}); sum.Labels != want || sum.HumanAnswers != want {
		t.Fatalf("tables %+v, %+v; want %+v", sum.Labels, sum.HumanAnswers, want)
	}
	eq, _ := sum.Labels.Equal()
	phi, ok := sum.Labels.Phi()
	if eq != 0.635 || !ok || math.Abs(phi-0.272311) > 5e-7 {
		t.Errorf("equal %v, phi %v (%v); want 0.635, 0.272311", eq, phi, ok)
	}
	card := string(zipFiles(t, data)["README.md"])
	for _, want := range []string{
		"| exported labels | 200 | 63.5% (127 of 200) | 0.272 |",
		"200 human answers to the exported images from 25 distinct annotators; studies: st.",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
}

func TestPhiUndefined(t *testing.T) {
	cases := map[string]struct {
		t    Agreement
		text string
	}{
		"empty":         {Agreement{}, "undefined (no pairs)"},
		"all labels No": {Agreement{NoYes: 3, NoNo: 4}, "undefined (no label is Yes)"},
		"all Yes":       {Agreement{YesYes: 3, NoYes: 1}, "undefined (no ground truth is No)"},
		"truth all No":  {Agreement{YesNo: 2, NoNo: 5}, "undefined (no ground truth is Yes)"},
		"labels Yes":    {Agreement{YesYes: 2, YesNo: 5}, "undefined (no label is No)"},
	}
	for name, c := range cases {
		if _, ok := c.t.Phi(); ok {
			t.Errorf("%s: phi defined", name)
		}
		if got := c.t.phiText(); got != c.text {
			t.Errorf("%s: %q, want %q", name, got, c.text)
		}
		if strings.Contains(c.t.phiText(), "NaN") || strings.Contains(c.t.equalText(), "NaN") {
			t.Errorf("%s: NaN in the card", name)
		}
	}
	// Perfect agreement and perfect disagreement are the ends of the scale.
	if phi, _ := (Agreement{YesYes: 4, NoNo: 6}).Phi(); phi != 1 {
		t.Errorf("perfect agreement: phi %v", phi)
	}
	if phi, _ := (Agreement{YesNo: 4, NoYes: 6}).Phi(); phi != -1 {
		t.Errorf("perfect disagreement: phi %v", phi)
	}
}

// TestCardCounts checks the card's tables against counts taken from the input rows.
func TestCardCounts(t *testing.T) {
	rows := sampleRows(90)
	data, sum, _ := export(t, rows, Options{Source: EveryAnswer, Format: ImageFolder, ValidationFraction: 0.2, Seed: 11})
	card := string(zipFiles(t, data)["README.md"])
	type key struct {
		d    task.Domain
		size int
	}
	counts := map[key]*[2]int{}
	people := map[string]bool{}
	for _, r := range rows {
		k := key{r.Domain, r.Size}
		if counts[k] == nil {
			counts[k] = new([2]int)
		}
		if r.Response == task.Yes {
			counts[k][0]++
		} else {
			counts[k][1]++
		}
		people[r.ParticipantID] = true
	}
	for k, c := range counts {
		line := fmt.Sprintf("| %s | %d | %d | %d | %d |", k.d, k.size, c[0], c[1], c[0]+c[1])
		if !strings.Contains(card, line) {
			t.Errorf("card lacks %q", line)
		}
	}
	if n := strings.Count(card, "| tower |") + strings.Count(card, "| pyramid |"); n != len(counts) {
		t.Errorf("card has %d count rows, want %d", n, len(counts))
	}
	for _, want := range []string{
		fmt.Sprintf("| train | %d | %d |", sum.TrainImages, sum.TrainExamples),
		fmt.Sprintf("| validation | %d | %d |", sum.ValidationImages, sum.ValidationExamples),
		fmt.Sprintf("| total | 90 | %d |", len(rows)),
		fmt.Sprintf("%d human answers to the exported images from %d distinct annotators; studies: study0, study1.", len(rows), len(people)),
		"Label source: every human answer",
		"Attention-check items were left out before the export, and only the answers of participants who finished",
		"Seed: 11.",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
}
