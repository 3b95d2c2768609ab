package study

import (
	"errors"
	"fmt"
)

// Error codes, after benbjohnson/wtf: storage and domain code say what went
// wrong, and one function in the server turns a code into a status and a page.
const (
	ECONFLICT     = "conflict"     // the request contradicts stored state
	EINTERNAL     = "internal"     // a fault of ours; the message is not shown
	EINVALID      = "invalid"      // malformed input
	ENOTFOUND     = "not_found"    // no such thing, or not yours
	EUNAUTHORIZED = "unauthorized" // no valid session
	EFORBIDDEN    = "forbidden"    // a valid session that may not do this
	EGONE         = "gone"         // the thing existed but is no longer open
	ETIMEUP       = "time_up"      // the participant's time limit has passed
)

// Error is an error meant to be shown: Message is written for the person
// who made the request.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return fmt.Sprintf("study: %s: %s", e.Code, e.Message) }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode is the code of the first *Error in err's chain, "" for nil, and
// EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage is the message of the first *Error in err's chain, or a
// generic one that reveals nothing of an internal error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again in a moment."
}
