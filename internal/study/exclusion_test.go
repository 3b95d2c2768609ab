package study_test

import (
	"slices"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

func TestParseExclusion(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for in, want := range map[string]string{
			"":                                   "none",
			"none":                               "none",
			"checks>=1":                          "checks>=1",
			" run>=20 , checks>=2,flagged>=0.25": "checks>=2,flagged>=0.25,run>=20",
			"device=phone,device=tablet,device=phone": "device=phone,device=tablet",
			"instructed>=1, checks>=3":                "checks>=3,instructed>=1",
		} {
			e, err := study.ParseExclusion(in)
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			if e.String() != want {
				t.Errorf("%q: got %q, want %q", in, e.String(), want)
			}
			back, err := study.ParseExclusion(e.String())
			if err != nil || back.String() != want {
				t.Errorf("%q: round trip gave %q, %v", in, back.String(), err)
			}
		}
	})
	t.Run("problem.EINVALID", func(t *testing.T) {
		for _, in := range []string{"checks>=0", "checks>=x", "flagged>=0", "flagged>=1.5", "run", "device=watch", "speed>=3", "instructed>=0"} {
			if _, err := study.ParseExclusion(in); problem.Code(err) != problem.EINVALID {
				t.Errorf("%q: got %v, want problem.EINVALID", in, err)
			}
		}
	})
}

func TestExclusionReasons(t *testing.T) {
	e, err := study.ParseExclusion("checks>=2,flagged>=0.2,run>=5,device=phone")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    study.ParticipantFacts
		n    int
	}{
		{"clean", study.ParticipantFacts{FailedChecks: 1, Answers: 10, Flagged: 1, LongestRun: 4, Device: "desktop"}, 0},
		{"checks at the bound", study.ParticipantFacts{FailedChecks: 2, Answers: 10}, 1},
		{"flagged share at the bound", study.ParticipantFacts{Answers: 10, Flagged: 2}, 1},
		{"run at the bound", study.ParticipantFacts{Answers: 10, LongestRun: 5}, 1},
		{"device, any case", study.ParticipantFacts{Answers: 10, Device: "Phone"}, 1},
		{"all four", study.ParticipantFacts{FailedChecks: 3, Answers: 10, Flagged: 5, LongestRun: 9, Device: "phone"}, 4},
	} {
		if got := e.Reasons(c.f); len(got) != c.n {
			t.Errorf("%s: reasons %q, want %d", c.name, got, c.n)
		}
	}
	ins, err := study.ParseExclusion("instructed>=1")
	if err != nil {
		t.Fatal(err)
	}
	if rs := ins.Reasons(study.ParticipantFacts{FailedChecks: 3, Answers: 10}); len(rs) != 0 {
		t.Errorf("item checks alone excluded under instructed>=1: %q", rs)
	}
	if rs := ins.Reasons(study.ParticipantFacts{FailedChecks: 1, FailedInstructed: 1, Answers: 10}); len(rs) != 1 {
		t.Errorf("a failed instructed check not excluded under instructed>=1: %q", rs)
	}
	if rs := (study.Exclusion{}).Reasons(study.ParticipantFacts{FailedChecks: 9, Answers: 9, Flagged: 9, LongestRun: 9, Device: "phone"}); rs != nil {
		t.Errorf("the empty rule excluded: %q", rs)
	}
}

func TestLongestRun(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want int
	}{
		{nil, 0},
		{[]string{"Yes"}, 1},
		{[]string{"Yes", "No", "No", "No", "Yes", "Yes"}, 3},
		{slices.Repeat([]string{"No"}, 7), 7},
	} {
		if got := study.LongestRun(c.in); got != c.want {
			t.Errorf("%q: %d, want %d", c.in, got, c.want)
		}
	}
}
