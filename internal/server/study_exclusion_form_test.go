package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStudyFormExclusion: the study form takes the exclusion rule, refuses
// one it cannot read with a message naming the clause, stores it in its
// canonical form and shows it again on the edit form.
func TestStudyFormExclusion(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	form := func(slug, rule string) url.Values {
		return url.Values{"csrf": {token}, "title": {"Excl " + slug}, "slug": {slug}, "domain": {"tower"},
			"set": {e.study.SetID.String()}, "design": {"fixed"}, "r": {"1"}, "places": {"10"}, "minutes": {"30"},
			"consent": {"Consent."}, "instructions": {"Answer."}, "base": {"1.00"}, "per_correct": {"0.01"},
			"max_bonus": {"0.50"}, "currency": {"GBP"}, "code": {"EXCLCODE1"}, "exclusion": {rule}}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/studies", strings.NewReader(form("excl-bad", "checks>=one").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(body), "checks&gt;=one") {
		t.Fatalf("a rule it cannot read: %d\n%s", resp.StatusCode, body)
	}
	resp = e.post(t, c, "/admin/studies", form("excl-ok", " run>=20 , checks>=1 "), e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a good rule: %d", resp.StatusCode)
	}
	var stored, id string
	if err := e.store.Pool().QueryRow(context.Background(), `SELECT exclusion, id::text FROM studies WHERE slug = 'excl-ok'`).Scan(&stored, &id); err != nil {
		t.Fatal(err)
	}
	if stored != "checks>=1,run>=20" {
		t.Errorf("stored rule %q, want checks>=1,run>=20", stored)
	}
	if _, page := e.get(t, c, "/admin/studies/"+id+"/edit"); !strings.Contains(page, `value="checks&gt;=1,run&gt;=20"`) {
		t.Errorf("the edit form does not show the rule")
	}
}
