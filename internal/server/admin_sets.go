package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cubelab/cubelab/internal/task"
	"github.com/cubelab/cubelab/web"
)

// maxSetUpload bounds a stimulus set's ZIP: 10,000 PNG towers at 512 pixels
// take about 220 MB (BestSpeed), so 512 MB holds a pool of that size with room to spare.
const maxSetUpload = 512 << 20

// What a set's ZIP may unpack to. PNGs hardly compress, so an honest set
// unpacks to about its ZIP's size; the rest is margin for a manifest and
// scenes, which do.
const (
	maxSetUnpacked = 2 * maxSetUpload
	maxSetFiles    = 100_000
)

// setUploadTime is how long a set upload may take to arrive and import: the
// server's usual read and write timeouts are for forms, not for half a
// gigabyte on a slow line.
const setUploadTime = 30 * time.Minute

// slowUpload lifts the connection's deadlines for one large upload, before
// the body is read.
func slowUpload(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			// Errors mean the connection has no deadlines to lift (a test recorder).
			_ = rc.SetReadDeadline(time.Now().Add(d))
			_ = rc.SetWriteDeadline(time.Now().Add(d))
			next.ServeHTTP(w, r)
		})
	}
}

// handleSets shows the stimulus sets page.
func (s *Server) handleSets(w http.ResponseWriter, r *http.Request) error {
	v, err := s.setsView(r, web.SetForm{})
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, web.Sets(v))
}

// setsView fills the page's list from the database.
func (s *Server) setsView(r *http.Request, form web.SetForm) (web.SetsView, error) {
	v := web.SetsView{AdminPage: adminPage(r, "Stimulus sets", "sets"), Form: form, MaxUpload: fmt.Sprintf("%d MB", maxSetUpload>>20)}
	sets, err := s.store.SetListings(r.Context())
	if err != nil {
		return v, err
	}
	count := func(n int) string { return strconv.Itoa(n) }
	for _, set := range sets {
		scenes := "no"
		if set.Scenes {
			scenes = "yes"
		}
		v.Sets = append(v.Sets, web.SetRow{
			Name: set.Name, Browse: setURL(set.Name), Report: setReportURL(set.Name), Items: count(set.Items),
			Towers: count(set.ByDomain[task.Tower]), Pyramids: count(set.ByDomain[task.Pyramid]),
			Removed: count(set.ByDomain[task.PyramidRemoved]), Scenes: scenes,
			Studies: count(set.Studies), ModelRuns: count(set.ModelRuns), ImportedAt: when(set.ImportedAt),
		})
	}
	return v, nil
}
