package study

import (
	"slices"

	"github.com/cubelab/cubelab/internal/problem"
)

// The rules of statuses, as tables: which moves an experimenter may make on a
// study, which actions on a participant, and which participants' answers
// count. The store builds its SQL from these (postgres.statusIn) and the
// admin pages ask them what to offer, so each rule is written once.

// studyMoves lists, for each study status, the statuses an experimenter may
// move it to.
var studyMoves = map[Status][]Status{
	Draft:     {Published},
	Published: {Paused, Closed},
	Paused:    {Published, Closed},
	// A complete pool reopens when slots came free again (a rejection).
	Complete: {Published, Closed},
}

// PoolPlaces is the most places a pool can use: ceil(items x R / K), the
// participants it takes to give every item its R answers, K items each
// (the last may get fewer). 0 for a fixed design.
func (s Study) PoolPlaces(items int) int {
	if s.Design != Pool || s.ItemsPerParticipant <= 0 {
		return 0
	}
	return (s.PoolAnswers(items) + s.ItemsPerParticipant - 1) / s.ItemsPerParticipant
}

// CheckPoolPlaces refuses more places than a pool of items can use, with
// the sum that shows why.
func (s Study) CheckPoolPlaces(items int) error {
	if s.Design != Pool || items <= 0 {
		return nil
	}
	if most := s.PoolPlaces(items); s.Places > most && s.Adaptive() {
		return problem.Errorf(problem.EINVALID, "Places: an adaptive pool of %d items with a budget of %d answers and %d items per participant (K) "+
			"fills at most %d places (ceil(%d / %d)); %d is more than it can use.",
			items, s.PoolAnswers(items), s.ItemsPerParticipant, most, s.PoolAnswers(items), s.ItemsPerParticipant, s.Places)
	} else if s.Places > most {
		return problem.Errorf(problem.EINVALID, "Places: a pool of %d items with %d answers each (R) and %d items per participant (K) "+
			"fills at most %d places (ceil(%d × %d / %d)); %d is more than it can use.",
			items, s.FirstResponses(), s.ItemsPerParticipant, most, items, s.FirstResponses(), s.ItemsPerParticipant, s.Places)
	}
	return nil
}

// PoolComplete reports whether a pool study in status s with slots slots,
// done of them answered by participants who finished, moves to Complete by
// itself: published, with slots, every one done.
func (s Status) PoolComplete(slots, done int) bool {
	return s == Published && slots > 0 && done >= slots
}

// CanMoveTo reports whether an experimenter may change a study's status from
// s to to.
func (s Status) CanMoveTo(to Status) bool { return slices.Contains(studyMoves[s], to) }

// finishedStatuses are the statuses of participants who did every trial:
// their answers count (in analyses, exports and a pool's answers per item)
// and they are owed base pay and bonus.
var finishedStatuses = []ParticipantStatus{Completed, Approved}

// leftStatuses are the statuses of participants who gave their place back:
// returned, timed out or rejected. They hold no place and no pool slot.
var leftStatuses = []ParticipantStatus{Returned, TimedOut, Rejected}

// bonusStatuses are the statuses of participants whose bonus is paid (put in
// a bonus batch): an experimenter approves a completed submission first, as
// on Prolific.
var bonusStatuses = []ParticipantStatus{Approved}

// BonusStatuses lists the statuses of participants whose bonus is paid, in a
// new slice.
func BonusStatuses() []ParticipantStatus { return slices.Clone(bonusStatuses) }

// FinishedStatuses lists the statuses for which Finished is true, in a new
// slice.
func FinishedStatuses() []ParticipantStatus { return slices.Clone(finishedStatuses) }

// LeftStatuses lists the statuses for which Left is true, in a new slice.
func LeftStatuses() []ParticipantStatus { return slices.Clone(leftStatuses) }

// Finished reports whether the participant did every trial; only the
// answers of finished participants count.
func (s ParticipantStatus) Finished() bool { return slices.Contains(finishedStatuses, s) }

// Left reports whether the participant gave their place back (returned,
// timed out or rejected).
func (s ParticipantStatus) Left() bool { return slices.Contains(leftStatuses, s) }

// Action is what an experimenter does to a participant.
type Action string

// Actions on a participant.
const (
	MarkReturned Action = "return"  // started -> returned
	Reject       Action = "reject"  // started, completed, timed out -> rejected
	Approve      Action = "approve" // completed -> approved
)

// actionRule is what an action does: the statuses it may start from, the
// status it leads to, and whether it needs a reason.
type actionRule struct {
	from        []ParticipantStatus
	to          ParticipantStatus
	needsReason bool
}

var actionRules = map[Action]actionRule{
	MarkReturned: {from: []ParticipantStatus{Started}, to: Returned},
	// Prolific shows the reason of a rejection to the participant.
	Reject:  {from: []ParticipantStatus{Started, Completed, TimedOut}, to: Rejected, needsReason: true},
	Approve: {from: []ParticipantStatus{Completed}, to: Approved},
}

// Known reports whether a is an action.
func (a Action) Known() bool { _, ok := actionRules[a]; return ok }

// From lists the statuses the action may start from, in a new slice (nil for
// an unknown action).
func (a Action) From() []ParticipantStatus { return slices.Clone(actionRules[a].from) }

// To is the status the action leads to ("" for an unknown action).
func (a Action) To() ParticipantStatus { return actionRules[a].to }

// NeedsReason reports whether the action needs a reason (a rejection does:
// Prolific shows it to the participant).
func (a Action) NeedsReason() bool { return actionRules[a].needsReason }

// Allows reports whether an experimenter may take action a on a participant
// whose status is s.
func (s ParticipantStatus) Allows(a Action) bool { return slices.Contains(actionRules[a].from, s) }

// FreesPlace reports whether the action gives the participant's place and
// pool slots back (it leads to a status in LeftStatuses).
func (a Action) FreesPlace() bool { return a.Known() && a.To().Left() }

// MaySee reports whether the participant may see the picture of their trial
// at position: once they have consented, any of their trials up to the one
// after the current one (the preload), never further ahead. The store's
// one-statement picture path (postgres.Store.TrialStimulusBySession) asks the
// same in SQL; a test holds the two equal on every case.
func (p Participant) MaySee(position int) bool {
	return p.ConsentedAt != nil && position >= 1 && position <= p.NTrials && position <= p.NAnswered+2
}
