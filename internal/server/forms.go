package server

import (
	"errors"
	"net/http"

	"github.com/cubelab/cubelab/internal/study"
)

// readForm parses a POST body before the handler runs, so that a body over
// the size limit is a 413 and a body that is not form encoding a 400, with
// nothing stored. Handlers read fields with PostFormValue, which would
// otherwise swallow the error and see an empty form: an oversized consent
// or demographics form would then count as sent empty.
func (s *Server) readForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if !errors.As(err, &tooBig) {
				err = study.Errorf(study.EINVALID, "The form could not be read. Nothing was recorded.")
			}
			s.Error(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
