package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/study"
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
			Name: set.Name, Report: setReportURL(set.Name), Items: count(set.Items),
			Towers: count(set.ByDomain[task.Tower]), Pyramids: count(set.ByDomain[task.Pyramid]),
			Removed: count(set.ByDomain[task.PyramidRemoved]), Scenes: scenes,
			Studies: count(set.Studies), ModelRuns: count(set.ModelRuns), ImportedAt: when(set.ImportedAt),
		})
	}
	return v, nil
}

// handleSetUpload unpacks an uploaded ZIP into a temporary folder, validates
// it as stimulus.Load does for the command line, and imports it in one
// transaction. Problems are shown on the page; nothing is stored then.
func (s *Server) handleSetUpload(w http.ResponseWriter, r *http.Request) error {
	form := web.SetForm{Name: strings.TrimSpace(r.PostFormValue("name")), Replace: r.PostFormValue("replace") != ""}
	refuse := func(status int, problem string, lines []string) error {
		v, err := s.setsView(r, form)
		if err != nil {
			return err
		}
		v.Problem, v.LineErrors = problem, lines
		return render(w, r, status, web.Sets(v))
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		return refuse(http.StatusBadRequest, "Choose a ZIP of a stimulus set to import. Nothing was stored.", nil)
	}
	defer file.Close()
	if form.Name != "" && !postgres.ValidSetName(form.Name) {
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("%q cannot name a set: use letters, digits, '.', '-' and '_', starting with a letter or digit. Nothing was stored.", form.Name), nil)
	}
	tmp, err := os.MkdirTemp("", "cubelab-set-")
	if err != nil {
		return fmt.Errorf("server: set upload: %w", err)
	}
	defer os.RemoveAll(tmp)

	root, top, err := unpackSet(file, header.Size, tmp, zipLimits{Bytes: maxSetUnpacked, Files: maxSetFiles})
	var refused *zipRefusal
	if errors.As(err, &refused) {
		return refuse(http.StatusUnprocessableEntity, refused.msg, nil)
	} else if err != nil {
		return err
	}
	name := form.Name
	if name == "" {
		name = top
	}
	if name == "" {
		zipName := path.Base(strings.ReplaceAll(header.Filename, `\`, "/")) // browsers on Windows may send a full path
		name = strings.TrimSuffix(zipName, path.Ext(zipName))
	}
	if !postgres.ValidSetName(name) {
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("%q cannot name a set: give a name of letters, digits, '.', '-' and '_'. Nothing was stored.", name), nil)
	}

	set, err := stimulus.Load(root)
	var invalid *stimulus.ValidationError
	if errors.As(err, &invalid) {
		lines := make([]string, 0, len(invalid.Problems)+1)
		for _, p := range invalid.Problems {
			lines = append(lines, p.String())
		}
		if invalid.More {
			lines = append(lines, "... and more; fix these first.")
		}
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("Set %s was not imported: nothing was stored. Problems by file, line and field:", name), lines)
	} else if err != nil {
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("Set %s was not imported: nothing was stored. %s", name, strings.TrimPrefix(err.Error(), "stimulus: ")), nil)
	}
	set.Name = name
	res, err := s.store.ImportSetDir(r.Context(), set, postgres.ImportOptions{Replace: form.Replace})
	if code := study.ErrorCode(err); code == study.EINVALID || code == study.ECONFLICT {
		status, _ := statusOf(code)
		return refuse(status, study.ErrorMessage(err)+" Nothing was stored.", nil)
	} else if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "stimulus set imported", "set", name, "items", res.Items, "created", res.Created, "replaced", res.Replaced)
	v, err := s.setsView(r, web.SetForm{})
	if err != nil {
		return err
	}
	switch {
	case res.Replaced:
		v.Imported = fmt.Sprintf("Imported set %s: %d items, in place of the set of that name stored before.", name, res.Items)
	case res.Created:
		v.Imported = fmt.Sprintf("Imported set %s: %d items.", name, res.Items)
	default:
		v.Imported = fmt.Sprintf("Set %s is already imported with the same content; nothing changed.", name)
	}
	return render(w, r, http.StatusOK, web.Sets(v))
}
