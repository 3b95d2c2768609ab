package study_test

import (
	"testing"

	"github.com/cubelab/cubelab/internal/study"
)

func TestFromProlific(t *testing.T) {
	for _, c := range []struct {
		cur    study.ParticipantStatus
		status string
		want   study.ParticipantStatus
		moved  bool
	}{
		{study.Started, "RETURNED", study.Returned, true},
		{study.Completed, "RETURNED", study.Returned, true},
		{study.Approved, "RETURNED", study.Approved, false},
		{study.Started, "TIMED-OUT", study.TimedOut, true},
		{study.Completed, "REJECTED", study.Rejected, true},
		{study.Completed, "APPROVED", study.Approved, true},
		{study.Started, "APPROVED", study.Started, false},
		{study.Started, "ACTIVE", study.Started, false},
		{study.Completed, "AWAITING REVIEW", study.Completed, false},
		{study.Returned, "RETURNED", study.Returned, false},
	} {
		got, moved := study.FromProlific(c.cur, c.status)
		if got != c.want || moved != c.moved {
			t.Errorf("FromProlific(%s, %s) = %s, %v; want %s, %v", c.cur, c.status, got, moved, c.want, c.moved)
		}
		if moved && !got.Frees() && got != study.Approved {
			t.Errorf("%s: moved to %s, which neither frees nor approves", c.status, got)
		}
	}
}
