package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The evidence that a participant's picture was served before their answer
// (issue 10) travels with the browser instead of being written per picture:
// the picture's response sets a cookie holding the position and the time
// the server served it, signed with a key every server process of the
// database shares (server_keys), bound to the study and the session. The
// answer's request brings it back, and the answer statement takes the
// earlier of it and what the database recorded (a picture served through a
// database check still records it there). A client can drop the cookie,
// which flags its answer no_image, but cannot make one: the picture at a
// position, and only its first serving, stays the evidence. The picture
// request of the ordinary path thus runs no statement at all.

// pictureKeyName names the key of the picture cookies in server_keys.
const pictureKeyName = "picture served"

// pictureSlots is how many picture cookies a session holds: the cookie of
// position p is slot p mod pictureSlots. Pictures are served up to one past
// the current trial, so when the trial at p is answered the slot of p still
// holds p (p+pictureSlots cannot have been served yet), and the picture of
// the trial and its preload, fetched at once, never share a slot.
const pictureSlots = 4

// pictureCookieAge keeps a cookie as long as the browser keeps the picture
// (Cache-Control max-age of handleTrialImage): a picture the browser shows
// from its cache still has its cookie.
const pictureCookieAge = 86400

// pictureMACBytes is the length of a cookie's signature.
const pictureMACBytes = 16

// pictureKeys loads the shared key once it is first needed; a failed load
// is retried at the next need, and meanwhile pictures are recorded in the
// database as before.
type pictureKeys struct {
	mu  sync.Mutex
	key []byte
}

// pictureKey returns the shared key, or nil when the database could not
// give it.
func (s *Server) pictureKey(ctx context.Context) []byte {
	s.picKeys.mu.Lock()
	defer s.picKeys.mu.Unlock()
	if s.picKeys.key == nil {
		key, err := s.store.ServerKey(ctx, pictureKeyName)
		if err != nil {
			s.log.WarnContext(ctx, "picture cookies: no key, recording pictures in the database", "err", err)
			return nil
		}
		s.picKeys.key = key
	}
	return s.picKeys.key
}

func pictureCookieName(slug string, pos int) string {
	return cookieName(slug) + "_p" + strconv.Itoa(pos%pictureSlots)
}

func pictureMAC(key []byte, slug string, hash []byte, pos int, ms int64) []byte {
	m := hmac.New(sha256.New, key)
	// The input in one piece, the bytes the separate writes it stands for
	// would give, and its buffer reused for the sum.
	in := make([]byte, 0, max(sha256.Size, len(pictureKeyName)+len(slug)+len(hash)+44))
	in = append(append(in, pictureKeyName...), 0)
	in = append(append(in, slug...), 0)
	in = append(in, hash...)
	in = append(strconv.AppendInt(in, int64(pos), 10), '.')
	in = strconv.AppendInt(in, ms, 10)
	m.Write(in)
	return m.Sum(in[:0])[:pictureMACBytes]
}

// pictureServedAt reads the time the picture at pos was served to the
// session (slug, hash) from value, the picture cookie of pos; ok is false
// unless it is a valid one for that position.
func pictureServedAt(value string, key []byte, slug string, hash []byte, pos int) (at time.Time, ok bool) {
	if key == nil {
		return at, false
	}
	p, rest, _ := strings.Cut(value, ".")
	msText, macText, found := strings.Cut(rest, ".")
	if !found || strings.Contains(macText, ".") || p != strconv.Itoa(pos) {
		return at, false
	}
	ms, err := strconv.ParseInt(msText, 10, 64)
	if err != nil {
		return at, false
	}
	var mac [pictureMACBytes]byte
	if len(macText) != base64.RawURLEncoding.EncodedLen(pictureMACBytes) {
		return at, false
	}
	n, err := base64.RawURLEncoding.Decode(mac[:], []byte(macText))
	if err != nil || !hmac.Equal(mac[:n], pictureMAC(key, slug, hash, pos, ms)) {
		return at, false
	}
	return time.UnixMilli(ms), true
}

// recordPictureServed keeps the evidence that the picture at pos was served
// to the session (slug, hash): a signed cookie with the time, unless the
// request already holds one for pos (the first serving counts), or, without
// the shared key, the database's record.
func (s *Server) recordPictureServed(w http.ResponseWriter, r *http.Request, slug string, hash []byte, pos int) error {
	key := s.pictureKey(r.Context())
	if key == nil {
		return s.store.ImageServedBySession(r.Context(), slug, hash, pos)
	}
	if c, err := r.Cookie(pictureCookieName(slug, pos)); err == nil {
		if _, ok := pictureServedAt(c.Value, key, slug, hash, pos); ok {
			return nil
		}
	}
	// The wall clock, not s.now: the answer statement measures from this
	// time to the database's now().
	ms := time.Now().UnixMilli()
	http.SetCookie(w, &http.Cookie{
		Name:     pictureCookieName(slug, pos),
		Value:    strconv.Itoa(pos) + "." + strconv.FormatInt(ms, 10) + "." + base64.RawURLEncoding.EncodeToString(pictureMAC(key, slug, hash, pos, ms)),
		Path:     "/s/" + slug,
		MaxAge:   pictureCookieAge,
		HttpOnly: true,
		Secure:   r.TLS != nil || strings.HasPrefix(s.baseURL, "https://"),
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// pictureEvidence is the serving time of the picture of the answer at pos
// that the request's cookie proves, or nil.
func (s *Server) pictureEvidence(r *http.Request, slug string, hash []byte, pos int) *time.Time {
	c, err := r.Cookie(pictureCookieName(slug, pos))
	if err != nil {
		return nil // no cookie: no need for the key
	}
	if at, ok := pictureServedAt(c.Value, s.pictureKey(r.Context()), slug, hash, pos); ok {
		return &at
	}
	return nil
}
