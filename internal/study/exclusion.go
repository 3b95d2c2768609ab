package study

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cubelab/cubelab/internal/problem"
)

// Exclusion is the rule that decides which finished participants are left out
// of the analyses and the exports: the report, "server analyze" and the
// training export apply the same rule and print it (String). The zero value
// excludes nobody. A study stores one (its setting); an analysis or an export
// may override it for one run.
//
// Its text form is a comma-separated list of clauses, each optional:
//
//	checks>=K     K or more failed attention checks (of either kind)
//	instructed>=K K or more failed instructed-response checks (checks.go)
//	flagged>=F    a share F (0 to 1) or more of the answers flagged on the trial page
//	run>=N        a run of N or more identical answers in a row (straight-lining)
//	device=KIND   answered on that kind of device (phone, tablet, desktop); repeatable
//
// "none" (or "") is the empty rule.
type Exclusion struct {
	FailedChecks int // exclude at this many failed checks or more; 0: off
	// FailedInstructed: exclude at this many failed instructed-response
	// checks or more (the kind Prolific lets a researcher reject on); 0: off.
	FailedInstructed int
	FlaggedShare     float64  // exclude when flagged/answers >= this; 0: off
	IdenticalRun     int      // exclude at a run of this many identical answers; 0: off
	Devices          []string // device kinds excluded, lower case, sorted
}

// ParticipantFacts are what the rule looks at for one participant.
type ParticipantFacts struct {
	FailedChecks int // attention checks answered wrongly
	// FailedInstructed: of those, instructed-response checks.
	FailedInstructed int
	Answers          int    // answers given, attention checks included
	Flagged          int    // answers flagged on the trial page (no image, too fast, reloaded, hidden)
	LongestRun       int    // longest run of identical answers in trial order
	Device           string // device kind; "" when unknown
}

// ParseExclusion reads the text form of a rule (see Exclusion).
func ParseExclusion(s string) (Exclusion, error) {
	var e Exclusion
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return e, nil
	}
	for _, clause := range strings.Split(s, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		name, val, ok := strings.Cut(clause, ">=")
		if !ok {
			name, val, ok = strings.Cut(clause, "=")
		}
		name, val = strings.TrimSpace(strings.ToLower(name)), strings.TrimSpace(val)
		if !ok || val == "" {
			return Exclusion{}, problem.Errorf(problem.EINVALID, "Exclusion clause %q: write checks>=K, instructed>=K, flagged>=F, run>=N or device=KIND.", clause)
		}
		switch name {
		case "checks", "instructed", "run":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return Exclusion{}, problem.Errorf(problem.EINVALID, "Exclusion clause %q: %s needs a whole number of at least 1.", clause, name)
			}
			switch name {
			case "checks":
				e.FailedChecks = n
			case "instructed":
				e.FailedInstructed = n
			default:
				e.IdenticalRun = n
			}
		case "flagged":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || !(f > 0 && f <= 1) {
				return Exclusion{}, problem.Errorf(problem.EINVALID, "Exclusion clause %q: flagged needs a share above 0 and at most 1 (0.2 is 20%%).", clause)
			}
			e.FlaggedShare = f
		case "device":
			d := strings.ToLower(val)
			if !slices.Contains(DeviceKinds(), d) {
				return Exclusion{}, problem.Errorf(problem.EINVALID, "Exclusion clause %q: device is one of %s.", clause, strings.Join(DeviceKinds(), ", "))
			}
			if !slices.Contains(e.Devices, d) {
				e.Devices = append(e.Devices, d)
			}
		default:
			return Exclusion{}, problem.Errorf(problem.EINVALID, "Exclusion clause %q: unknown measure %q (checks, instructed, flagged, run or device).", clause, name)
		}
	}
	slices.Sort(e.Devices)
	return e, nil
}

// DeviceKinds are the device kinds a rule can name (a fresh slice each call).
func DeviceKinds() []string { return []string{"desktop", "phone", "tablet"} }

