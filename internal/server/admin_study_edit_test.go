package server_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/account"
	"github.com/cubelab/cubelab/internal/study"
)

// postBody is post that returns the answer's body too.
func (e *adminEnv) postBody(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, html.UnescapeString(string(b))
}

// secondAdmin makes another experimenter account and logs c in with it.
func (e *adminEnv) secondAdmin(t *testing.T, c *http.Client, email string) string {
	t.Helper()
	hash, err := account.Hash(adminPassword, account.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateAdmin(context.Background(), email, hash); err != nil {
		t.Fatal(err)
	}
	_, token := e.loginAs(t, c, email, adminPassword)
	if token == "" {
		t.Fatalf("log in as %s failed", email)
	}
	return token
}

// Two experimenters edit the same running study from forms of the same
// version: the second save is refused (409) with what the first changed and
// who changed it, and the form comes back with the study as it is now.
// Then the rest of the life of a study: duplicate, delete the copy, archive.
func TestStudyEditOverHTTP(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	ann, bob := noRedirects(), noRedirects()
	_, annToken := e.login(t, ann, adminPassword)
	bobToken := e.secondAdmin(t, bob, "bob@example.org")
	base := "/admin/studies/" + e.study.ID.String()

	resp, form := e.get(t, ann, base+"/edit")
	if resp.StatusCode != http.StatusOK || !strings.Contains(form, `name="version" value="1"`) || !strings.Contains(form, `id="running-note"`) {
		t.Fatalf("edit form of a published study: %d\n%s", resp.StatusCode, form)
	}
	running := func(token, places string) url.Values {
		return url.Values{"csrf": {token}, "version": {"1"}, "places": {places}, "minutes": {"30"},
			"consent": {e.study.ConsentText}, "instructions": {e.study.InstructionsText},
			"k": {"99"}} // a field a running study may not change: not read
	}
	if resp := e.post(t, ann, base+"/", running(annToken, "50"), e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first save: %d", resp.StatusCode)
	}
	resp, page := e.postBody(t, bob, base+"/", running(bobToken, "60"))
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second save from the same version: %d, want 409\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{"ada@example.org", "places 100 → 50", "were not saved", `name="version" value="2"`, `id="places" name="places" type="number" value="50"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the refused save's page lacks %q", want)
		}
	}
	now, err := e.store.StudyByID(ctx, e.study.ID)
	if err != nil || now.Places != 50 || now.Version != 2 || now.ItemsPerParticipant != e.study.ItemsPerParticipant {
		t.Fatalf("after the refused save: places %d, version %d, %v", now.Places, now.Version, err)
	}
	// Places below those taken: refused with the number, on the form (422).
	bad := running(bobToken, "0")
	bad.Set("version", "2")
	if resp, page := e.postBody(t, bob, base+"/", bad); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Places must be a whole number above zero") {
		t.Errorf("places 0: %d", resp.StatusCode)
	}
	_, studyPage := e.get(t, bob, base+"/")
	if !strings.Contains(studyPage, "places 100 → 50") || !strings.Contains(studyPage, "ada@example.org") {
		t.Errorf("the study page does not show the change and who made it")
	}

	// Duplicate (with the version the page showed), then delete the copy.
	if resp := e.post(t, bob, base+"/duplicate", url.Values{"csrf": {bobToken}, "version": {"1"}}, e.srv.URL); resp.StatusCode != http.StatusConflict {
		t.Errorf("duplicate from an old page: %d, want 409", resp.StatusCode)
	}
	resp = e.post(t, bob, base+"/duplicate", url.Values{"csrf": {bobToken}, "version": {"2"}}, e.srv.URL)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/edit") {
		t.Fatalf("duplicate: %d %q", resp.StatusCode, loc)
	}
	copyBase := strings.TrimSuffix(loc, "/edit")
	_, copyForm := e.get(t, bob, loc)
	if !strings.Contains(copyForm, `value="towers-copy"`) || strings.Contains(copyForm, `id="running-note"`) {
		t.Errorf("the copy's form is not a draft's named towers-copy")
	}
	if resp := e.post(t, bob, base+"/delete", url.Values{"csrf": {bobToken}}, e.srv.URL); resp.StatusCode != http.StatusConflict {
		t.Errorf("delete a published study: %d, want 409", resp.StatusCode)
	}
	if resp := e.post(t, bob, copyBase+"/delete", url.Values{"csrf": {bobToken}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete the draft copy: %d", resp.StatusCode)
	}
	if resp, _ := e.get(t, bob, copyBase+"/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the deleted copy: %d, want 404", resp.StatusCode)
	}

	// Archive: only once closed; hidden from the list, shown on request.
	if resp := e.post(t, bob, base+"/archive", url.Values{"csrf": {bobToken}, "archive": {"1"}}, e.srv.URL); resp.StatusCode != http.StatusConflict {
		t.Errorf("archive a published study: %d, want 409", resp.StatusCode)
	}
	if resp := e.post(t, bob, base+"/status", url.Values{"csrf": {bobToken}, "status": {string(study.Closed)}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	if resp := e.post(t, bob, base+"/archive", url.Values{"csrf": {bobToken}, "archive": {"1"}}, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("archive: %d", resp.StatusCode)
	}
	if _, list := e.get(t, bob, "/admin/"); strings.Contains(list, base) || !strings.Contains(list, "1 archived studies are hidden") {
		t.Errorf("the list still shows the archived study, or does not say it is hidden")
	}
	if _, list := e.get(t, bob, "/admin/?archived=1"); !strings.Contains(list, base) {
		t.Errorf("the list with archived=1 does not show the archived study")
	}
	if resp, page := e.get(t, bob, base+"/answers.csv"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "participant_id") {
		t.Errorf("the archived study's answers: %d", resp.StatusCode)
	}
}
