package postgres

import (
	"strings"

	"github.com/cubelab/cubelab/internal/study"
)

// SQL built from study's statuses, so that no status is spelled out in a
// statement: the rules of which statuses count, hold a place or may be acted
// on stay in study (rules.go) and the SQL follows them.

// Statuses as SQL string literals, for statements that are constants.
const (
	sqlStarted   = "'" + string(study.Started) + "'"
	sqlCompleted = "'" + string(study.Completed) + "'"
	sqlReturned  = "'" + string(study.Returned) + "'"
	sqlTimedOut  = "'" + string(study.TimedOut) + "'"
	sqlRejected  = "'" + string(study.Rejected) + "'"
	sqlDraft     = "'" + string(study.Draft) + "'"
	sqlPublished = "'" + string(study.Published) + "'"
	sqlComplete  = "'" + string(study.Complete) + "'"
)

// sqlText writes a study constant (a status) as a SQL string literal.
func sqlText[T ~string](v T) string {
	return "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
}

// statusIn is the SQL condition "col IN ('a', 'b')" on the statuses given.
func statusIn(col string, statuses ...study.ParticipantStatus) string {
	return col + " IN (" + statusList(statuses) + ")"
}

// statusNotIn is the SQL condition "col NOT IN ('a', 'b')".
func statusNotIn(col string, statuses ...study.ParticipantStatus) string {
	return col + " NOT IN (" + statusList(statuses) + ")"
}

func statusList(statuses []study.ParticipantStatus) string {
	quoted := make([]string, len(statuses))
	for i, s := range statuses {
		quoted[i] = sqlText(s)
	}
	return strings.Join(quoted, ", ")
}

// statusTexts is statuses as the text array a statement takes ($n::text[]).
func statusTexts(statuses []study.ParticipantStatus) []string {
	out := make([]string, len(statuses))
	for i, s := range statuses {
		out[i] = string(s)
	}
	return out
}
