package web

import (
	"strconv"
	"strings"
)

// Page is what every participant page shows around its content.
type Page struct {
	Title   string // the browser tab and the heading
	Study   string // the study's title
	Preview bool   // a preview that records nothing
}

// ConsentView is the consent page.
type ConsentView struct {
	Page
	Text string
	// TimeLimitMinutes is the study's time limit, stated before consent;
	// ReservationMinutes how soon the first answer must come (0: not said).
	TimeLimitMinutes   int
	ReservationMinutes int
	Action             string // where the form goes
	Method             string // "post", or "get" in a preview, which records nothing
}

// DeclinedView is shown to someone who does not consent.
type DeclinedView struct {
	Page
}

// InstructionsView shows the task's exact prompt and an example image.
type InstructionsView struct {
	Page
	Text         string
	Prompt       string
	ExampleImage string
	Next         string
	Total        int
	Practice     int  // practice trials with feedback before the first
	YesRight     bool // the participant's Yes button is on the right
}

// DemographicsView is the optional age and gender form.
type DemographicsView struct {
	Page
	Action  string
	Genders []string
	Age     string
	Gender  string
	Error   string
}

// TrialView is one trial.
type TrialView struct {
	Page
	Practice  bool // a practice trial: feedback follows, nothing counts
	Position  int
	Total     int
	Prompt    string
	Image     string
	NextImage string // "" on the last trial
	Action    string
	Method    string
	// Instruction is an instructed-response check's request ("For this
	// picture, please press No."); "" on an ordinary trial.
	Instruction string
	MinViewMs   int // the answers stay off this long after the picture is painted
	Clock
	// YesRight puts the Yes button on the right (counterbalanced per
	// participant); the arrow keys follow the sides, Y and N do not move.
	YesRight bool
}

// FeedbackView is the page after a practice answer: right or not, what
// happens in the picture, and the way on.
type FeedbackView struct {
	Page
	Position, Total int
	Correct         bool
	Message         string // "Correct: this tower falls." (study.PracticeResult.Feedback)
	Answer          string // what the participant answered
	Image           string
	Next            string
	Last            bool // the last practice trial: the real ones come next
	Clock
}

// BreakView is the pause every N trials: progress, the time left (as on
// the trial page; "" in a preview) and the way on.
type BreakView struct {
	Page
	Done, Total int
	Next        string
	Clock
}

// Clock is the time limit on a participant's page: the time left as text
// ("" in a preview, which has no limit); the script counts SecondsLeft
// down, shows the warning at WarnSeconds and goes to TimeUpURL at zero.
// Warn: already warned.
type Clock struct {
	TimeLeft    string
	SecondsLeft int
	WarnSeconds int
	Warn        bool
	TimeUpURL   string
}

// EndView thanks the participant and sends them back to Prolific.
type EndView struct {
	Page
	Base          string
	Bonus         string
	Total         string
	Correct       int
	Counted       int
	CompletionURL string
	Code          string // the completion code, shown as text
	// ScoreShown: the score and bonus may be shown (study.Participant.ScoreShown);
	// otherwise BonusRule says how the bonus is worked out.
	ScoreShown bool
	BonusRule  string
}

// TimeUpView is the page past the time limit.
type TimeUpView struct {
	Page
	LimitMinutes       int
	Answered           int
	Total              int
	Released           bool // the place was given back before the limit (reservation window, Prolific)
	ReservationMinutes int
	ProlificURL        string
}

// ErrorView explains what went wrong and what to do.
type ErrorView struct {
	Page
	Status   int
	Message  string
	Link     string // "" for none
	LinkText string
}

// sides are the answers from left to right.
func sides(yesRight bool) []string {
	if yesRight {
		return []string{"No", "Yes"}
	}
	return []string{"Yes", "No"}
}

func yesSide(yesRight bool) string {
	if yesRight {
		return "right"
	}
	return "left"
}

func lower(s string) string { return strings.ToLower(s) }

// pictureAlt names a trial's picture: "Picture 3 of 120", "Practice picture 1 of 3".
func pictureAlt(v TrialView) string {
	name := "Picture "
	if v.Practice {
		name = "Practice picture "
	}
	return name + strconv.Itoa(v.Position) + " of " + strconv.Itoa(v.Total)
}
