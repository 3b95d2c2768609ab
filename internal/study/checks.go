package study

import (
	"math/rand/v2"
	"slices"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/task"
)

// Attention checks come in two kinds (issue 10, item 5). An item check is a
// picture whose answer is beyond doubt (Study.AttentionCheckIDs): a
// participant who gets it wrong may have been careless, or may simply have
// judged a hard picture differently. An instructed check is a trial whose
// prompt says which button to press ("For this picture, please press No."):
// it tests attention and nothing else. Prolific allows rejecting a
// submission on failed instructed-response checks only, not on hard items.

// CheckKind is the kind of an attention check, "" for an ordinary trial.
type CheckKind string

// Kinds of attention check.
const (
	CheckNone       CheckKind = ""
	CheckItem       CheckKind = "item"
	CheckInstructed CheckKind = "instructed"
)

// KindOf is the check kind of a trial from what the store keeps of it:
// whether it is an attention check and the answer its prompt asks for
// ("" for none). The store spells the same in SQL (postgres.checkKindSQL).
func KindOf(isCheck bool, instructed string) CheckKind {
	switch {
	case instructed != "":
		return CheckInstructed
	case isCheck:
		return CheckItem
	}
	return CheckNone
}

// MaxInstructedChecks is the most instructed checks a study may ask for.
const MaxInstructedChecks = 20

// InstructedCheck is one instructed-response check of a participant: the
// picture it shows, by index into the participant's items, and the answer
// its prompt asks for.
type InstructedCheck struct {
	Item   int
	Answer string
}

// InstructedChecks draws a participant's n instructed checks over their
// items (at least one), from their seed alone: the pictures are distinct
// while there are enough items, and the demanded answers are half Yes,
// half No (the odd one by the seed), shuffled, so that pressing one button
// throughout fails half of them. Where the checks sit among the trials is
// the participant's order (Order), which places them at random positions.
func InstructedChecks(seed int64, items, n int) []InstructedCheck {
	if n <= 0 || items <= 0 {
		return nil
	}
	src := rand.NewPCG(uint64(seed), 0x5bd1e9955bd1e995)
	pick := Order(int64(src.Uint64()), items)
	answers := make([]string, n)
	first := task.Yes
	if src.Uint64()&1 == 1 {
		first = task.No
	}
	for i := range answers {
		answers[i] = first
		if i%2 == 1 {
			answers[i] = other(first)
		}
	}
	out := make([]InstructedCheck, n)
	for i, j := range Order(int64(src.Uint64()), n) {
		out[i] = InstructedCheck{Item: pick[i%items], Answer: answers[j]}
	}
	return out
}

func other(a string) string {
	if a == task.Yes {
		return task.No
	}
	return task.Yes
}

// Instruction is the request an instructed check's prompt adds, "" for any
// other trial.
func Instruction(answer string) string {
	if answer == "" {
		return ""
	}
	return "For this picture, please press " + answer + "."
}

// Checks is the number of attention checks of both kinds in each
// participant's list; they are not scored for the bonus.
func (s Study) Checks() int { return len(s.AttentionCheckIDs) + s.InstructedChecks }

// TrialList is a participant's trials in the order shown (issue 10): their
// items, then the study's attention checks, then the instructed checks, each
// a picture of one of their own items (InstructedChecks), shuffled by seed
// (Order). Per position: the stimulus, whether it is an attention check of
// either kind, and the answer an instructed check demands ("" on every other
// trial). A join stores it; a preview walks the one of seed 0.
type TrialList struct {
	Stimuli   []uuid.UUID
	Attention []bool
	Demanded  []string
}

// NewTrialList builds the trial list of a participant with the seed, their
// items and the study's attention checks and number of instructed checks.
func NewTrialList(seed int64, items, checks []uuid.UUID, instructedChecks int) TrialList {
	ids := append(slices.Clone(items), checks...)
	instructed := InstructedChecks(seed, len(items), instructedChecks)
	for _, c := range instructed {
		ids = append(ids, ids[c.Item])
	}
	l := TrialList{Stimuli: make([]uuid.UUID, len(ids)), Attention: make([]bool, len(ids)), Demanded: make([]string, len(ids))}
	for pos, j := range Order(seed, len(ids)) {
		l.Stimuli[pos] = ids[j]
		l.Attention[pos] = j >= len(items)
		if k := j - len(items) - len(checks); k >= 0 {
			l.Demanded[pos] = instructed[k].Answer
		}
	}
	return l
}
