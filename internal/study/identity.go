package study

import (
	"time"

	"github.com/cubelab/cubelab/internal/problem"
)

// A participant record is bound to the Prolific session that opened it
// (issue 10): Prolific gives each submission its own SESSION_ID and keeps it
// for that submission, so a link with the same PROLIFIC_PID and another
// SESSION_ID is someone else, or another submission, never this record.

// DefaultReservationMinutes is how long a place is held for someone who has
// opened the study but not answered yet: Prolific's own hold on a place.
const DefaultReservationMinutes = 10

// CheckLink checks a study link's STUDY_ID: a study linked to a Prolific
// study (ProlificStudyID set) takes only links that carry its id.
func (st Study) CheckLink(studyParam string) error {
	if st.ProlificStudyID == "" {
		return nil
	}
	if studyParam == "" {
		return problem.Errorf(problem.EINVALID, "This link lacks Prolific's STUDY_ID, so it cannot be checked against this study. Please open the study again from Prolific.")
	}
	if studyParam != st.ProlificStudyID {
		return problem.Errorf(problem.EINVALID, "This link belongs to a different Prolific study. Please open the study again from Prolific.")
	}
	return nil
}

// MayResume says whether a link carrying sessionParam (its SESSION_ID) may
// resume the participant: only with the SESSION_ID that opened the record.
func (p Participant) MayResume(sessionParam string) error {
	if sessionParam == p.SessionParam {
		return nil
	}
	return problem.Errorf(problem.EFORBIDDEN, "This Prolific ID has already started this study in another Prolific session, so this link cannot continue it. "+
		"If you started it yourself, please continue in the window or device where you began; if not, please message the researchers on Prolific.")
}

// ReservationExpired says whether the participant's place should be given
// back: they opened the study but gave no answer within the study's
// reservation window. A practice answer counts: whoever gives one is there.
func (p Participant) ReservationExpired(st Study, now time.Time) bool {
	return p.Status == Started && p.NAnswered == 0 && p.NPracticeAnswered == 0 &&
		!now.Before(p.StartedAt.Add(time.Duration(st.ReservationMinutes)*time.Minute))
}
