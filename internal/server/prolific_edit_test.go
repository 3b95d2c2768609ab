package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Places and the time limit of a study linked to Prolific change on Prolific
// too (issue 16): while the Prolific study is a draft both follow the edit;
// once published, Prolific takes only more places, so fewer places and a
// time limit past Prolific's maximum are refused with a message naming the
// rule, and nothing changes on either side; a shorter limit stays here. When
// Prolific refuses, nothing is saved here either.
func TestEditLinkedStudySendsToProlific(t *testing.T) {
	t.Parallel()
	e := newProEnv(t, false)
	ctx := context.Background()
	base := "/admin/studies/" + e.pool.ID.String()
	form := url.Values{"name": {"Towers"}, "description": {"Look at towers."}, "minutes": {"5"}, "max_minutes": {"30"},
		"reward": {"1.50"}, "places": {"3"}, "completed_action": {"manual"}}
	if r := e.form(t, base+"/prolific/create", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create = %d", r.StatusCode)
	}
	link, _, err := e.store.ProlificLinkOf(ctx, e.pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	patches := func() int { return e.ps.Calls("PATCH /api/v1/studies/" + link.ProlificStudyID + "/") }
	edit := func(places, minutes int) (*http.Response, string) {
		t.Helper()
		cur, err := e.store.StudyByID(ctx, e.pool.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.formBody(t, base+"/", url.Values{"version": {strconv.Itoa(cur.Version)}, "places": {strconv.Itoa(places)},
			"minutes": {strconv.Itoa(minutes)}, "consent": {cur.ConsentText}, "instructions": {cur.InstructionsText}})
	}
	state := func(wantPlaces, wantMinutes, wantProPlaces, wantProMinutes int) {
		t.Helper()
		cur, err := e.store.StudyByID(ctx, e.pool.ID)
		if err != nil {
			t.Fatal(err)
		}
		ps, _ := e.ps.Study(link.ProlificStudyID)
		if cur.Places != wantPlaces || cur.TimeLimitMinutes != wantMinutes || ps.TotalAvailablePlaces != wantProPlaces || ps.MaximumAllowedTime != wantProMinutes {
			t.Fatalf("here %d places %d min, Prolific %d places %d min; want %d %d, %d %d", cur.Places, cur.TimeLimitMinutes,
				ps.TotalAvailablePlaces, ps.MaximumAllowedTime, wantPlaces, wantMinutes, wantProPlaces, wantProMinutes)
		}
	}
	if _, page := e.get(t, e.admin, base+"/edit"); !strings.Contains(page, `id="places-prolific"`) || !strings.Contains(page, link.ProlificStudyID) {
		t.Errorf("the form does not say the study is linked")
	}

	// A Prolific draft: both follow.
	if r, page := edit(5, 40); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit of a linked draft = %d\n%s", r.StatusCode, page)
	}
	state(5, 40, 5, 40)
	if l, _, _ := e.store.ProlificLinkOf(ctx, e.pool.ID); l.MaxMinutes != 40 || l.Places != 5 {
		t.Errorf("the link keeps %d places, %d min; want 5, 40", l.Places, l.MaxMinutes)
	}

	// Published on Prolific: only more places; the limit at most Prolific's.
	if r := e.form(t, base+"/prolific/publish", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish = %d", r.StatusCode)
	}
	n := patches()
	for _, c := range []struct {
		places, minutes int
		want            string
	}{
		{4, 40, "Prolific lets places only go up once a study is published, and it offers 5"},
		{5, 50, "the time limit here can be at most 40 minutes"},
	} {
		r, page := edit(c.places, c.minutes)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, c.want) {
			t.Errorf("edit to %d places, %d min: %d, want 422 saying %q\n%.2000s", c.places, c.minutes, r.StatusCode, c.want, page)
		}
		state(5, 40, 5, 40)
	}
	if r, _ := edit(5, 35); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a shorter limit = %d", r.StatusCode)
	}
	state(5, 35, 5, 40)
	if patches() != n {
		t.Errorf("refused or local-only edits reached Prolific: %d PATCH calls, want %d", patches(), n)
	}

	// Prolific refuses (it keeps failing): nothing is saved here.
	e.ps.Fail("PATCH /api/v1/studies/", 20, http.StatusServiceUnavailable, "")
	if r, page := edit(6, 35); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Prolific did not take the change, so nothing was saved") {
		t.Errorf("edit while Prolific fails: %d\n%.2000s", r.StatusCode, page)
	}
	state(5, 35, 5, 40)
	e.ps.ClearFaults()
	if r, page := edit(6, 35); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("more places = %d\n%.2000s", r.StatusCode, page)
	}
	state(6, 35, 6, 40)
}
