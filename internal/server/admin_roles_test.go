package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/study"
)

// Accounts and roles: a study made by one account is invisible to another
// (list, page, downloads, actions: 404) until it is added as a member; only
// an admin sees the accounts page; disabling an account ends its session and
// its logins; the last admin cannot be demoted.
func TestStudyOwnersAndRoles(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	ann, bob := noRedirects(), noRedirects()
	_, annToken := e.login(t, ann, adminPassword) // the first account: an admin
	bobToken := e.secondAdmin(t, bob, "bob@example.org")

	// Ann makes a study (a draft of the fixture's set).
	form := url.Values{"csrf": {annToken}, "title": {"Ann's"}, "slug": {"anns"}, "domain": {"tower"}, "set": {e.study.SetID.String()},
		"design": {"fixed"}, "places": {"10"}, "minutes": {"30"}, "consent": {"c"}, "instructions": {"i"},
		"base": {"1.00"}, "per_correct": {"0.01"}, "max_bonus": {"0.10"}, "currency": {"GBP"}, "code": {"ANN1"}}
	resp := e.post(t, ann, "/admin/studies", form, e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	base := resp.Header.Get("Location")
	if _, list := e.get(t, ann, "/admin/"); !strings.Contains(list, base) {
		t.Errorf("the owner's list lacks the study")
	}
	if _, list := e.get(t, bob, "/admin/"); strings.Contains(list, base) || !strings.Contains(list, "/admin/studies/"+e.study.ID.String()) {
		t.Errorf("another account's list shows the study, or hides the one made without an account")
	}
	for _, path := range []string{"/", "/edit", "/answers.csv", "/participants.csv", "/report", "/payouts"} {
		if resp, _ := e.get(t, bob, base+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s by another account: %d, want 404", path, resp.StatusCode)
		}
	}
	annID := strings.TrimPrefix(base, "/admin/studies/")
	if resp, page := e.get(t, bob, "/admin/sets/towers-set?study="+annID+"&pick=checks"); resp.StatusCode != http.StatusNotFound || strings.Contains(page, "Ann&#39;s") {
		t.Errorf("the set browser picking for another account's study: %d, want 404", resp.StatusCode)
	}
	for path, f := range map[string]url.Values{
		"/status": {"status": {string(study.Published)}}, "/duplicate": {"version": {"1"}}, "/delete": {},
		"/": {"version": {"1"}, "places": {"1"}}, "/members": {"email": {"bob@example.org"}},
	} {
		f.Set("csrf", bobToken)
		if resp := e.post(t, bob, base+path, f, e.srv.URL); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s by another account: %d, want 404", path, resp.StatusCode)
		}
	}
	if _, page := e.get(t, bob, "/admin/export"); strings.Contains(page, "anns") {
		t.Errorf("the export form offers another account's study")
	}
	if resp, _ := e.get(t, bob, "/admin/export/download?study=anns&source=every&format=csv"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("export of another account's study: %d, want 404", resp.StatusCode)
	}
	if _, err := e.store.StudyBySlug(ctx, "anns"); err != nil {
		t.Fatalf("the study is gone: %v", err)
	}

	// Ann adds Bob: he sees it, and may act on it, but not change members.
	if resp := e.post(t, ann, base+"/members", url.Values{"csrf": {annToken}, "email": {"Bob@Example.org"}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add member: %d", resp.StatusCode)
	}
	if resp, page := e.get(t, bob, base+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "ada@example.org") {
		t.Errorf("a member on the study page: %d", resp.StatusCode)
	}
	if resp := e.post(t, bob, base+"/members", url.Values{"csrf": {bobToken}, "email": {"ada@example.org"}}, e.srv.URL); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a member changing members: %d, want 403", resp.StatusCode)
	}

	// Accounts: only for admins.
	if resp, _ := e.get(t, bob, "/admin/accounts"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the accounts page for an experimenter: %d, want 404", resp.StatusCode)
	}
	resp, page := e.get(t, ann, "/admin/accounts")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-account="bob@example.org"`) {
		t.Fatalf("the accounts page for an admin: %d", resp.StatusCode)
	}
	list, err := e.store.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, a := range list {
		ids[a.Email] = a.ID.String()
	}
	if resp, page := e.postBody(t, ann, "/admin/accounts/"+ids["ada@example.org"]+"/role", url.Values{"csrf": {annToken}, "role": {"experimenter"}}); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "last enabled admin") {
		t.Errorf("demote the last admin: %d", resp.StatusCode)
	}
	if resp := e.post(t, ann, "/admin/accounts/"+ids["bob@example.org"]+"/disable", url.Values{"csrf": {annToken}, "disable": {"1"}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable bob: %d", resp.StatusCode)
	}
	if resp, _ := e.get(t, bob, "/admin/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a disabled account's session: %d, want a redirect to the login", resp.StatusCode)
	}
	if _, token := e.loginAs(t, noRedirects(), "bob@example.org", adminPassword); token != "" {
		t.Errorf("a disabled account logged in")
	}
	if resp := e.post(t, ann, "/admin/accounts/"+ids["bob@example.org"]+"/role", url.Values{"csrf": {annToken}, "role": {string(account.RoleAdmin)}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("make bob admin: %d", resp.StatusCode)
	}
}
