package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// TestStudyFormPracticeBreaksChecks: the study form takes the instructed
// checks, the breaks and the practice (count, set, picked ids), refuses
// what cannot work with a reason, and stores what can.
func TestStudyFormPracticeBreaksChecks(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	own, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("own6", 6))
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("other5", 5))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"csrf": {token}, "title": {"Method"}, "slug": {"method"}, "domain": {"tower"}, "set": {own.String()},
		"design": {"fixed"}, "places": {"10"}, "minutes": {"30"}, "consent": {"c"}, "instructions": {"i"}, "base": {"1.00"},
		"per_correct": {"0.01"}, "max_bonus": {"0.10"}, "currency": {"GBP"}, "code": {"C0DE"},
		"instructed": {"2"}, "break_every": {"3"}, "practice": {"2"}}
	for name, c2 := range map[string]struct {
		field, value, says string
	}{
		"ErrInstructed": {"instructed", "21", "Instructed-response checks must be a whole number from 0 to 20"},
		"ErrBreaks":     {"break_every", "-1", "Pause every N trials must be a whole number"},
		"ErrPractice":   {"practice", "x", "Practice trials must be a whole number from 0 to 20"},
		// Every item of the own set is a trial: nothing is left to practise on.
		"ErrNoPracticeLeft": {"practice", "2", "the practice set has 0 pictures of this task that are not among a participant's trials"},
		"ErrPracticeIDs":    {"practice_ids", "t01, nope", "Practice items:"},
	} {
		t.Run(name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set(c2.field, c2.value)
			resp, page := e.postBody(t, c, "/admin/studies", f)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, c2.says) {
				t.Fatalf("%s=%q: %d, want 422 saying %q", c2.field, c2.value, resp.StatusCode, c2.says)
			}
		})
	}
	form.Set("practice_set", other.String())
	if resp := e.post(t, c, "/admin/studies", form, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a valid form: %d", resp.StatusCode)
	}
	st, err := e.store.StudyBySlug(ctx, "method")
	if err != nil {
		t.Fatal(err)
	}
	if st.InstructedChecks != 2 || st.BreakEvery != 3 || st.PracticeItems != 2 || st.PracticeSetID != other || len(st.PracticeIDs) != 0 {
		t.Fatalf("stored: instructed %d, breaks %d, practice %d from %v, ids %v", st.InstructedChecks, st.BreakEvery, st.PracticeItems, st.PracticeSetID, st.PracticeIDs)
	}
	// Picked by id from the own set: the count follows, and they leave the trials.
	form.Set("slug", "method2")
	form.Set("practice_set", "")
	form.Set("practice_ids", "t01, t02")
	if resp := e.post(t, c, "/admin/studies", form, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("picked practice: %d", resp.StatusCode)
	}
	st2, err := e.store.StudyBySlug(ctx, "method2")
	if err != nil {
		t.Fatal(err)
	}
	items, err := e.store.ItemCount(ctx, st2)
	if err != nil {
		t.Fatal(err)
	}
	if st2.PracticeItems != 2 || len(st2.PracticeIDs) != 2 || items != 4 {
		t.Fatalf("picked practice: %d (%d ids), %d items left, want 2, 2, 4", st2.PracticeItems, len(st2.PracticeIDs), items)
	}
	_, page := e.get(t, c, "/admin/studies/"+st2.ID.String())
	for _, want := range []string{"a pause after every 3 trials", "2 per participant, at random positions", "2 picked items, with feedback"} {
		if !strings.Contains(page, want) {
			t.Errorf("the study page does not say %q", want)
		}
	}
}
