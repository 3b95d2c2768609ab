package study

import (
	"strconv"

	"github.com/cubelab/cubelab/internal/problem"
)

// The adaptive pool (issue 18, part 3). Every item first gets R_min answers
// (ResponsesPerItem), exactly as a plain pool with R = R_min. Extra answers
// then go to the items whose answers so far disagree most: the highest
// binomial variance p(1-p) of the share p of Yes among the answers that
// count. p(1-p) is the variance of one more answer, so it is what an extra
// answer can most change: an item at 3 Yes of 6 (0.25) is asked again before
// one at 5 of 6 (0.14), and a unanimous item (0) only when nothing is
// disagreed on. Ties go to the item with fewer answers held, then to the
// lower id. Each item stops at R_max answers (MaxResponsesPerItem) and the
// pool at AnswerBudget answers in all, R_min's included.

// Adaptive reports whether a pool study is adaptive.
func (s Study) Adaptive() bool { return s.Design == Pool && s.MaxResponsesPerItem > 0 }

// FirstResponses is R, the answers every item of a pool gets first (R_min
// of an adaptive pool): at least 1, whatever was stored.
func (s Study) FirstResponses() int { return max(s.ResponsesPerItem, 1) }

// SlotsPerItem is how many answers an item of a pool can get: R, or R_max
// in an adaptive pool.
func (s Study) SlotsPerItem() int {
	if s.Adaptive() {
		return s.MaxResponsesPerItem
	}
	return s.FirstResponses()
}

// PoolAnswers is the most answers a pool of items collects: items x R, or
// in an adaptive pool the budget (at most items x R_max).
func (s Study) PoolAnswers(items int) int {
	if s.Adaptive() {
		return min(s.AnswerBudget, items*s.MaxResponsesPerItem)
	}
	return items * s.FirstResponses()
}

// ExtraAnswers is how many answers beyond R_min per item an adaptive pool
// of items may give out; 0 for a plain pool.
func (s Study) ExtraAnswers(items int) int {
	if !s.Adaptive() {
		return 0
	}
	return max(s.PoolAnswers(items)-items*s.FirstResponses(), 0)
}

// CheckAdaptive refuses an adaptive pool whose numbers do not fit a pool of
// items (items <= 0: the count is unknown, only the numbers are checked),
// naming the field.
func (s Study) CheckAdaptive(items int) error {
	if !s.Adaptive() {
		return nil
	}
	r := s.FirstResponses()
	if s.MaxResponsesPerItem <= r {
		return problem.Errorf(problem.EINVALID, "Most answers per item (R_max): it must be above the answers every item gets first (R = %d), or empty for a plain pool.", r)
	}
	if s.AnswerBudget <= 0 {
		return problem.Errorf(problem.EINVALID, "Budget of answers: an adaptive pool needs one, a whole number above zero.")
	}
	if items > 0 && s.AnswerBudget < items*r {
		return problem.Errorf(problem.EINVALID, "Budget of answers: %d items with %d answers each (R) need at least %d answers before any extra one; %d is fewer.",
			items, r, items*r, s.AnswerBudget)
	}
	return nil
}

// ResponsesText is a pool's answers per item in words: "2", or
// "2 to 5 (adaptive, budget 300 answers)".
func (s Study) ResponsesText() string {
	r := strconv.Itoa(s.FirstResponses())
	if !s.Adaptive() {
		return r
	}
	return r + " to " + strconv.Itoa(s.MaxResponsesPerItem) + " (adaptive, budget " + strconv.Itoa(s.AnswerBudget) + " answers)"
}

// Disagreement is the binomial variance p(1-p) of the share p of Yes among
// n answers that count, yes of them Yes: what orders an adaptive pool's
// extra answers (highest first); 0 before any answer. The store's claim
// repeats it in SQL, held equal by TestExtraAnswersFollowStudy.
func Disagreement(yes, n int) float64 {
	if n <= 0 {
		return 0
	}
	return float64(yes) * float64(n-yes) / (float64(n) * float64(n))
}
