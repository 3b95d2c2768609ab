package prolific

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/study"
)

// Amount writes minor units as the decimal Prolific's bulk bonus form takes:
// 85 -> "0.85", 1200 -> "12.00". Every currency Prolific pays in (GBP, USD,
// EUR) has two decimals, so minor units are hundredths (study.Decimal).
func Amount(minor int64) string { return study.Decimal(minor) }

// ParseAmount reads a decimal amount with at most two decimals ("2", "2.5",
// "2.50") into minor units. It refuses negatives, more decimals and anything
// that is not plain digits, rather than round a sum of money.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (dot && frac == "") || len(whole) > 12 {
		return 0, fmt.Errorf("prolific: %q is not an amount like 2.50", s)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("prolific: %q is not an amount like 2.50", s)
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("prolific: %q: %w", s, err)
	}
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64) // digits only, checked above
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, nil
}

// BonusLine is one line of a bulk bonus upload.
type BonusLine struct {
	PID         string
	AmountMinor int64
}

// WriteBonusLines writes lines as Prolific's bulk bonus form takes them:
// "<participant_id>,<amount>" per line, no header. A malformed id or an
// amount that is not positive is refused before anything is written, since a
// half-written upload could pay some people and not others.
func WriteBonusLines(w io.Writer, lines []BonusLine) error {
	for _, l := range lines {
		if !ValidID(l.PID) {
			return fmt.Errorf("prolific: bonus for %q: not a Prolific id", l.PID)
		}
		if l.AmountMinor <= 0 {
			return fmt.Errorf("prolific: bonus for %s: amount %d is not positive", l.PID, l.AmountMinor)
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.PID)
		b.WriteByte(',')
		b.WriteString(Amount(l.AmountMinor))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("prolific: write bonus lines: %w", err)
	}
	return nil
}
