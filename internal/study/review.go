package study

import (
	"strconv"
	"time"

	"github.com/cubelab/cubelab/internal/problem"
)

// Reviewing finished participants at scale (issue 16, item 3): which of them
// need a look before an approval, which reviews need a confirmation, and
// which may be taken back.

// MarkPaid is recording that a bonus batch was paid. It is not an action on
// a participant (Known is false), but it is logged and may be undone like one.
const MarkPaid Action = "paid"

// UndoWindow is how long after an approval, a return or a mark-paid the
// experimenter may take it back.
const UndoWindow = 5 * time.Minute

// NeedsLook reports whether a finished participant should be looked at
// before an approval: they failed an attention check, or the trial page
// flagged one of their answers (Evidence.Flags). A bulk approval leaves them
// out unless asked to include them, and approving one of them alone asks
// for a confirmation.
func (f ParticipantFacts) NeedsLook() bool { return f.FailedChecks > 0 || f.Flagged > 0 }

// LookReasons says in words why a participant needs a look; empty when they
// do not.
func (f ParticipantFacts) LookReasons() []string {
	var out []string
	if f.FailedChecks == 1 {
		out = append(out, "failed 1 attention check")
	} else if f.FailedChecks > 1 {
		out = append(out, "failed "+strconv.Itoa(f.FailedChecks)+" attention checks")
	}
	if f.FailedInstructed > 0 {
		// The only failed checks Prolific accepts as grounds for a rejection.
		out = append(out, strconv.Itoa(f.FailedInstructed)+" of them instructed-response")
	}
	if f.Flagged == 1 {
		out = append(out, "1 answer flagged on the trial page")
	} else if f.Flagged > 1 {
		out = append(out, strconv.Itoa(f.Flagged)+" answers flagged on the trial page")
	}
	return out
}

// NeedsConfirmation reports whether an action on count participants asks
// the experimenter to confirm first: a rejection always (the participant is
// told, and it cannot be undone), any action on several participants at once,
// and an approval of someone who needs a look.
func (a Action) NeedsConfirmation(count int, needsLook bool) bool {
	return a == Reject || count > 1 || (a == Approve && needsLook)
}

// Undoable reports whether the action can be taken back at all: approving,
// marking returned and marking a batch paid can; a rejection cannot.
func (a Action) Undoable() bool { return a == Approve || a == MarkReturned || a == MarkPaid }

// UndoMove is the status an undone action moves a participant from and back
// to: an approval goes back to completed, a return to started. ok is false
// for actions that do not move a participant back.
func (a Action) UndoMove() (from, to ParticipantStatus, ok bool) {
	switch a {
	case Approve, MarkReturned:
		return actionRules[a].to, actionRules[a].from[0], true
	}
	return "", "", false
}

// MayUndo says whether an action taken at `at` may be undone at now: only
// undoable actions, within UndoWindow, never twice, and never one that was
// sent to Prolific (an approval or a payment there is final). The error
// says why not, for the experimenter.
func MayUndo(a Action, at, now time.Time, sentToProlific, undone bool) error {
	switch {
	case !a.Undoable():
		return problem.Errorf(problem.ECONFLICT, "A %s cannot be undone.", a)
	case undone:
		return problem.Errorf(problem.ECONFLICT, "This was undone already.")
	case sentToProlific:
		return problem.Errorf(problem.ECONFLICT, "This went to Prolific, where it is final: it cannot be undone here.")
	case now.Sub(at) > UndoWindow:
		return problem.Errorf(problem.ECONFLICT, "Too late to undo: an action can be undone for %d minutes after it was taken.", int(UndoWindow.Minutes()))
	}
	return nil
}
