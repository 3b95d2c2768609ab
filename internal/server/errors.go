package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/web"
)

// handlerFunc is a handler that returns its error rather than writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle turns a handlerFunc into an http.HandlerFunc; every error of every
// handler goes through Error.
func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.Error(w, r, err)
		}
	}
}

// statusOf maps an error code to an HTTP status and a page heading.
func statusOf(code string) (int, string) {
	switch code {
	case study.ECONFLICT:
		return http.StatusConflict, "This cannot be done now"
	case study.EINVALID:
		return http.StatusBadRequest, "Something is wrong with this link or form"
	case study.ENOTFOUND:
		return http.StatusNotFound, "Not found"
	case study.EUNAUTHORIZED:
		return http.StatusUnauthorized, "Please open the study link again"
	case study.EFORBIDDEN:
		return http.StatusForbidden, "Not allowed"
	case study.EGONE:
		return http.StatusGone, "Not available"
	case study.ETIMEUP:
		return http.StatusGone, "Time is up"
	}
	return http.StatusInternalServerError, "Sorry, something went wrong"
}

// pageError is an error that also says where the participant should go next.
type pageError struct {
	err      error
	link     string
	linkText string
}

func (e *pageError) Error() string { return e.err.Error() }
func (e *pageError) Unwrap() error { return e.err }

// withLink attaches a way forward to an error page.
func withLink(err error, link, text string) error {
	return &pageError{err: err, link: link, linkText: text}
}

// statusError gives an error a status its code does not say (405).
type statusError struct {
	err    error
	status int
	title  string
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus makes err answer with status and title.
func withStatus(status int, title string, err error) error {
	return &statusError{err: err, status: status, title: title}
}

// describe is the status, heading and message an error is shown with, on
// both sides of the site.
func describe(err error) (status int, title, msg string) {
	status, title = statusOf(study.ErrorCode(err))
	msg = study.ErrorMessage(err)
	var tooBig *http.MaxBytesError
	var se *statusError
	switch {
	case errors.As(err, &tooBig):
		status, title, msg = http.StatusRequestEntityTooLarge, "Too large",
			fmt.Sprintf("What was sent is larger than this address takes (at most %s). Nothing was changed.", sizeText(tooBig.Limit))
	case errors.As(err, &se):
		status, title = se.status, se.title
	}
	return status, title, msg
}

// sizeText is a byte count for people: "16 KB", "1 MB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Error writes err as a page with the status of its code. Internal errors are
// logged and shown without detail; a body too large is a 413.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	status, title, msg := describe(err)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	v := web.ErrorView{Page: web.Page{Title: title, Study: "cubelab"}, Status: status, Message: msg}
	var pe *pageError
	if errors.As(err, &pe) {
		v.Link, v.LinkText = pe.link, pe.linkText
	}
	if rerr := render(w, r, status, web.Error(v)); rerr != nil {
		s.log.WarnContext(r.Context(), "writing an error page failed", "err", rerr)
	}
}
