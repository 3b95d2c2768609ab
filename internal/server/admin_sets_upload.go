package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/web"
)

// handleSetUpload unpacks an uploaded ZIP into a temporary folder, validates
// it as stimulus.Load does for the command line, and imports it in one
// transaction. Problems are shown on the page; nothing is stored then.
func (s *Server) handleSetUpload(w http.ResponseWriter, r *http.Request) error {
	form := web.SetForm{Name: strings.TrimSpace(r.PostFormValue("name")), Replace: r.PostFormValue("replace") != ""}
	refuse := func(status int, summary string, lines []string) error {
		v, err := s.setsView(r, form)
		if err != nil {
			return err
		}
		v.Problem, v.LineErrors = summary, lines
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

	set, err := stimulus.LoadWith(root, s.imageLimits)
	var invalid *problem.Lines
	if errors.As(err, &invalid) {
		return refuse(http.StatusUnprocessableEntity, fmt.Sprintf("Set %s was not imported: nothing was stored. Problems by file, line and field:", name), invalid.Strings())
	} else if err != nil {
		return err
	}
	set.Name = name
	res, err := s.store.ImportSetDir(r.Context(), set, postgres.ImportOptions{Replace: form.Replace})
	if code := problem.Code(err); code == problem.EINVALID || code == problem.ECONFLICT {
		status, _ := statusOf(code)
		return refuse(status, problem.Message(err)+" Nothing was stored.", nil)
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
		v.Imported = []string{fmt.Sprintf("Imported set %s: %d items, in place of the set of that name stored before.", name, res.Items)}
	case res.Created:
		v.Imported = []string{fmt.Sprintf("Imported set %s: %d items.", name, res.Items)}
	default:
		v.Imported = []string{fmt.Sprintf("Set %s is already imported with the same content; nothing changed.", name)}
	}
	return render(w, r, http.StatusOK, web.Sets(v))
}
