package study

import "github.com/cubelab/cubelab/internal/problem"

// The error codes and type moved to internal/problem, the one way every
// package refuses. These names keep code written against study compiling
// while the branches in flight land; new code uses problem directly.
const (
	ECONFLICT     = problem.ECONFLICT
	EINTERNAL     = problem.EINTERNAL
	EINVALID      = problem.EINVALID
	ENOTFOUND     = problem.ENOTFOUND
	EUNAUTHORIZED = problem.EUNAUTHORIZED
	EFORBIDDEN    = problem.EFORBIDDEN
	EGONE         = problem.EGONE
	ETIMEUP       = problem.ETIMEUP
)

// Error is problem.Error.
type Error = problem.Error

// Errorf is problem.Errorf.
func Errorf(code, format string, args ...any) *Error { return problem.Errorf(code, format, args...) }

// ErrorCode is problem.Code.
func ErrorCode(err error) string { return problem.Code(err) }

// ErrorMessage is problem.Message.
func ErrorMessage(err error) string { return problem.Message(err) }
