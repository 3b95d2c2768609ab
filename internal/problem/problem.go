// Package problem is how every part of cubelab refuses: an error with a code,
// a message written for the person who asked and, where there is one, a way
// forward; and a list of problems located by file, line and field. It imports
// nothing of ours, so every package can use it; the web and the command line
// each render it in one place.
package problem

import (
	"errors"
	"fmt"
	"strings"
)

// Codes, after benbjohnson/wtf: storage and domain code say what went wrong,
// and one function in each front end turns a code into a status and a page.
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

// Error is an error meant to be shown: Message is written for the person who
// made the request, Link and LinkText (both optional) say where to go next.
type Error struct {
	Code     string
	Message  string
	Link     string
	LinkText string
	// Field names the input the problem is in, when it is one: the command
	// line shows it as its flag (--source), a form beside its field.
	Field string
}

// Error implements the error interface with the message alone: the code is
// for programs, and a prefix would be noise in front of a person.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// In returns a copy of e that names field as the input at fault.
func (e *Error) In(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// Forward returns a copy of e that points to link, labelled text.
func (e *Error) Forward(link, text string) *Error {
	c := *e
	c.Link, c.LinkText = link, text
	return &c
}

// find is the first *Error in err's chain, or else the first *Lines.
func find(err error) (*Error, *Lines) {
	var e *Error
	if errors.As(err, &e) {
		return e, nil
	}
	var ls *Lines
	if errors.As(err, &ls) {
		return nil, ls
	}
	return nil, nil
}

// Code is the code of the first *Error in err's chain, "" for nil, and
// EINTERNAL for any other error (a *Lines is EINVALID).
func Code(err error) string {
	e, ls := find(err)
	switch {
	case err == nil:
		return ""
	case e != nil:
		return e.Code
	case ls != nil:
		return EINVALID
	}
	return EINTERNAL
}

// Message is the message of the first *Error in err's chain (a *Lines is
// summed up in one sentence; its lines come from Lines.Strings), or a
// generic one that reveals nothing of an internal error.
func Message(err error) string {
	e, ls := find(err)
	switch {
	case err == nil:
		return ""
	case e != nil:
		return e.Message
	case ls != nil:
		return ls.Summary()
	}
	return "Something went wrong on our side. Please try again in a moment."
}

// Forward is the way forward of the first *Error in err's chain, if any.
func Forward(err error) (link, text string) {
	if e, _ := find(err); e != nil {
		return e.Link, e.LinkText
	}
	return "", ""
}

// Line is one problem in an input, located precisely enough to fix it.
type Line struct {
	File  string // e.g. "manifest.csv"
	Line  int    // 1-based; 0 when the problem is not on one line
	Field string // column or JSON path; empty when the whole line is wrong
	Msg   string
}

// String is "file:line: field: message", leaving out what is not known.
func (l Line) String() string {
	var b strings.Builder
	b.WriteString(l.File)
	if l.Line > 0 {
		fmt.Fprintf(&b, ":%d", l.Line)
	}
	b.WriteString(": ")
	if l.Field != "" {
		b.WriteString(l.Field)
		b.WriteString(": ")
	}
	b.WriteString(l.Msg)
	return b.String()
}

// Lines is every problem found in an input, up to a cap; More says further
// problems were found but not listed. It is the one line-error type of the
// command line and the web, and Strings is its one rendering.
type Lines struct {
	List []Line
	More bool
}

// Add appends a problem unless max are listed already, in which case it
// notes that there were more. It reports whether the list is still open.
func (e *Lines) Add(max int, file string, line int, field, format string, args ...any) bool {
	if len(e.List) >= max {
		e.More = true
		return false
	}
	e.List = append(e.List, Line{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	return true
}

// Err is e as an error, or nil when nothing was found.
func (e *Lines) Err() error {
	if e == nil || len(e.List) == 0 {
		return nil
	}
	c := *e
	return &c
}

// Summary is one sentence: how many problems, and whether all are listed.
func (e *Lines) Summary() string {
	n := len(e.List)
	s := fmt.Sprintf("%d problems were found", n)
	if n == 1 {
		s = "1 problem was found"
	}
	if e.More {
		return s + " before the check stopped (more are not listed)"
	}
	return s
}

// Strings renders the problems one a line, with a last line when the list
// was cut short: the command line prints them, the web lists them.
func (e *Lines) Strings() []string {
	out := make([]string, 0, len(e.List)+1)
	for _, l := range e.List {
		out = append(out, l.String())
	}
	if e.More {
		out = append(out, fmt.Sprintf("(stopped after %d problems)", len(e.List)))
	}
	return out
}

// Error is the problems one a line.
func (e *Lines) Error() string { return strings.Join(e.Strings(), "\n") }
