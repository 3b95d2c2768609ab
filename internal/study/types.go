package study

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/task"
)

// Study is one experiment on one stimulus set, as an experimenter set it up.
type Study struct {
	ID                  uuid.UUID
	Slug                string
	Title               string
	Domain              task.Domain
	SetID               uuid.UUID
	Sizes               []int  // empty: every size
	Split               string // empty: every split
	Design              Design
	ItemsPerParticipant int // pool only; 0 for fixed
	ResponsesPerItem    int
	// MaxResponsesPerItem (R_max) makes a pool adaptive: after every item
	// has ResponsesPerItem (R_min) answers, extra answers go to the items
	// people disagree on most, up to R_max each, until AnswerBudget answers
	// (R_min's included) are spent. 0: a plain pool (see adaptive.go).
	MaxResponsesPerItem int
	AnswerBudget        int
	Places              int
	TimeLimitMinutes    int
	AttentionCheckIDs   []uuid.UUID
	InstructedChecks    int // instructed-response checks per participant (checks.go)
	BreakEvery          int // a pause after every this many trials, 0 for none (breaks.go)
	// Practice (practice.go): PracticeItems drawn from PracticeSetID
	// (uuid.Nil: the study's set), or exactly PracticeIDs when picked.
	PracticeItems      int
	PracticeSetID      uuid.UUID
	PracticeIDs        []uuid.UUID
	ConsentText        string
	InstructionsText   string
	Pay                Pay
	CompletionCode     string
	ProlificStudyID    string
	MinViewMs          int // input is ignored this long after the picture is painted
	TooFastMs          int // an answer faster than this is flagged too_fast
	ReservationMinutes int // a place without an answer is given back after this
	Status             Status
	CreatedAt          time.Time
	// Exclusion is the study's exclusion rule in its text form (see
	// Exclusion); "" excludes nobody.
	Exclusion string
	// Version counts the saves of the settings: a save made from an older
	// version is refused (two people editing at once). TextVersion counts
	// the versions of the consent and instructions; each participant keeps
	// the one they joined under.
	Version     int
	TextVersion int
	ArchivedAt  *time.Time // hidden from the study list, data kept
	// OwnerID is the account that made the study (uuid.Nil: made without
	// one, from the command line); see VisibleTo.
	OwnerID uuid.UUID
	// Stop is the stopping rule of the live comparison; StopFiredAt is when
	// it paused the study (it fires once; setting the rule again re-arms it).
	Stop        StopRule
	StopFiredAt *time.Time
}

// VisibleTo reports whether an account sees a study (its pages, downloads
// and actions): its owner and its members do; a study made without an
// account (the command line's demo) every account does. The store's
// listing repeats this in SQL (postgres.visibleTo); a test holds them equal.
func (st Study) VisibleTo(account uuid.UUID, members []uuid.UUID) bool {
	return st.OwnerID == uuid.Nil || st.OwnerID == account || slices.Contains(members, account)
}

// Participant is one Prolific participant in one study.
type Participant struct {
	ID             uuid.UUID
	StudyID        uuid.UUID
	PID            string
	StudyParam     string // STUDY_ID as the link carried it
	SessionParam   string // SESSION_ID as the link carried it
	Status         ParticipantStatus
	Seed           int64
	NTrials        int
	NAnswered      int
	NCorrect       int // attention checks not counted
	StartedAt      time.Time
	ConsentedAt    *time.Time
	DemographicsAt *time.Time
	CompletedAt    *time.Time
	Age            *int
	Gender         string
	BonusMinor     *int64
	NFlagged       int // answers with any flag (Evidence.Flags)
	LongestRun     int // the longest run of identical answers
	// Verified: Prolific confirmed this PID and SESSION_ID at entry (a
	// linked study); see ScoreShown.
	Verified bool
	YesSide  Side // where the Yes button is (YesSideFor)
	// NPractice practice trials, NPracticeAnswered of them answered; the
	// real trials start when they are equal.
	NPractice         int
	NPracticeAnswered int
	TextVersion       int // the version of the study's texts they were shown
}

// Step is the page a participant should be on.
type Step string

// The participant's path, in order.
const (
	StepConsent      Step = "consent"
	StepInstructions Step = "instructions" // then the optional demographics
	StepPractice     Step = "practice"     // practice trials with feedback, if any
	StepTrial        Step = "trial"
	StepDone         Step = "done"
	StepInactive     Step = "inactive" // returned, timed out or rejected
)

// Step says where the participant stands on the path, so that every page
// can send someone who arrives out of order to the right one.
func (p Participant) Step() Step {
	switch {
	case p.Status.Finished():
		return StepDone
	case p.Status != Started:
		return StepInactive
	case p.ConsentedAt == nil:
		return StepConsent
	case p.DemographicsAt == nil:
		return StepInstructions
	case p.NPracticeAnswered < p.NPractice:
		return StepPractice
	case p.NAnswered < p.NTrials:
		return StepTrial
	}
	return StepDone
}

// Trial is one position of a participant's list.
type Trial struct {
	Position         int
	Total            int
	Domain           task.Domain
	IsAttentionCheck bool
	InstructedAnswer string    // an instructed-response check: the answer the prompt asks for
	MinViewMs        int       // the study's minimum viewing time
	Deadline         time.Time // when the participant's time is up (Participant.Deadline)
	YesSide          Side      // the participant's side of the Yes button
}

// Response is a recorded answer.
type Response struct {
	Position    int
	Answer      string
	Correct     bool
	BrowserRTMs *int
	ServerRTMs  int
	AnsweredAt  time.Time
	Completed   bool // this answer was the last one
	// Break: the participant pauses before the next trial (BreakAfter).
	Break bool
	Flags []Flag
}

// Genders are the choices offered on the demographics form, in order; ""
// means not given. A new slice each call, so no caller can change the list.
func Genders() []string {
	return []string{"Woman", "Man", "Non-binary", "Another gender", "Prefer not to say"}
}
