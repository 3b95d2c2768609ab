package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// sessionToken returns the study's slug and the hash of the participant's
// session token from the request's cookie, for the one-statement paths of
// the store (Store.AnswerBySession and its kin); ok is false without a cookie.
func sessionToken(r *http.Request) (slug string, hash []byte, ok bool) {
	slug = chi.URLParam(r, "slug")
	c, err := r.Cookie(cookieName(slug))
	if err != nil || c.Value == "" {
		return slug, nil, false
	}
	return slug, tokenHash(c.Value), true
}
