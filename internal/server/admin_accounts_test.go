package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var newPasswordRE = regexp.MustCompile(`<code class="password" id="new-password">([a-z0-9]+)</code>`)

// Accounts are made on the web by an admin (issue 16): the new account's
// password is shown once, on the page and never in a URL; its owner logs in
// with it and changes it; a password change ends the account's other
// sessions. An experimenter cannot make accounts; bad input is refused
// with a message naming it.
func TestAccountsOnTheWeb(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ann := noRedirects()
	_, annToken := e.login(t, ann, adminPassword)

	resp, page := e.postBody(t, ann, "/admin/accounts", url.Values{"csrf": {annToken}, "email": {" Carol@Example.org"}, "role": {"experimenter"}})
	m := newPasswordRE.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusCreated || m == nil || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Location") != "" {
		t.Fatalf("create: %d, Cache-Control %q\n%.3000s", resp.StatusCode, resp.Header.Get("Cache-Control"), page)
	}
	password := m[1]
	if !strings.Contains(page, `data-account="carol@example.org"`) {
		t.Error("the new account is not in the list")
	}
	if resp, page := e.postBody(t, ann, "/admin/accounts", url.Values{"csrf": {annToken}, "email": {"erin@example.org"}, "role": {"admin"}}); resp.StatusCode != http.StatusCreated ||
		!strings.Contains(page, "created as admin") {
		t.Errorf("create an admin: %d", resp.StatusCode)
	}
	if a, _, err := e.store.AdminByEmail(context.Background(), "erin@example.org"); err != nil || string(a.Role) != "admin" {
		t.Errorf("erin's role %q (%v), want admin", a.Role, err)
	}
	for _, c := range []struct {
		email, role string
		status      int
		want        string
	}{
		{"carol@example.org", "admin", http.StatusConflict, "An account for carol@example.org already exists."},
		{"not an address", "admin", http.StatusUnprocessableEntity, "The email is not an address"},
		{"dan@example.org", "owner", http.StatusUnprocessableEntity, "Choose a role: admin or experimenter."},
	} {
		resp, page := e.postBody(t, ann, "/admin/accounts", url.Values{"csrf": {annToken}, "email": {c.email}, "role": {c.role}})
		if resp.StatusCode != c.status || !strings.Contains(page, c.want) || !strings.Contains(page, `aria-invalid="true"`) {
			t.Errorf("create %q %q: %d, want %d saying %q", c.email, c.role, resp.StatusCode, c.status, c.want)
		}
	}

	// Carol logs in twice (two browsers) and is an experimenter.
	carol, other := noRedirects(), noRedirects()
	_, carolToken := e.loginAs(t, carol, "carol@example.org", password)
	if _, tok := e.loginAs(t, other, "carol@example.org", password); carolToken == "" || tok == "" {
		t.Fatal("the new account cannot log in with the password shown")
	}
	if resp, _ := e.get(t, carol, "/admin/accounts"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the accounts page for an experimenter: %d", resp.StatusCode)
	}
	if resp := e.post(t, carol, "/admin/accounts", url.Values{"csrf": {carolToken}, "email": {"eve@example.org"}, "role": {"admin"}}, e.srv.URL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an experimenter making an account: %d", resp.StatusCode)
	}

	// She changes her password.
	const next = "a much longer new password"
	for _, c := range []struct {
		current, new, repeat string
		status               int
		want                 string
	}{
		{password, "short", "short", http.StatusUnprocessableEntity, "too short"},
		{password, next, next + "x", http.StatusUnprocessableEntity, "The two new passwords differ"},
		{"wrong password!", next, next, http.StatusUnauthorized, "The current password is wrong."},
	} {
		resp, page := e.postBody(t, carol, "/admin/password", url.Values{"csrf": {carolToken}, "current": {c.current}, "new": {c.new}, "repeat": {c.repeat}})
		if resp.StatusCode != c.status || !strings.Contains(page, c.want) {
			t.Errorf("change (%q): %d, want %d saying %q", c.want, resp.StatusCode, c.status, c.want)
		}
	}
	resp, page = e.postBody(t, carol, "/admin/password", url.Values{"csrf": {carolToken}, "current": {password}, "new": {next}, "repeat": {next}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="password-done"`) {
		t.Fatalf("change: %d\n%.2000s", resp.StatusCode, page)
	}
	if resp, _ := e.get(t, carol, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("the session that changed the password ended: %d", resp.StatusCode)
	}
	if resp, _ := e.get(t, other, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("another session survived the password change: %d", resp.StatusCode)
	}
	if _, tok := e.loginAs(t, noRedirects(), "carol@example.org", password); tok != "" {
		t.Error("the old password still logs in")
	}
	if _, tok := e.loginAs(t, noRedirects(), "carol@example.org", next); tok == "" {
		t.Error("the new password does not log in")
	}
}
