// Package stimulus reads, validates and writes stimulus sets on disk: a folder
// with manifest.csv (one row per image), an optional scenes.jsonl (one scene per
// image, so anyone can recompute a label) and the image files.
//
// Sets come from the generator and from researchers importing their own renders
// or photographs, so Load checks everything a later step would trip over and
// reports every problem it finds, each with file, line and field.
package stimulus

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

// File names inside a set folder.
const (
	ManifestFile = "manifest.csv"
	ScenesFile   = "scenes.jsonl"
)

// headerLine is the exact first row of manifest.csv.
const headerLine = "id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file"

// Header returns the manifest's column names in order.
func Header() []string { return strings.Split(headerLine, ",") }

// maxProblems caps how many problems one error lists: enough to fix a batch of
// mistakes in one go, not so many that a wholly wrong file floods the screen.
const maxProblems = 20

// Item is one row of manifest.csv (header: id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file).
type Item struct {
	ID      string
	Domain  task.Domain
	NBlocks int
	NRows   int // pyramid rows; 0 for towers
	// RedRow is the row of the red block counted from the bottom, 1-based; 0 when
	// none (towers). For pyramid-removed it is the row the red block was removed from.
	RedRow int
	Answer string // task.Yes or task.No
	Split  string // e.g. "train", "val", "test"; may be empty
	PairID string // shared by a pyramid and its pyramid-removed twin; empty otherwise
	File   string // slash path relative to the set folder, e.g. "images/tower-0001.png"

	// ContentType is what Load found the image to be (image/png,
	// image/jpeg or image/webp), whatever File is called; "" before Load.
	ContentType string
}

// Size is the condition the analyses group by: NBlocks for towers, NRows for pyramids.
func (it Item) Size() int {
	if it.Domain == task.Tower {
		return it.NBlocks
	}
	return it.NRows
}

// Set is a validated stimulus set folder.
type Set struct {
	Name   string // the folder's base name
	Dir    string // the folder, absolute
	Items  []Item // in manifest order
	Scenes bool   // whether scenes.jsonl is present (and was checked against the manifest)
}

// Path is the OS path of an item's image.
func (s *Set) Path(it Item) string {
	return filepath.Join(s.Dir, filepath.FromSlash(it.File))
}

// problems collects a set's problems up to maxProblems, as problem.Lines:
// the one line-error type the command line and the web render.
type problems struct{ err problem.Lines }

func (ps *problems) add(file string, line int, field, format string, args ...any) {
	ps.err.Add(maxProblems, file, line, field, format, args...)
}

func (ps *problems) full() bool { return ps.err.More }

func (ps *problems) result() error { return ps.err.Err() }

// ReadManifest parses and checks a manifest, naming file in every problem. It
// checks each row on its own and ids for duplicates; that image files exist is
// Load's business, since only it knows the folder.
func ReadManifest(r io.Reader, file string) ([]Item, error) {
	items, _, err := readManifest(r, file)
	return items, err
}

// readManifest also returns each item's line, for Load's later checks.
func readManifest(r io.Reader, file string) ([]Item, []int, error) {
	var ps problems
	header := Header()
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if err == io.EOF {
		ps.add(file, 0, "", "empty file (want the header %s)", strings.Join(header, ","))
		return nil, nil, ps.result()
	}
	if err != nil {
		ps.add(file, lineOf(err, 1), "", "%v", csvCause(err))
		return nil, nil, ps.result()
	}
	if len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // spreadsheets like to add a BOM
	}
	if !equalFields(rec, header) {
		ps.add(file, 1, "", "header is %q, want %q", strings.Join(rec, ","), strings.Join(header, ","))
		return nil, nil, ps.result()
	}
	var (
		items []Item
		lines []int
		seen  = map[string]int{}
	)
	for !ps.full() {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// With FieldsPerRecord = -1 only quoting errors remain, and after
			// a broken quote the reader cannot tell where the next row starts.
			ps.add(file, lineOf(err, 0), "", "%v", csvCause(err))
			break
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			ps.add(file, line, "", "%d fields, want %d (%s)", len(rec), len(header), headerLine)
			continue
		}
		it, ok := parseRow(rec, file, line, &ps)
		if !ok {
			continue
		}
		if prev, dup := seen[it.ID]; dup {
			ps.add(file, line, "id", "%q already used on line %d", it.ID, prev)
			continue
		}
		seen[it.ID] = line
		items = append(items, it)
		lines = append(lines, line)
	}
	if len(items) == 0 && len(ps.err.List) == 0 {
		ps.add(file, 0, "", "no items")
	}
	if err := ps.result(); err != nil {
		return nil, nil, err
	}
	return items, lines, nil
}

