package study

import (
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/problem"
)

func TestNeedsLook(t *testing.T) {
	for _, tc := range []struct {
		f       ParticipantFacts
		look    bool
		reasons int
	}{
		{ParticipantFacts{}, false, 0},
		{ParticipantFacts{LongestRun: 40, Answers: 40}, false, 0}, // straight-lining is the exclusion rule's, not a flag
		{ParticipantFacts{FailedChecks: 1}, true, 1},
		{ParticipantFacts{FailedChecks: 2}, true, 1},
		{ParticipantFacts{Flagged: 1}, true, 1},
		{ParticipantFacts{FailedChecks: 2, Flagged: 3}, true, 2},
	} {
		if got := tc.f.NeedsLook(); got != tc.look {
			t.Errorf("%+v NeedsLook = %v, want %v", tc.f, got, tc.look)
		}
		if got := tc.f.LookReasons(); len(got) != tc.reasons {
			t.Errorf("%+v LookReasons = %q, want %d", tc.f, got, tc.reasons)
		}
	}
}

func TestNeedsConfirmation(t *testing.T) {
	for _, tc := range []struct {
		a    Action
		n    int
		look bool
		want bool
	}{
		{Approve, 1, false, false},
		{Approve, 1, true, true},
		{Approve, 2, false, true},
		{MarkReturned, 1, false, false},
		{MarkReturned, 3, false, true},
		{Reject, 1, false, true},
	} {
		if got := tc.a.NeedsConfirmation(tc.n, tc.look); got != tc.want {
			t.Errorf("%s x%d look=%v: NeedsConfirmation = %v, want %v", tc.a, tc.n, tc.look, got, tc.want)
		}
	}
}

func TestMayUndo(t *testing.T) {
	at := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	ok := func(err error) bool { return err == nil }
	for _, tc := range []struct {
		name   string
		a      Action
		after  time.Duration
		sent   bool
		undone bool
		want   bool
	}{
		{"approve at once", Approve, 0, false, false, true},
		{"return after 4m59s", MarkReturned, UndoWindow - time.Second, false, false, true},
		{"paid at 5m", MarkPaid, UndoWindow, false, false, true},
		{"approve after 5m01s", Approve, UndoWindow + time.Second, false, false, false},
		{"approve sent to Prolific", Approve, 0, true, false, false},
		{"paid sent to Prolific", MarkPaid, time.Second, true, false, false},
		{"reject", Reject, 0, false, false, false},
		{"twice", Approve, 0, false, true, false},
	} {
		err := MayUndo(tc.a, at, at.Add(tc.after), tc.sent, tc.undone)
		if ok(err) != tc.want {
			t.Errorf("%s: MayUndo = %v, want allowed %v", tc.name, err, tc.want)
		}
		if err != nil && problem.Code(err) != problem.ECONFLICT {
			t.Errorf("%s: code %s, want %s", tc.name, problem.Code(err), problem.ECONFLICT)
		}
	}
	for _, a := range []Action{Approve, MarkReturned} {
		from, to, ok := a.UndoMove()
		if !ok || from != a.To() || !ParticipantStatus(to).Allows(a) {
			t.Errorf("%s: UndoMove = %s -> %s, %v", a, from, to, ok)
		}
	}
	if _, _, ok := Reject.UndoMove(); ok {
		t.Error("a rejection moves back")
	}
}
