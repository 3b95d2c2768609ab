package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// TestFlagsMatchStudy holds the answer statement's flags equal to
// study.Evidence.Flags, the rule's home, over every combination of the
// evidence: picture served or not, the page's time (none, too fast, fine),
// one showing or a reload, page hidden or not. It also checks the running
// counts kept on the participant: flagged answers and the longest run.
func TestFlagsMatchStudy(t *testing.T) {
	t.Parallel()
	type ev struct {
		served bool
		rt     *int
		shows  int
		hidden bool
	}
	fast, fine := 50, 900
	var cases []ev
	for _, served := range []bool{false, true} {
		for _, rt := range []*int{nil, &fast, &fine} {
			for _, shows := range []int{1, 2} {
				for _, hidden := range []bool{false, true} {
					cases = append(cases, ev{served, rt, shows, hidden})
				}
			}
		}
	}
	store, st, p := joined(t, len(cases))
	ctx := context.Background()
	flagged := 0
	var given []string
	for i, c := range cases {
		pos := i + 1
		for range c.shows {
			if _, err := store.ShowTrial(ctx, p, pos); err != nil {
				t.Fatal(err)
			}
		}
		if c.served {
			if _, err := store.TrialStimulus(ctx, p.ID, pos); err != nil {
				t.Fatal(err)
			}
		}
		answer := []string{task.Yes, task.No}[(pos/3)%2]
		given = append(given, answer)
		r, err := store.Submit(ctx, p.ID, study.Submission{Position: pos, Answer: answer, BrowserRTMs: c.rt,
			Timed: c.rt != nil, Hidden: &c.hidden})
		if err != nil {
			t.Fatal(err)
		}
		want := study.Evidence{ImageServed: c.served, BrowserRTMs: c.rt, ServerRTMs: r.ServerRTMs,
			Shows: c.shows, Hidden: c.hidden}.Flags(st.TooFastMs)
		if !slices.Equal(r.Flags, want) {
			t.Errorf("case %+v: the statement flagged %v, study.Evidence.Flags says %v", c, r.Flags, want)
		}
		if len(want) > 0 {
			flagged++
		}
	}
	_, q, err := store.Session(ctx, st.Slug, hashOf("tok"))
	if err != nil {
		t.Fatal(err)
	}
	if q.NFlagged != flagged || q.LongestRun != study.LongestRun(given) {
		t.Errorf("participant: %d flagged, longest run %d; want %d and %d", q.NFlagged, q.LongestRun, flagged, study.LongestRun(given))
	}
}
