package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/cubelab/cubelab/internal/problem"
)

// readForm parses the body of a POST (or any unsafe method) before the
// handler runs, so that a body over the size limit is a 413 and a body that
// is not form encoding a 400, with nothing stored. Handlers read fields with
// PostFormValue, which would otherwise swallow the error and see an empty
// form: an oversized consent or demographics form would then count as sent
// empty. On the admin side it runs before the CSRF check reads its token, so
// that a form over the limit is a 413, not a form that seems to have lost
// its token (a 403).
func (s *Server) readForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !unsafe(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if err := parseBody(r, 0); err != nil {
			s.Error(w, r, err)
			return
		}
		defer removeForm(r)
		next.ServeHTTP(w, r)
	})
}

// readUpload parses a multipart upload before the CSRF check reads its
// token, keeping up to uploadMemory in memory and the rest of the file in a
// temporary file, which is removed when the request ends on every path:
// the request here is requireAdmin's copy, so net/http's own cleanup of the
// original never sees this form. A body that is not multipart is a form
// like any other and gets the forms' 1 MB cap, not the upload's.
func (s *Server) readUpload(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !unsafe(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		if !isMultipart(r) {
			r.Body = http.MaxBytesReader(w, r.Body, maxAdminFormSize)
		}
		if err := parseBody(r, uploadMemory); err != nil {
			s.Error(w, r, err) // 413 names no limit; the form states it
			return
		}
		defer removeForm(r)
		next.ServeHTTP(w, r)
	})
}

func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}

// parseBody parses a form body, multipart when it says so (memory bytes in
// memory, 0 for all of it), and checks every text field. A body over its
// limit is a MaxBytesError (413); a body cut short or malformed, or a field
// that is not text, is an EINVALID refusal (400).
func parseBody(r *http.Request, memory int64) error {
	var err error
	if isMultipart(r) {
		if memory == 0 {
			memory = maxAdminFormSize
		}
		err = r.ParseMultipartForm(memory)
	} else {
		err = r.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		removeForm(r)
		return err
	case err != nil:
		removeForm(r)
		return problem.Errorf(problem.EINVALID, "The form could not be read (it was cut short or is not a form). Nothing was changed.")
	}
	if err := checkValues(r.PostForm); err != nil {
		removeForm(r)
		return err
	}
	return nil
}

// removeForm deletes a multipart form's temporary files.
func removeForm(r *http.Request) {
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll()
	}
}

// checkInput refuses a request whose path or query holds what no page of
// cubelab can mean: a NUL byte or text that is not UTF-8. Every handler may
// then pass what it reads to PostgreSQL, which refuses both (as a 500).
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkText("address", r.URL.Path)
		if err == nil {
			err = checkQuery(r.URL.RawQuery)
		}
		if err != nil {
			s.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxQueryParams is the most parameters url.ParseQuery reads (Go's default
// of GODEBUG urlmaxqueryparams); checkQuery refuses more, as it does.
const maxQueryParams = 10000

// checkQuery is url.ParseQuery and checkValues of its values in one pass
// that builds no map: every picture's address has a query. A query that
// does not parse is refused as such, whatever its text.
func checkQuery(raw string) error {
	if strings.Count(raw, "&")+1 > maxQueryParams {
		return unreadableAddress()
	}
	var textErr error
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(part, ";") {
			return unreadableAddress()
		}
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, kerr := url.QueryUnescape(k)
		v, verr := url.QueryUnescape(v)
		if kerr != nil || verr != nil {
			return unreadableAddress()
		}
		if textErr == nil {
			if textErr = checkText("field name", k); textErr == nil {
				textErr = checkText(k, v)
			}
		}
	}
	return textErr
}

// unreadableAddress refuses a query that is not URL encoding.
func unreadableAddress() error {
	return problem.Errorf(problem.EINVALID, "The address could not be read. Nothing was changed.")
}

// checkValues checks every name and value of a form or query.
func checkValues(vs url.Values) error {
	for k, v := range vs {
		if err := checkText("field name", k); err != nil {
			return err
		}
		for _, x := range v {
			if err := checkText(k, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText refuses a NUL byte and text that is not UTF-8, naming where.
func checkText(where, v string) error {
	if !utf8.ValidString(v) {
		return problem.Errorf(problem.EINVALID, "The %s %.40q is not readable text (not UTF-8). Nothing was changed.", where, v)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return problem.Errorf(problem.EINVALID, "The %s %.40q holds a NUL character. Nothing was changed.", where, v)
	}
	return nil
}
