package study

import (
	"fmt"

	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/problem"
)

// Field is a setting of a study, as its edits and their log name it.
type Field string

// The settings of a study.
const (
	FieldTitle          Field = "title"
	FieldSlug           Field = "link name"
	FieldDomain         Field = "task"
	FieldSet            Field = "stimulus set"
	FieldSizes          Field = "sizes"
	FieldSplit          Field = "split"
	FieldDesign         Field = "design"
	FieldK              Field = "items per participant"
	FieldR              Field = "answers per item"
	FieldPlaces         Field = "places"
	FieldTimeLimit      Field = "time limit"
	FieldChecks         Field = "attention checks"
	FieldInstructed     Field = "instructed checks"
	FieldBreaks         Field = "breaks"
	FieldPractice       Field = "practice"
	FieldConsent        Field = "consent text"
	FieldInstructions   Field = "instructions"
	FieldPay            Field = "pay"
	FieldCompletionCode Field = "completion code"
	FieldProlificID     Field = "Prolific study id"
	FieldMethod         Field = "participant method"
	FieldExclusion      Field = "exclusion rule"
)

// runningFields are what may change once participants hold a study's
// items: how many may take part, how long they have, and the texts (each
// participant keeps the version of the texts they were shown). Everything
// else decides which items a participant gets, what they are paid or how
// their answers are judged, so it is fixed at publishing.
var runningFields = []Field{FieldPlaces, FieldTimeLimit, FieldConsent, FieldInstructions}

// editable lists, for each study status, whether every field may change
// (a draft) or only runningFields.
var editableStatuses = map[Status]bool{Draft: true, Published: false, Paused: false}

// Editable reports whether a study in status s can be edited at all.
func (s Status) Editable() bool { _, ok := editableStatuses[s]; return ok }

// MayEdit reports whether field f of a study in status s may change.
func (s Status) MayEdit(f Field) bool {
	all, ok := editableStatuses[s]
	return ok && (all || slices.Contains(runningFields, f))
}

// RunningFields lists the fields a published or paused study may change, in
// a new slice.
func RunningFields() []Field { return slices.Clone(runningFields) }

// Deletable reports whether a study in status s may be deleted: only a
// draft, which no participant has joined.
func (s Status) Deletable() bool { return s == Draft }

// Archivable reports whether a study in status s may be archived (hidden
// from the list, its data kept): one that takes no one any more.
func (s Status) Archivable() bool { return s == Closed || s == Complete }

// Change is one field of a study that an edit changed, in words.
type Change struct {
	Field    Field
	From, To string
}

// String is the change as the log shows it, e.g. `places 100 → 80`.
func (c Change) String() string {
	if c.From == "" && c.To == "" {
		return string(c.Field) + " changed"
	}
	return fmt.Sprintf("%s %s → %s", c.Field, c.From, c.To)
}

// Changes lists the fields in which b differs from a, in form order. Texts
// are named, not quoted: the log stays short.
func Changes(a, b Study) []Change {
	var out []Change
	add := func(f Field, from, to string) {
		if from != to {
			out = append(out, Change{Field: f, From: quote(from), To: quote(to)})
		}
	}
	text := func(f Field, from, to string) {
		if from != to {
			out = append(out, Change{Field: f})
		}
	}
	itoa := strconv.Itoa
	add(FieldTitle, a.Title, b.Title)
	add(FieldSlug, a.Slug, b.Slug)
	add(FieldDomain, string(a.Domain), string(b.Domain))
	add(FieldSet, a.SetID.String(), b.SetID.String())
	add(FieldSizes, ints(a.Sizes), ints(b.Sizes))
	add(FieldSplit, a.Split, b.Split)
	add(FieldDesign, string(a.Design), string(b.Design))
	if a.Design == Pool || b.Design == Pool {
		add(FieldK, itoa(a.ItemsPerParticipant), itoa(b.ItemsPerParticipant))
		add(FieldR, a.ResponsesText(), b.ResponsesText())
	}
	add(FieldPlaces, itoa(a.Places), itoa(b.Places))
	add(FieldTimeLimit, itoa(a.TimeLimitMinutes)+" min", itoa(b.TimeLimitMinutes)+" min")
	if !slices.Equal(a.AttentionCheckIDs, b.AttentionCheckIDs) {
		out = append(out, Change{Field: FieldChecks, From: itoa(len(a.AttentionCheckIDs)), To: itoa(len(b.AttentionCheckIDs))})
	}
	add(FieldInstructed, itoa(a.InstructedChecks), itoa(b.InstructedChecks))
	text(FieldConsent, a.ConsentText, b.ConsentText)
	text(FieldInstructions, a.InstructionsText, b.InstructionsText)
	pay := func(p Pay) string {
		return FormatMoney(p.BaseMinor, p.Currency) + " + " + FormatMoney(p.PerCorrectMinor, p.Currency) +
			" per correct (max " + FormatMoney(p.MaxBonusMinor, p.Currency) + ")"
	}
	add(FieldPay, pay(a.Pay), pay(b.Pay))
	add(FieldCompletionCode, a.CompletionCode, b.CompletionCode)
	add(FieldProlificID, a.ProlificStudyID, b.ProlificStudyID)
	method := func(s Study) string {
		return fmt.Sprintf("view %d ms, too fast %d ms, reservation %d min", s.MinViewMs, s.TooFastMs, s.ReservationMinutes)
	}
	add(FieldMethod, method(a), method(b))
	add(FieldBreaks, breaks(a.BreakEvery), breaks(b.BreakEvery))
	add(FieldPractice, practice(a), practice(b))
	add(FieldExclusion, a.Exclusion, b.Exclusion)
	return out
}

// ChangeSummary writes changes as one line of the log.
func ChangeSummary(changes []Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// CheckEdit refuses changes that a study in status s may not make, naming
// the first field that is fixed.
func (s Status) CheckEdit(changes []Change) error {
	if !s.Editable() {
		return problem.Errorf(problem.ECONFLICT, "A %s study cannot be edited.", s)
	}
	for _, c := range changes {
		if !s.MayEdit(c.Field) {
			return problem.Errorf(problem.ECONFLICT, "The %s of a %s study cannot change: participants already hold its items. "+
				"Only places, the time limit and the texts can change now; duplicate the study to change the rest.", c.Field, s)
		}
	}
	return nil
}

func ints(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, ",")
}

func quote(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// breaks writes the break setting for the log: "every 40 trials", "none".
func breaks(every int) string {
	if every <= 0 {
		return "none"
	}
	return "every " + strconv.Itoa(every) + " trials"
}

// practice writes the practice setting for the log: "3 drawn", "2 picked", "none".
func practice(s Study) string {
	switch {
	case len(s.PracticeIDs) > 0:
		return strconv.Itoa(len(s.PracticeIDs)) + " picked" + practiceFrom(s)
	case s.PracticeItems > 0:
		return strconv.Itoa(s.PracticeItems) + " drawn" + practiceFrom(s)
	}
	return "none"
}

func practiceFrom(s Study) string {
	if s.PracticeSetID == uuid.Nil {
		return ""
	}
	return " from set " + s.PracticeSetID.String()
}
