package study

import (
	"slices"
	"testing"
)

func TestCheckEdit(t *testing.T) {
	a := Study{Title: "T", Places: 100, TimeLimitMinutes: 30, ConsentText: "c", InstructionsText: "i", Design: Pool,
		ItemsPerParticipant: 40, ResponsesPerItem: 2}
	cases := []struct {
		name   string
		status Status
		change func(*Study)
		ok     bool
	}{
		{"draft: anything", Draft, func(s *Study) { s.ItemsPerParticipant = 10; s.Title = "U" }, true},
		{"published: places", Published, func(s *Study) { s.Places = 80 }, true},
		{"paused: time and texts", Paused, func(s *Study) { s.TimeLimitMinutes = 40; s.ConsentText = "d"; s.InstructionsText = "j" }, true},
		{"published: K", Published, func(s *Study) { s.ItemsPerParticipant = 10 }, false},
		{"published: pay", Published, func(s *Study) { s.Pay.BaseMinor = 1 }, false},
		{"published: title", Published, func(s *Study) { s.Title = "U" }, false},
		{"closed: places", Closed, func(s *Study) { s.Places = 80 }, false},
	}
	for _, c := range cases {
		b := a
		c.change(&b)
		changes := Changes(a, b)
		if len(changes) == 0 {
			t.Fatalf("%s: no change found", c.name)
		}
		if err := c.status.CheckEdit(changes); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if got := ChangeSummary(Changes(a, func() Study { b := a; b.Places = 80; b.ConsentText = "x"; return b }())); got != "places 100 → 80; consent text changed" {
		t.Errorf("summary = %q", got)
	}
	// The store's update of a running study sets exactly these columns
	// (postgres.EditStudy): a new running field needs its column there too.
	if !slices.Equal(RunningFields(), []Field{FieldPlaces, FieldTimeLimit, FieldConsent, FieldInstructions}) {
		t.Errorf("running fields changed: %v; change postgres.EditStudy's columns with them", RunningFields())
	}
}
