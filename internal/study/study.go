// Package study holds the rules of a study that need neither HTTP nor SQL:
// statuses, designs, each participant's order and the pay.
package study

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
)

// Status is where a study stands.
type Status string

// Study statuses.
const (
	Draft     Status = "draft"     // being set up; only previews
	Published Status = "published" // open to new participants
	Paused    Status = "paused"    // no new participants; those started may finish
	Closed    Status = "closed"    // no new participants; those started may finish
	Complete  Status = "complete"  // a pool whose every slot is answered; none new
)

// AcceptsNew reports whether new participants may join.
func (s Status) AcceptsNew() bool { return s == Published }

// ParticipantStatus is where a participant stands, as the experimenter sees it.
type ParticipantStatus string

// Participant statuses.
const (
	Started   ParticipantStatus = "started"
	Completed ParticipantStatus = "completed"
	Approved  ParticipantStatus = "approved"
	Returned  ParticipantStatus = "returned"
	TimedOut  ParticipantStatus = "timed_out"
	Rejected  ParticipantStatus = "rejected"
)

// Design is how items are given to participants.
type Design string

// Designs.
const (
	Fixed Design = "fixed" // evaluation: every participant sees every item
	Pool  Design = "pool"  // label collection: K items each, R answers per item
)

// Order returns a permutation of 0..n-1 that depends only on seed.
//
// It uses PCG and its own unbiased bounded draw rather than rand.Shuffle, whose
// algorithm the Go project may change: a participant's order must be
// recomputable from the stored seed by any later version of this code.
func Order(seed int64, n int) []int {
	src := rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(bounded(src, uint64(i+1)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// bounded draws uniformly from [0, n) by Lemire's multiply-and-reject method.
func bounded(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

// Pay is a study's pay rule, in minor units of Currency.
type Pay struct {
	BaseMinor       int64
	PerCorrectMinor int64
	MaxBonusMinor   int64
	Currency        string
}

// Bonus is the bonus for a number of correct answers (attention checks not
// counted), capped at the maximum. The answer statement computes the same in
// SQL (postgres.Store.Answer); a database test holds the two equal.
func (p Pay) Bonus(correct int) int64 {
	if correct <= 0 {
		return 0
	}
	return min(int64(correct)*p.PerCorrectMinor, p.MaxBonusMinor)
}

// Decimal writes minor units as a plain decimal: 85 -> "0.85", 1200 ->
// "12.00", -5 -> "-0.05". Every currency a study pays in (GBP, USD, EUR) has
// two decimals, so minor units are hundredths. It is the figure Prolific is
// sent (prolific.Amount).
func Decimal(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}

// FormatMoney writes an amount in minor units for people, e.g. "£1.50": the
// figure Prolific is sent (Decimal), with the currency's symbol.
func FormatMoney(minor int64, currency string) string {
	amount := Decimal(minor)
	sign := ""
	if rest, neg := strings.CutPrefix(amount, "-"); neg {
		sign, amount = "-", rest
	}
	switch strings.ToUpper(currency) {
	case "GBP":
		return sign + "£" + amount
	case "USD":
		return sign + "$" + amount
	case "EUR":
		return sign + "€" + amount
	}
	return sign + amount + " " + currency
}
