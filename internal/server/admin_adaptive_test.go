package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// TestAdaptivePoolForm: the study form takes an adaptive pool (R_max and a
// budget) and refuses bad numbers naming the field; the study page states
// the design and the places its budget fills.
func TestAdaptivePoolForm(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	setID, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("adapt40", 40))
	if err != nil {
		t.Fatal(err)
	}
	form := func(rmax, budget, places string) url.Values {
		return url.Values{"csrf": {token}, "title": {"Adaptive"}, "slug": {"adapt40"}, "domain": {"tower"}, "set": {setID.String()},
			"design": {"pool"}, "k": {"4"}, "r": {"2"}, "r_max": {rmax}, "budget": {budget}, "places": {places}, "minutes": {"30"},
			"consent": {"c"}, "instructions": {"i"}, "base": {"1.00"}, "per_correct": {"0.01"}, "max_bonus": {"0.10"},
			"currency": {"GBP"}, "code": {"C0DE"}}
	}
	for _, bad := range []struct{ rmax, budget, places, says string }{
		{"2", "140", "35", "Most answers per item (R_max): it must be above"},
		{"x", "140", "35", "Most answers per item (R_max) must be a whole number above zero."},
		{"5", "", "35", "Budget of answers must be a whole number above zero."},
		{"", "140", "35", "Budget of answers: only an adaptive pool has one"},
		{"5", "60", "15", "Budget of answers: 40 items with 2 answers each (R) need at least 80 answers"},
		{"5", "140", "36", "Places: an adaptive pool of 40 items with a budget of 140 answers and 4 items per participant (K) fills at most 35 places"},
	} {
		resp, page := e.postBody(t, c, "/admin/studies", form(bad.rmax, bad.budget, bad.places))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(page), bad.says) {
			t.Errorf("R_max %q, budget %q, places %q: %d, want a refusal saying %q", bad.rmax, bad.budget, bad.places, resp.StatusCode, bad.says)
		}
	}
	resp := e.post(t, c, "/admin/studies", form("5", "140", "35"), e.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adaptive pool: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	_, page := e.get(t, c, loc)
	page = html.UnescapeString(page)
	for _, s := range []string{"adaptive pool (K=4, R=2 to 5, budget 140 answers)", "this adaptive pool fills at most 35: ceil(budget 140 answers / K 4)"} {
		if !strings.Contains(page, s) {
			t.Errorf("study page lacks %q", s)
		}
	}
	_, page = e.get(t, c, loc+"/edit")
	if !strings.Contains(page, `name="r_max" type="number" value="5"`) || !strings.Contains(page, `name="budget" type="number" value="140"`) {
		t.Errorf("the edit form does not show R_max and the budget")
	}
}
