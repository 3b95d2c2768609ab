package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// tile reads the value of a monitor tile by its name.
func tile(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`<dt>` + regexp.QuoteMeta(name) + `</dt><dd>([^<]*)</dd>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no tile %q on the page", name)
	}
	return m[1]
}

// Pool places made plain: the form refuses more places than the pool can
// use (cap ceil(items x R / K) = 20, 30 refused); the monitor splits the
// slots into needed, held by people working, and done; a pool whose free
// slots are all held says waiting could free some; the slots of a
// participant who times out come back, moving from held to needed.
func TestPoolPlacesPlain(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	setID, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("pool40", 40))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"csrf": {token}, "title": {"Pool"}, "slug": {"pool40"}, "domain": {"tower"}, "set": {setID.String()},
		"design": {"pool"}, "k": {"4"}, "r": {"2"}, "places": {"30"}, "minutes": {"30"}, "consent": {"c"},
		"instructions": {"i"}, "base": {"1.00"}, "per_correct": {"0.01"}, "max_bonus": {"0.10"}, "currency": {"GBP"}, "code": {"C0DE"}}
	resp, page := e.postBody(t, c, "/admin/studies", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "fills at most 20 places (ceil(40 × 2 / 4)); 30 is more") ||
		!strings.Contains(page, `id="places-cap"`) {
		t.Fatalf("30 places on a pool of cap 20: %d\n%s", resp.StatusCode, page)
	}
	form.Set("places", "20")
	if resp := e.post(t, c, "/admin/studies", form, e.srv.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("20 places: %d", resp.StatusCode)
	}

	// A pool of 8 items, R = 1, K = 4: two people hold every slot.
	small, _, err := e.store.ImportSet(ctx, pgtest.TowerSet("pool8", 8))
	if err != nil {
		t.Fatal(err)
	}
	st := study.Study{Slug: "pool8", Title: "Pool of 8", Domain: task.Tower, SetID: small, Design: study.Pool,
		ItemsPerParticipant: 4, ResponsesPerItem: 1, Places: 2, TimeLimitMinutes: 30, ConsentText: "c", InstructionsText: "i",
		CompletionCode: "CODE", Pay: study.Pay{BaseMinor: 100, Currency: "GBP"}, Status: study.Draft,
		ReservationMinutes: study.DefaultReservationMinutes}
	if err := e.store.CreateStudy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetStudyStatus(ctx, st.ID, study.Published); err != nil {
		t.Fatal(err)
	}
	st.Status = study.Published
	var first study.Participant
	for i := range 2 {
		p, err := e.store.Join(ctx, st, prolific.Params{PID: pid(500 + i)}, int64(i), []byte(uuid.NewString()[:32]))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p
		}
	}
	base := "/admin/studies/" + st.ID.String()
	_, page = e.get(t, c, base+"/")
	if tile(t, page, "Answers still needed") != "0" || tile(t, page, "Held by people working") != "8" || tile(t, page, "Done") != "0" {
		t.Errorf("two people at work on 8 slots: needed %s, held %s, done %s", tile(t, page, "Answers still needed"),
			tile(t, page, "Held by people working"), tile(t, page, "Done"))
	}
	if !strings.Contains(page, "Waiting could free slots") {
		t.Errorf("a pool whose slots are all held does not say waiting could free some")
	}
	// Someone turned away hears that the slots are held, not that every item has its answers.
	st.Places = 3
	pgtest.SetPlaces(t, e.store.Pool(), st.ID, 3)
	_, err = e.store.Join(ctx, st, prolific.Params{PID: pid(600)}, 6, []byte(uuid.NewString()[:32]))
	if problem.Code(err) != problem.EGONE || !strings.Contains(problem.Message(err), "held by other participants") {
		t.Errorf("a third join: %v", err)
	}

	// The first person times out: their 4 slots move from held to needed.
	pgtest.StartedAgo(t, e.store.Pool(), 31*time.Minute, first.ID)
	_, page = e.get(t, c, base+"/")
	if tile(t, page, "Answers still needed") != "4" || tile(t, page, "Held by people working") != "4" {
		t.Errorf("after a timeout: needed %s, held %s; want 4 and 4", tile(t, page, "Answers still needed"), tile(t, page, "Held by people working"))
	}
	if strings.Contains(page, `id="availability"`) {
		t.Errorf("a pool with free slots and places says it is full")
	}
}
