package study

import (
	"slices"
	"testing"
)

var (
	allStudyStatuses       = []Status{Draft, Published, Paused, Closed}
	allParticipantStatuses = []ParticipantStatus{Started, Completed, Approved, Returned, TimedOut, Rejected}
)

func TestCanMoveTo(t *testing.T) {
	allowed := map[[2]Status]bool{
		{Draft, Published}:  true,
		{Published, Paused}: true, {Published, Closed}: true,
		{Paused, Published}: true, {Paused, Closed}: true,
	}
	for _, from := range allStudyStatuses {
		for _, to := range allStudyStatuses {
			if got := from.CanMoveTo(to); got != allowed[[2]Status{from, to}] {
				t.Errorf("%s.CanMoveTo(%s) = %v", from, to, got)
			}
		}
	}
	if Status("").CanMoveTo(Published) || Draft.CanMoveTo("") {
		t.Error("an unknown status moves")
	}
}

func TestActions(t *testing.T) {
	tests := []struct {
		a           Action
		from        []ParticipantStatus
		to          ParticipantStatus
		needsReason bool
		freesPlace  bool
	}{
		{MarkReturned, []ParticipantStatus{Started}, Returned, false, true},
		{Reject, []ParticipantStatus{Started, Completed, TimedOut}, Rejected, true, true},
		{Approve, []ParticipantStatus{Completed}, Approved, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.a), func(t *testing.T) {
			if !tt.a.Known() || tt.a.To() != tt.to || tt.a.NeedsReason() != tt.needsReason || tt.a.FreesPlace() != tt.freesPlace {
				t.Errorf("Known %v, To %q, NeedsReason %v, FreesPlace %v", tt.a.Known(), tt.a.To(), tt.a.NeedsReason(), tt.a.FreesPlace())
			}
			if got := tt.a.From(); !slices.Equal(got, tt.from) {
				t.Errorf("From = %q, want %q", got, tt.from)
			}
			for _, s := range allParticipantStatuses {
				if got, want := s.Allows(tt.a), slices.Contains(tt.from, s); got != want {
					t.Errorf("%s.Allows(%s) = %v", s, tt.a, got)
				}
			}
		})
	}
	unknown := Action("delete")
	if unknown.Known() || unknown.To() != "" || unknown.From() != nil || unknown.FreesPlace() || Started.Allows(unknown) {
		t.Error("an unknown action is known")
	}
}

// Every participant status is exactly one of: still at work (started),
// finished (answers count), left (place given back).
func TestParticipantStatusesPartition(t *testing.T) {
	for _, s := range allParticipantStatuses {
		n := 0
		for _, in := range []bool{s == Started, s.Finished(), s.Left()} {
			if in {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is in %d of started, finished, left", s, n)
		}
	}
	if !slices.Equal(FinishedStatuses(), []ParticipantStatus{Completed, Approved}) {
		t.Errorf("FinishedStatuses = %q", FinishedStatuses())
	}
	if !slices.Equal(LeftStatuses(), []ParticipantStatus{Returned, TimedOut, Rejected}) {
		t.Errorf("LeftStatuses = %q", LeftStatuses())
	}
	for _, s := range BonusStatuses() {
		if !s.Finished() {
			t.Errorf("a bonus is paid to %s participants, who did not finish", s)
		}
	}
	FinishedStatuses()[0] = Rejected // a copy: the rule cannot be changed from outside
	if !Completed.Finished() || Rejected.Finished() {
		t.Error("FinishedStatuses returned the table itself")
	}
}
