package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/server"
)

// The finding: behind a proxy that rewrites Host, every admin POST failed
// the Origin check (the browser's Origin is the public address, the Host the
// proxy's upstream). With BASE_URL set, the public address is what counts:
// a login posted from it goes through, one from the upstream address does not.
func TestAdminPostBehindHostRewritingProxy(t *testing.T) {
	t.Parallel()
	e := newAdminEnvWith(t, server.Config{BaseURL: "https://lab.example.org"})
	login := func(origin string) int {
		t.Helper()
		// The cookies are Secure (BASE_URL is https), so a jar would not send
		// them over the test's plain http: they are carried by hand, as the
		// proxy would pass them on.
		resp, body := e.get(t, noRedirects(), "/admin/login")
		m := csrfRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no login form")
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/admin/login",
			strings.NewReader(url.Values{"csrf": {m[1]}, "email": {adminEmail}, "password": {adminPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		for _, ck := range resp.Cookies() {
			req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		}
		got, err := noRedirects().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got.Body.Close()
		return got.StatusCode
	}
	if st := login("https://lab.example.org"); st != http.StatusSeeOther {
		t.Errorf("login from the public address, Host rewritten to %s: %d, want 303", e.srv.Listener.Addr(), st)
	}
	if st := login(e.srv.URL); st != http.StatusForbidden {
		t.Errorf("login from the upstream address itself: %d, want 403", st)
	}
}

// maxWrite records the largest single write of a response.
type maxWrite struct {
	*httptest.ResponseRecorder
	mu  sync.Mutex
	max int
}

func (w *maxWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.max = max(w.max, len(p))
	w.mu.Unlock()
	return w.ResponseRecorder.Write(p)
}

// The finding: four anonymous GETs of a 300 MB picture took the server to
// 2.5 GB, each request loading the whole picture. Now the import refuses
// anything over 20 MB (stimulus.TestLoadRefusesHugeImage), and a picture
// over the cache's limit is never held whole: four requests at once each
// get it in pieces of at most 512 KB, read from the database piece by piece,
// and none keeps it (docs/BENCHMARKS.md measures the process's memory).
func TestLargePictureNeverHeldWhole(t *testing.T) {
	t.Parallel()
	_, pool := pgtest.New(t)
	store := postgres.NewStore(pool)
	st := pgtest.NewStudy(t, store, "towers", 2)
	big := append(pgtest.PNG(1), bytes.Repeat([]byte{0x5a}, 10<<20)...)
	if _, err := pool.Exec(context.Background(), `UPDATE stimuli SET image = $2 WHERE set_id = $1`, st.SetID, big); err != nil {
		t.Fatal(err)
	}
	h := server.New(server.Config{Store: store}).Handler()
	var wg sync.WaitGroup
	for round := range 2 { // the second round would find it in the cache, had the first kept it
		for i := range 4 {
			wg.Go(func() {
				w := &maxWrite{ResponseRecorder: httptest.NewRecorder()}
				h.ServeHTTP(w, httptest.NewRequest("GET", "/s/towers/preview/image/1", nil))
				if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), big) {
					t.Errorf("round %d, client %d: %d, %d bytes of %d", round, i, w.Code, w.Body.Len(), len(big))
				}
				if w.max > 512<<10 {
					t.Errorf("round %d, client %d: one write of %d bytes; a picture this large goes in pieces of 512 KB", round, i, w.max)
				}
			})
		}
		wg.Wait()
	}
}
