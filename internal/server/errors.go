package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/cubelab/cubelab/internal/problem"
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
	case problem.ECONFLICT:
		return http.StatusConflict, "This cannot be done now"
	case problem.EINVALID:
		return http.StatusBadRequest, "Something is wrong with this link or form"
	case problem.ENOTFOUND:
		return http.StatusNotFound, "Not found"
	case problem.EUNAUTHORIZED:
		return http.StatusUnauthorized, "Please open the study link again"
	case problem.EFORBIDDEN:
		return http.StatusForbidden, "Not allowed"
	case problem.EGONE:
		return http.StatusGone, "Not available"
	case problem.ETIMEUP:
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
	status, title = statusOf(problem.Code(err))
	msg = problem.Message(err)
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

// adminSide says whether r belongs to the experimenter's route group, whose
// pages, errors included, are drawn inside the admin frame.
func adminSide(r *http.Request) bool {
	return r.URL.Path == "/admin" || strings.HasPrefix(r.URL.Path, "/admin/")
}

// Error writes err as a page with the status of its code, in the frame of
// the route group r belongs to: the participant's page or the admin frame.
// It is the server's one renderer of refusals. Internal errors are logged
// and shown without detail; a body too large is a 413.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	status, title, msg := describe(err)
	admin := adminSide(r)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "admin", admin, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	link, linkText := problem.Forward(err)
	var pe *pageError
	if errors.As(err, &pe) {
		link, linkText = pe.link, pe.linkText
	}
	var page templ.Component
	if admin {
		if status == http.StatusUnauthorized {
			title = "Please log in"
		}
		if link == "" {
			link, linkText = "/admin/", "Back"
		}
		ses := adminSession(r)
		page = web.AdminError(web.AdminErrorView{AdminPage: web.AdminPage{Title: title, Email: ses.Admin.Email, CSRF: ses.CSRFToken},
			Status: status, Message: msg, Link: link, LinkText: linkText})
	} else {
		page = web.Error(web.ErrorView{Page: web.Page{Title: title, Study: "cubelab"}, Status: status, Message: msg,
			Link: link, LinkText: linkText})
	}
	if rerr := render(w, r, status, page); rerr != nil {
		s.log.WarnContext(r.Context(), "writing an error page failed", "err", rerr)
	}
}
