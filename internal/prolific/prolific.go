// Package prolific knows Prolific's conventions: the parameters of a study
// link and the completion URL. It knows nothing of HTTP handlers or SQL.
package prolific

import (
	"net/url"
	"regexp"
)

// The names of the query parameters Prolific appends to a study link.
const (
	ParamPID       = "PROLIFIC_PID"
	ParamStudyID   = "STUDY_ID"
	ParamSessionID = "SESSION_ID"
)

// Prolific ids are 24 lowercase hex digits. STUDY_ID and SESSION_ID are only
// recorded, never used to identify anyone, so they are held to a looser
// pattern: a change in Prolific's session format must not lock people out.
var (
	idPattern    = regexp.MustCompile(`^[0-9a-f]{24}$`)
	tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidID reports whether s has the form of a Prolific id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Params are the Prolific parameters of one opening of a study link.
type Params struct {
	PID       string
	StudyID   string // "" when the link did not carry it
	SessionID string // "" when the link did not carry it
}

// Preview reports whether the link was opened without a participant id: the
// study then runs as a preview that records nothing.
func (p Params) Preview() bool { return p.PID == "" }

// ParamError says which parameter is wrong and how, for the participant.
type ParamError struct {
	Param   string
	Message string
}

// Error implements the error interface.
func (e *ParamError) Error() string { return "prolific: " + e.Param + ": " + e.Message }

// ParseParams reads a study link's query. With no PROLIFIC_PID at all it
// returns a preview; a PROLIFIC_PID that is present must be well formed, and
// so must STUDY_ID and SESSION_ID when present, since a silently accepted typo
// would create a participant Prolific cannot pay.
func ParseParams(q url.Values) (Params, error) {
	if _, ok := q[ParamPID]; !ok {
		return Params{}, nil
	}
	p := Params{PID: q.Get(ParamPID), StudyID: q.Get(ParamStudyID), SessionID: q.Get(ParamSessionID)}
	if p.PID == "" {
		return Params{}, &ParamError{ParamPID, "The link has an empty PROLIFIC_PID; please open the study from Prolific again."}
	}
	if !ValidID(p.PID) {
		return Params{}, &ParamError{ParamPID, "PROLIFIC_PID must be 24 characters, digits 0-9 and letters a-f; please open the study from Prolific again."}
	}
	if p.StudyID != "" && !tokenPattern.MatchString(p.StudyID) {
		return Params{}, &ParamError{ParamStudyID, "STUDY_ID may hold only letters, digits, - and _ (at most 64)."}
	}
	if p.SessionID != "" && !tokenPattern.MatchString(p.SessionID) {
		return Params{}, &ParamError{ParamSessionID, "SESSION_ID may hold only letters, digits, - and _ (at most 64)."}
	}
	return p, nil
}

// CompletionURL is where a participant goes after the last answer is
// committed, carrying the study's completion code.
func CompletionURL(code string) string {
	return "https://app.prolific.com/submissions/complete?cc=" + url.QueryEscape(code)
}

// SubmissionsURL is the participant's list of submissions on Prolific,
// where a study is returned: the way back for someone who cannot complete
// (past the time limit), who must not be sent the completion code.
const SubmissionsURL = "https://app.prolific.com/submissions"