// IsZero reports whether the rule excludes nobody.
func (e Exclusion) IsZero() bool {
	return e.FailedChecks == 0 && e.FailedInstructed == 0 && e.FlaggedShare == 0 && e.IdenticalRun == 0 && len(e.Devices) == 0
}

// String is the rule's canonical text form, "none" for the empty rule;
// ParseExclusion(e.String()) gives e back.
func (e Exclusion) String() string {
	var parts []string
	if e.FailedChecks > 0 {
		parts = append(parts, "checks>="+strconv.Itoa(e.FailedChecks))
	}
	if e.FailedInstructed > 0 {
		parts = append(parts, "instructed>="+strconv.Itoa(e.FailedInstructed))
	}
	if e.FlaggedShare > 0 {
		parts = append(parts, "flagged>="+strconv.FormatFloat(e.FlaggedShare, 'g', -1, 64))
	}
	if e.IdenticalRun > 0 {
		parts = append(parts, "run>="+strconv.Itoa(e.IdenticalRun))
	}
	for _, d := range e.Devices {
		parts = append(parts, "device="+d)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Describe says the rule in words, for the report and the dataset card.
func (e Exclusion) Describe() string {
	var parts []string
	if e.FailedChecks > 0 {
		parts = append(parts, fmt.Sprintf("%d or more failed attention checks", e.FailedChecks))
	}
	if e.FailedInstructed > 0 {
		parts = append(parts, fmt.Sprintf("%d or more failed instructed-response checks", e.FailedInstructed))
	}
	if e.FlaggedShare > 0 {
		parts = append(parts, fmt.Sprintf("%s%% or more of their answers flagged", strconv.FormatFloat(100*e.FlaggedShare, 'g', -1, 64)))
	}
	if e.IdenticalRun > 0 {
		parts = append(parts, fmt.Sprintf("%d or more identical answers in a row", e.IdenticalRun))
	}
	if len(e.Devices) > 0 {
		parts = append(parts, "answering on a "+strings.Join(e.Devices, " or "))
	}
	if len(parts) == 0 {
		return "No exclusion rule: every participant who finished counts (rejected participants never do)."
	}
	return "Finished participants are excluded for " + strings.Join(parts, "; or ") + " (rule " + e.String() + "; rejected participants never count)."
}

// Reasons lists why the rule excludes a participant with these facts, in the
// order of the clauses; none means the participant counts.
func (e Exclusion) Reasons(f ParticipantFacts) []string {
	var rs []string
	if e.FailedChecks > 0 && f.FailedChecks >= e.FailedChecks {
		rs = append(rs, fmt.Sprintf("failed %d attention check(s) (rule: %d or more)", f.FailedChecks, e.FailedChecks))
	}
	if e.FailedInstructed > 0 && f.FailedInstructed >= e.FailedInstructed {
		rs = append(rs, fmt.Sprintf("failed %d instructed-response check(s) (rule: %d or more)", f.FailedInstructed, e.FailedInstructed))
	}
	if e.FlaggedShare > 0 && f.Answers > 0 && float64(f.Flagged) >= e.FlaggedShare*float64(f.Answers) {
		rs = append(rs, fmt.Sprintf("%d of %d answers flagged (rule: share %s or more)", f.Flagged, f.Answers, strconv.FormatFloat(e.FlaggedShare, 'g', -1, 64)))
	}
	if e.IdenticalRun > 0 && f.LongestRun >= e.IdenticalRun {
		rs = append(rs, fmt.Sprintf("%d identical answers in a row (rule: %d or more)", f.LongestRun, e.IdenticalRun))
	}
	if f.Device != "" && slices.Contains(e.Devices, strings.ToLower(f.Device)) {
		rs = append(rs, "answered on a "+strings.ToLower(f.Device))
	}
	return rs
}

// LongestRun is the longest run of equal values in answers (trial order);
// straight-lining shows as a long run of Yes or of No.
func LongestRun(answers []string) int {
	best, cur := 0, 0
	for i, a := range answers {
		if i > 0 && a == answers[i-1] {
			cur++
		} else {
			cur = 1
		}
		best = max(best, cur)
	}
	return best
}