// parseRow checks one manifest row; it reports every bad field, not just the first.
func parseRow(rec []string, file string, line int, ps *problems) (Item, bool) {
	n0 := len(ps.err.List)
	bad := func(field, format string, args ...any) { ps.add(file, line, field, format, args...) }
	it := Item{
		ID:     strings.TrimSpace(rec[0]),
		Answer: strings.TrimSpace(rec[5]),
		Split:  strings.TrimSpace(rec[6]),
		PairID: strings.TrimSpace(rec[7]),
		File:   strings.TrimSpace(rec[8]),
	}
	if it.ID == "" {
		bad("id", "empty")
	}
	for _, f := range []struct{ name, val string }{{"id", it.ID}, {"split", it.Split}, {"pair_id", it.PairID}, {"file", it.File}} {
		if msg := checkText(f.val); msg != "" {
			bad(f.name, "%s", msg)
		}
	}
	d, err := task.ParseDomain(strings.TrimSpace(rec[1]))
	if err != nil {
		bad("domain", "%q is not tower, pyramid or pyramid-removed", rec[1])
	}
	it.Domain = d
	integer := func(field, s string, min int) int {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		switch {
		case err != nil:
			bad(field, "%q is not an integer", s)
		case n < min:
			bad(field, "%d is below %d", n, min)
		case n > maxCount:
			bad(field, "%d is above %d", n, maxCount)
		}
		return n
	}
	it.NBlocks = integer("n_blocks", rec[2], 1)
	it.NRows = integer("n_rows", rec[3], 0)
	it.RedRow = integer("red_row", rec[4], 0)
	if !task.ValidAnswer(it.Answer) {
		bad("answer", "%q is not Yes or No", it.Answer)
	}
	if len(ps.err.List) == n0 {
		switch it.Domain {
		case task.Tower:
			if it.NRows != 0 {
				bad("n_rows", "%d for a tower, want 0", it.NRows)
			}
			if it.RedRow != 0 {
				bad("red_row", "%d for a tower, want 0", it.RedRow)
			}
		default:
			if it.NRows < 1 {
				bad("n_rows", "0 for a %s, want its number of rows", it.Domain)
			} else if it.RedRow > it.NRows {
				bad("red_row", "%d is above the top row %d", it.RedRow, it.NRows)
			}
		}
	}
	if msg := checkFile(it.File); msg != "" {
		bad("file", "%s", msg)
	}
	return it, len(ps.err.List) == n0
}

// maxCount bounds the manifest's counts (blocks, rows): far above any scene,
// and within what the database's integer columns hold.
const maxCount = 10_000

// maxText bounds a manifest's text fields: ids and paths, not prose.
const maxText = 200

// checkText refuses text that cannot be stored or shown as it was meant:
// invalid UTF-8, control characters (NUL among them) and very long values.
func checkText(v string) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8 text"
	case len(v) > maxText:
		return fmt.Sprintf("is %d bytes long, over the limit of %d", len(v), maxText)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return fmt.Sprintf("%q holds a control character", v)
	}
	return ""
}

