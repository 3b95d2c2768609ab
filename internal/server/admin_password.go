package server

import (
	"crypto/rand"
	"fmt"
	"net/http"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/web"
)

// handlePasswordPage shows the form where an account changes its password.
func (s *Server) handlePasswordPage(w http.ResponseWriter, r *http.Request) error {
	return render(w, r, http.StatusOK, web.Password(s.passwordView(r)))
}

func (s *Server) passwordView(r *http.Request) web.PasswordView {
	return web.PasswordView{AdminPage: adminPage(r, "Change your password", ""), MinLen: account.MinPasswordLen}
}

// handlePasswordChange changes the account's password after checking the
// current one (within the login limits, which a wrong current password
// counts against, so a borrowed session cannot guess it), and ends every
// other session of the account.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v := s.passwordView(r)
	refuse := func(status int, msg string) error {
		v.Errors = []string{msg}
		return render(w, r, status, web.Password(v))
	}
	email := adminSession(r).Admin.Email
	ip := s.limitKey(r)
	counts, err := s.store.LoginFailures(ctx, ip, email, account.Window)
	if err != nil {
		return err
	}
	if counts.Refused() {
		w.Header().Set("Retry-After", "900")
		return refuse(http.StatusTooManyRequests, "Too many wrong passwords from this address. Please wait 15 minutes and try again.")
	}
	next, repeat := r.PostFormValue("new"), r.PostFormValue("repeat")
	switch {
	case len(next) < account.MinPasswordLen:
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("The new password is too short: it needs at least %d characters.", account.MinPasswordLen))
	case next != repeat:
		return refuse(http.StatusUnprocessableEntity, "The two new passwords differ: type the same one twice.")
	}
	_, hash, err := s.store.AdminByEmail(ctx, email)
	if err != nil {
		return err
	}
	var cerr error
	var newHash string
	if s.withPasswordSlot(func() {
		if cerr = account.Check(r.PostFormValue("current"), hash); cerr == nil {
			newHash, err = account.Hash(next, account.DefaultParams())
		}
	}) {
		w.Header().Set("Retry-After", "5")
		return refuse(http.StatusTooManyRequests, "Too many passwords are being checked at this moment. Please wait a few seconds and try again.")
	}
	if cerr != nil {
		if err := s.store.RecordLoginFailure(ctx, ip, email); err != nil {
			return err
		}
		return refuse(http.StatusUnauthorized, "The current password is wrong.")
	}
	if err != nil {
		return err
	}
	c, err := r.Cookie(adminCookie)
	if err != nil {
		return err // requireAdmin let the request in with this cookie
	}
	if err := s.store.ChangeAdminPassword(ctx, email, newHash, tokenHash(c.Value)); err != nil {
		return err
	}
	v.Done = true
	return render(w, r, http.StatusOK, web.Password(v))
}

// newPassword is a password for an account made on the web: 16 letters and
// digits from an alphabet without look-alikes (about 80 bits), each drawn
// uniformly (random bytes past the last whole multiple of the alphabet's
// length are drawn again, so no letter is likelier than another).
func newPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, 16)
	b := make([]byte, 32)
	for len(out) < cap(out) {
		_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
		for _, c := range b {
			if int(c) < limit && len(out) < cap(out) {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
