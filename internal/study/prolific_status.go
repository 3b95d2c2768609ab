package study

// FromProlific is the status a participant who is cur takes when Prolific
// reports their submission as status (Prolific's spelling), and whether it
// changes. Prolific is the source of truth for submissions: a return, a
// time-out or a rejection there ends the participant here too (and frees
// their slots and place), an approval there approves a completed
// participant. A status that does not follow from cur (Prolific approving
// someone who has not finished here) changes nothing; the monitor shows
// Prolific's status beside cubelab's.
func FromProlific(cur ParticipantStatus, status string) (ParticipantStatus, bool) {
	var to ParticipantStatus
	var from []ParticipantStatus
	switch status {
	case prolificReturned:
		to, from = Returned, []ParticipantStatus{Started, Completed, TimedOut}
	case prolificTimedOut:
		to, from = TimedOut, []ParticipantStatus{Started, Completed}
	case prolificRejected:
		to, from = Rejected, []ParticipantStatus{Started, Completed, TimedOut}
	case prolificApproved:
		to, from = Approved, []ParticipantStatus{Completed}
	default:
		return cur, false
	}
	for _, f := range from {
		if cur == f {
			return to, true
		}
	}
	return cur, false
}

// Prolific's spelling of the submission statuses FromProlific acts on
// (held equal to package prolific's by a test there: study imports nothing
// of the HTTP client).
const (
	prolificReturned = "RETURNED"
	prolificTimedOut = "TIMED-OUT"
	prolificRejected = "REJECTED"
	prolificApproved = "APPROVED"
)

// Frees reports whether a participant who becomes s gives back their place
// and every pool slot.
func (s ParticipantStatus) Frees() bool { return s == Returned || s == TimedOut || s == Rejected }