// checkFile rejects paths that could leave the set folder or that mean
// different things on different systems.
func checkFile(f string) string {
	switch {
	case f == "":
		return "empty"
	case strings.Contains(f, `\`):
		return fmt.Sprintf("%q uses a backslash; write paths with /", f)
	case path.IsAbs(f) || filepath.IsAbs(f) || filepath.VolumeName(f) != "":
		return fmt.Sprintf("%q is absolute; write it relative to the set folder", f)
	case !filepath.IsLocal(filepath.FromSlash(f)):
		return fmt.Sprintf("%q leaves the set folder", f)
	case path.Clean(f) != f:
		return fmt.Sprintf("%q is not a clean path (want %q)", f, path.Clean(f))
	}
	return ""
}

// Load is LoadWith with DefaultImageLimits.
func Load(dir string) (*Set, error) { return LoadWith(dir, DefaultImageLimits) }

// LoadWith reads the set in dir and validates all of it: the manifest, that
// every image exists as a regular file and is a PNG, JPEG or WebP within
// lim (by its content, not its name), and, when scenes.jsonl is present,
// that it describes exactly the manifest's items with the same domain and
// answer.
func LoadWith(dir string, lim ImageLimits) (*Set, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("stimulus: %w", err)
	}
	s := &Set{Name: filepath.Base(abs), Dir: abs}
	f, err := os.Open(filepath.Join(abs, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("stimulus: set %s: %w", dir, err)
	}
	items, lines, err := readManifest(bufio.NewReader(f), ManifestFile)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("stimulus: set %s:\n%w", dir, err)
	}
	s.Items = items

	var ps problems
	for i, it := range items {
		if ps.full() {
			break
		}
		fi, err := os.Stat(s.Path(it))
		switch {
		case errors.Is(err, os.ErrNotExist):
			ps.add(ManifestFile, lines[i], "file", "%q does not exist", it.File)
		case err != nil:
			ps.add(ManifestFile, lines[i], "file", "%v", err)
		case !fi.Mode().IsRegular():
			ps.add(ManifestFile, lines[i], "file", "%q is not a regular file", it.File)
		default:
			info, err := CheckImageFile(s.Path(it), lim)
			if err != nil {
				ps.add(ManifestFile, lines[i], "file", "%q %v", it.File, err)
				continue
			}
			s.Items[i].ContentType = info.ContentType
		}
	}
	sf, err := os.Open(filepath.Join(abs, ScenesFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// optional: imported sets have no scenes
	case err != nil:
		return nil, fmt.Errorf("stimulus: set %s: %w", dir, err)
	default:
		s.Scenes = true
		checkScenes(sf, items, &ps)
		sf.Close()
	}
	if err := ps.result(); err != nil {
		return nil, fmt.Errorf("stimulus: set %s:\n%w", dir, err)
	}
	return s, nil
}

// sceneHead is the part of a scene line the set checks; the physics lives in cubeworld.
type sceneHead struct {
	ID     string      `json:"id"`
	Domain task.Domain `json:"domain"`
	Answer string      `json:"answer"`
}

// checkScenes matches scenes.jsonl against the manifest, one line per item.
func checkScenes(r io.Reader, items []Item, ps *problems) {
	byID := make(map[string]int, len(items))
	for i, it := range items {
		byID[it.ID] = i
	}
	seen := make(map[string]int, len(items))
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() && !ps.full() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var h sceneHead
		if err := json.Unmarshal([]byte(text), &h); err != nil {
			ps.add(ScenesFile, line, "", "not a JSON object: %v", err)
			continue
		}
		i, ok := byID[h.ID]
		if !ok {
			ps.add(ScenesFile, line, "id", "%q is not in %s", h.ID, ManifestFile)
			continue
		}
		if prev, dup := seen[h.ID]; dup {
			ps.add(ScenesFile, line, "id", "%q already described on line %d", h.ID, prev)
			continue
		}
		seen[h.ID] = line
		if it := items[i]; h.Domain != it.Domain {
			ps.add(ScenesFile, line, "domain", "%q disagrees with %s (%q)", h.Domain, ManifestFile, it.Domain)
		}
		if it := items[i]; h.Answer != it.Answer {
			ps.add(ScenesFile, line, "answer", "%q disagrees with %s (%q)", h.Answer, ManifestFile, it.Answer)
		}
	}
	if err := sc.Err(); err != nil {
		ps.add(ScenesFile, line+1, "", "%v", err)
		return
	}
	for _, it := range items {
		if ps.full() {
			return
		}
		if _, ok := seen[it.ID]; !ok {
			ps.add(ScenesFile, 0, "id", "no scene for item %q", it.ID)
		}
	}
}

// ManifestWriter writes manifest.csv one row at a time, so a generator can
// stream a set of any size.
type ManifestWriter struct {
	w *csvout.Writer
}

// NewManifestWriter writes the header and returns a writer for the rows.
func NewManifestWriter(w io.Writer) (*ManifestWriter, error) {
	cw := csvout.NewWriter(w)
	if err := cw.Write(Header()); err != nil {
		return nil, fmt.Errorf("stimulus: write manifest: %w", err)
	}
	return &ManifestWriter{w: cw}, nil
}

// Write adds one row.
func (m *ManifestWriter) Write(it Item) error {
	rec := []string{
		it.ID, string(it.Domain), strconv.Itoa(it.NBlocks), strconv.Itoa(it.NRows),
		strconv.Itoa(it.RedRow), it.Answer, it.Split, it.PairID, it.File,
	}
	if err := m.w.Write(rec); err != nil {
		return fmt.Errorf("stimulus: write manifest: %w", err)
	}
	return nil
}

// Flush writes out buffered rows and reports any earlier write error.
func (m *ManifestWriter) Flush() error {
	m.w.Flush()
	if err := m.w.Error(); err != nil {
		return fmt.Errorf("stimulus: write manifest: %w", err)
	}
	return nil
}

// WriteManifest writes a whole manifest, header first.
func WriteManifest(w io.Writer, items []Item) error {
	mw, err := NewManifestWriter(w)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := mw.Write(it); err != nil {
			return err
		}
	}
	return mw.Flush()
}

func equalFields(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.TrimSpace(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// lineOf extracts the line of a csv parse error.
func lineOf(err error, fallback int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return fallback
}

// csvCause drops the line prefix csv adds, since problem.Line prints its own.
func csvCause(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
