package study

import (
	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/task"
)

// Practice trials (issue 10, item 4): a few pictures before the real
// trials, each answered as a trial and followed by feedback, so that a
// participant learns the task and the buttons before anything counts.
// Practice answers are kept apart from the answers (the store's
// practice_trials): no analysis, bonus, score, export or report reads them.

// MaxPracticeItems bounds a study's practice trials.
const MaxPracticeItems = 20

// PracticeSet is the set practice pictures come from: the chosen one, or
// the study's own.
func (s Study) PracticeSet() uuid.UUID {
	if s.PracticeSetID != uuid.Nil {
		return s.PracticeSetID
	}
	return s.SetID
}

// PracticeCount is how many practice trials a participant is meant to get:
// every picked practice item, or PracticeItems drawn from the practice set.
func (s Study) PracticeCount() int {
	if len(s.PracticeIDs) > 0 {
		return len(s.PracticeIDs)
	}
	return s.PracticeItems
}

// PracticeResult is a practice answer as the feedback page shows it.
type PracticeResult struct {
	Position int
	Total    int
	Domain   task.Domain
	Answer   string
	Truth    string // the picture's correct answer
	Correct  bool
}

// Feedback is what the participant is told after a practice answer:
// "Correct: this tower falls." or "Not quite: this tower falls.", the
// outcome in the words of the task.
func (r PracticeResult) Feedback() string {
	lead := "Not quite"
	if r.Correct {
		lead = "Correct"
	}
	return lead + ": " + Outcome(r.Domain, r.Truth) + "."
}

// Outcome says what happens in a picture whose correct answer is truth.
func Outcome(d task.Domain, truth string) string {
	yes := truth == task.Yes
	switch d {
	case task.Pyramid:
		if yes {
			return "without the red block, other blocks would fall"
		}
		return "without the red block, no other block would fall"
	case task.PyramidRemoved:
		if yes {
			return "this pyramid falls"
		}
		return "this pyramid stays up"
	}
	if yes {
		return "this tower falls"
	}
	return "this tower stays up"
}

// MaySeePractice reports whether the participant may see the picture of
// their practice trial at position: once consented, any practice trial up
// to the current one (the feedback shows the answered ones again).
func (p Participant) MaySeePractice(position int) bool {
	return p.ConsentedAt != nil && position >= 1 && position <= p.NPractice && position <= p.NPracticeAnswered+1
}
