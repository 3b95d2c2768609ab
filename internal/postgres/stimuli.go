package postgres

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/stimulus"
	"github.com/cubelab/cubelab/internal/task"
)

// SetImport is a stimulus set held in memory, ready to store. Small sets and
// tests use it; a folder is imported with ImportSetDir, which never holds more
// than one image at a time.
type SetImport struct {
	Name   string
	Scenes bool
	Items  []ItemImport
}

// ItemImport is one stimulus of a SetImport.
type ItemImport struct {
	ExtID       string // the manifest's id
	Domain      task.Domain
	NBlocks     int
	NRows       int
	RedRow      *int
	Size        int // blocks of a tower, rows of a pyramid
	Answer      string
	Split       string
	PairID      string
	File        string
	ContentType string          // "" means image/png
	Image       []byte          // the file's bytes
	Scene       json.RawMessage // nil when the set has no scenes
}

// ImportOptions change what an import of a name already stored does.
type ImportOptions struct {
	// Replace lets a different content take the place of a stored set of the
	// same name, only while no study and no model run uses it.
	Replace bool
	// Progress, when set, is called as items are read: the hashing pass
	// counts the first n of 2n, the copy the rest.
	Progress func(done, total int)
}

// ImportResult says what an import did.
type ImportResult struct {
	ID       uuid.UUID
	Items    int
	Created  bool // false: the same content was already stored, nothing changed
	Replaced bool // a different content of the same name was replaced
}

// setSource is a set an import reads twice, item by item in ext-id order:
// once to hash it, once to copy it. item's Image and Scene may be reused by
// the next call, so that a folder import holds one image at a time.
type setSource interface {
	name() string
	scenes() bool
	len() int
	item(i int) (ItemImport, error)
}

// ContentHash is a digest over every field and image of the set, independent
// of the order of items.
func (in SetImport) ContentHash() string {
	src := newMemSource(in)
	h := newSetHash()
	for i := range src.len() {
		it, _ := src.item(i) // in memory: never fails
		h.add(it)
	}
	return h.sum()
}

// setHash is ContentHash's digest, fed one item at a time in ext-id order.
type setHash struct{ h hash.Hash }

func newSetHash() setHash { return setHash{sha256.New()} }

func (s setHash) field(b []byte) {
	// Length-prefixed so that no two different sets hash the same stream.
	_ = binary.Write(s.h, binary.BigEndian, uint64(len(b)))
	s.h.Write(b)
}

func (s setHash) add(it ItemImport) {
	red := "-"
	if it.RedRow != nil {
		red = fmt.Sprint(*it.RedRow)
	}
	meta := fmt.Sprintf("%s|%s|%d|%d|%s|%d|%s|%s|%s|%s|%s",
		it.ExtID, it.Domain, it.NBlocks, it.NRows, red, it.Size, it.Answer, it.Split, it.PairID, it.File, it.ContentType)
	s.field([]byte(meta))
	s.field(it.Image)
	s.field(it.Scene)
}

func (s setHash) sum() string { return hex.EncodeToString(s.h.Sum(nil)) }

// memSource reads a SetImport.
type memSource struct {
	in    SetImport
	order []int // indices of in.Items by ext id
}

func newMemSource(in SetImport) memSource {
	order := make([]int, len(in.Items))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(in.Items[a].ExtID, in.Items[b].ExtID) })
	return memSource{in: in, order: order}
}

func (m memSource) name() string                   { return m.in.Name }
func (m memSource) scenes() bool                   { return m.in.Scenes }
func (m memSource) len() int                       { return len(m.order) }
func (m memSource) item(i int) (ItemImport, error) { return m.in.Items[m.order[i]], nil }

// setNameRE is the stimulus_sets.name check, so that a bad name is a clear
// refusal before any file is read.
var setNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidSetName reports whether name can name a stimulus set: a letter or
// digit, then up to 99 letters, digits, dots, dashes or underscores.
func ValidSetName(name string) bool { return setNameRE.MatchString(name) }

// ImportSet stores a set held in memory in one transaction. Importing the
// same name with the same content again is a no-op (created is false); the
// same name with different content is refused, since studies may already
// point at the stored items.
func (s *Store) ImportSet(ctx context.Context, in SetImport) (id uuid.UUID, created bool, err error) {
	res, err := s.importSource(ctx, newMemSource(in), ImportOptions{})
	return res.ID, res.Created, err
}

// ImportSetDir stores a validated set folder in one transaction, reading one
// image at a time: a first pass hashes the files, a second copies them, so
// memory does not grow with the set. It has ImportSet's rules, and replaces
// a stored set of a different content when opt.Replace says so and nothing
// uses it. Files that change between the two passes make it fail.
func (s *Store) ImportSetDir(ctx context.Context, set *stimulus.Set, opt ImportOptions) (ImportResult, error) {
	src, err := openDirSource(set)
	if err != nil {
		return ImportResult{}, err
	}
	defer src.close()
	return s.importSource(ctx, src, opt)
}

// importSource is the one import both kinds of source go through.
func (s *Store) importSource(ctx context.Context, src setSource, opt ImportOptions) (ImportResult, error) {
	res := ImportResult{Items: src.len()}
	name := src.name()
	if !ValidSetName(name) {
		return res, problem.Errorf(problem.EINVALID, "%q cannot name a stimulus set: use letters, digits, '.', '-' and '_', starting with a letter or digit, at most 100", name)
	}
	n := src.len()
	if n == 0 {
		return res, problem.Errorf(problem.EINVALID, "stimulus set %q has no items", name)
	}
	progress := func(done int) {
		if opt.Progress != nil {
			opt.Progress(done, 2*n)
		}
	}
	h := newSetHash()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("postgres: import %s: %w", name, err)
		}
		it, err := src.item(i)
		if err != nil {
			return res, err
		}
		if _, err := task.ParseDomain(string(it.Domain)); err != nil {
			return res, problem.Errorf(problem.EINVALID, "stimulus set %q, item %s: %v", name, it.ExtID, err)
		}
		if !task.ValidAnswer(it.Answer) {
			return res, problem.Errorf(problem.EINVALID, "stimulus set %q, item %s: answer %q is not Yes or No", name, it.ExtID, it.Answer)
		}
		if len(it.Image) == 0 {
			return res, problem.Errorf(problem.EINVALID, "stimulus set %q, item %s: image %s is empty", name, it.ExtID, it.File)
		}
		if it.ContentType != "" && !slices.Contains(stimulus.ContentTypes(), it.ContentType) {
			return res, problem.Errorf(problem.EINVALID, "stimulus set %q, item %s: %s is %s, not a PNG, JPEG or WebP image", name, it.ExtID, it.File, it.ContentType)
		}
		h.add(it)
		progress(i + 1)
	}
	sum := h.sum()

	err := s.inTx(ctx, func(tx pgx.Tx) error {
		id, stored, err := claimSetName(ctx, tx, name, sum, src.scenes())
		if err != nil {
			return err
		}
		if stored == sum {
			res.ID = id
			return nil
		}
		if stored != "" {
			if !opt.Replace {
				return problem.Errorf(problem.ECONFLICT, "a different stimulus set named %q is already imported; import it under another name", name)
			}
			if id, err = replaceSet(ctx, tx, id, name, sum, src.scenes()); err != nil {
				return err
			}
			res.Replaced = true
		}
		res.ID, res.Created = id, true
		return copyItems(ctx, tx, id, src, sum, func(i int) { progress(n + i) })
	})
	if err != nil {
		return ImportResult{Items: n}, err
	}
	progress(2 * n) // a no-op import skipped the copy
	return res, nil
}

// claimSetName inserts the set's row, or finds the stored one and returns
// its hash (stored is "" when the row is new).
func claimSetName(ctx context.Context, tx pgx.Tx, name, sum string, scenes bool) (id uuid.UUID, stored string, err error) {
	// Imports of one name take turns: a replacement deletes the row another
	// import would be waiting to lock, and a row lock cannot wait for its
	// successor. A lock on the name can, until the transaction ends.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('cubelab stimulus set ' || $1, 0))`, name); err != nil {
		return id, "", fmt.Errorf("postgres: lock set %q: %w", name, err)
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO stimulus_sets (name, content_hash, has_scenes) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING
		RETURNING id`, name, sum, scenes).Scan(&id)
	if err == nil {
		return id, "", nil
	}
	if err != pgx.ErrNoRows {
		return id, "", fmt.Errorf("postgres: insert set %q: %w", name, err)
	}
	// FOR UPDATE also holds off a study being created on the set while a
	// replacement decides (its foreign key check waits for this lock).
	err = tx.QueryRow(ctx, `SELECT id, content_hash FROM stimulus_sets WHERE name = $1 FOR UPDATE`, name).Scan(&id, &stored)
	if err != nil {
		return id, "", fmt.Errorf("postgres: read set %q: %w", name, err)
	}
	return id, stored, nil
}

// replaceSet deletes an unused stored set and inserts its successor's row.
// The successor gets a new id, so caches keyed by set id (MatrixVersion)
// cannot mistake it for the old content.
func replaceSet(ctx context.Context, tx pgx.Tx, old uuid.UUID, name, sum string, scenes bool) (uuid.UUID, error) {
	var studies, runs int
	err := tx.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM studies WHERE set_id = $1), (SELECT count(*) FROM model_runs WHERE set_id = $1)`,
		old).Scan(&studies, &runs)
	if err != nil {
		return old, fmt.Errorf("postgres: uses of set %q: %w", name, err)
	}
	if studies > 0 || runs > 0 {
		return old, problem.Errorf(problem.ECONFLICT,
			"a different stimulus set named %q is already imported and used by %d stud(ies) and %d model run(s), so it cannot be replaced; import the new one under another name",
			name, studies, runs)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM stimulus_sets WHERE id = $1`, old); err != nil {
		if isForeignKeyViolation(err) { // something else points at its items
			return old, problem.Errorf(problem.ECONFLICT, "stimulus set %q is in use and cannot be replaced; import the new one under another name", name)
		}
		return old, fmt.Errorf("postgres: delete set %q: %w", name, err)
	}
	var id uuid.UUID
	err = tx.QueryRow(ctx, `INSERT INTO stimulus_sets (name, content_hash, has_scenes) VALUES ($1, $2, $3) RETURNING id`,
		name, sum, scenes).Scan(&id)
	if err != nil {
		return old, fmt.Errorf("postgres: insert set %q: %w", name, err)
	}
	return id, nil
}

// copyItems streams the source's items into stimuli with COPY, hashing them
// again on the way: a file that changed since the first pass would store
// content other than the hash says, so the import fails instead.
func copyItems(ctx context.Context, tx pgx.Tx, setID uuid.UUID, src setSource, sum string, progress func(int)) error {
	h := newSetHash()
	i := 0
	row := make([]any, 14)
	next := func() ([]any, error) {
		if i == src.len() {
			return nil, nil
		}
		it, err := src.item(i)
		if err != nil {
			return nil, err
		}
		i++
		h.add(it)
		progress(i)
		ct := it.ContentType
		if ct == "" {
			ct = "image/png"
		}
		var scene any
		if len(it.Scene) > 0 {
			scene = it.Scene
		}
		// pgx encodes a row before asking for the next, so one row slice
		// and the source's buffers can be reused.
		row = append(row[:0], setID, it.ExtID, string(it.Domain), it.NBlocks, it.NRows, it.RedRow, it.Size,
			it.Answer, it.Split, it.PairID, it.File, ct, it.Image, scene)
		return row, nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"stimuli"},
		[]string{"set_id", "ext_id", "domain", "n_blocks", "n_rows", "red_row", "size",
			"answer", "split", "pair_id", "file", "content_type", "image", "scene"},
		pgx.CopyFromFunc(next))
	var verr *problem.Error
	switch {
	case isUniqueViolation(err):
		return problem.Errorf(problem.EINVALID, "stimulus set %q lists an id twice", src.name())
	case errors.As(err, &verr):
		return err
	case err != nil:
		return fmt.Errorf("postgres: copy stimuli of %q: %w", src.name(), err)
	}
	if h.sum() != sum {
		return fmt.Errorf("postgres: stimulus set %q changed on disk while it was imported; nothing was stored, import it again", src.name())
	}
	return nil
}

// isForeignKeyViolation reports whether err is PostgreSQL's foreign_key_violation.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// SetIDByName finds an imported set.
func (s *Store) SetIDByName(ctx context.Context, name string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM stimulus_sets WHERE name = $1`, name).Scan(&id)
	if err == pgx.ErrNoRows {
		return uuid.Nil, problem.Errorf(problem.ENOTFOUND, "no stimulus set named %q", name)
	} else if err != nil {
		return uuid.Nil, fmt.Errorf("postgres: set %q: %w", name, err)
	}
	return id, nil
}

// ReadSet reads a validated set folder's images and scenes into a SetImport,
// all in memory; ImportSetDir imports a folder without that.
func ReadSet(set *stimulus.Set) (SetImport, error) {
	src, err := openDirSource(set)
	if err != nil {
		return SetImport{}, err
	}
	defer src.close()
	in := SetImport{Name: set.Name, Scenes: set.Scenes, Items: make([]ItemImport, src.len())}
	for i := range src.len() {
		it, err := src.item(i)
		if err != nil {
			return in, err
		}
		it.Image, it.Scene = bytes.Clone(it.Image), bytes.Clone(it.Scene)
		in.Items[i] = it
	}
	return in, nil
}

// dirSource reads a set folder one item at a time. It keeps the manifest
// rows and, for scenes.jsonl, only where each id's line is, not the lines.
type dirSource struct {
	set     *stimulus.Set
	order   []int // indices of set.Items by ext id
	sceneAt map[string]span
	sf      *os.File // scenes.jsonl, nil without scenes
	img     []byte   // the current item's image, reused
	scene   []byte   // the current item's scene, reused
}

// span is a trimmed line of scenes.jsonl.
type span struct {
	off int64
	n   int
}

func openDirSource(set *stimulus.Set) (*dirSource, error) {
	d := &dirSource{set: set, order: make([]int, len(set.Items))}
	for i := range d.order {
		d.order[i] = i
	}
	slices.SortStableFunc(d.order, func(a, b int) int { return strings.Compare(set.Items[a].ID, set.Items[b].ID) })
	if !set.Scenes {
		return d, nil
	}
	f, err := os.Open(filepath.Join(set.Dir, stimulus.ScenesFile))
	if err != nil {
		return nil, fmt.Errorf("postgres: read set %s: %w", set.Name, err)
	}
	d.sf = f
	d.sceneAt = make(map[string]span, len(set.Items))
	br := bufio.NewReaderSize(f, 64*1024)
	var off int64
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 {
			text := bytes.TrimSpace(raw)
			if len(text) > 0 {
				var head struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(text, &head); err != nil {
					f.Close()
					return nil, fmt.Errorf("postgres: %s line %d: %w", stimulus.ScenesFile, line, err)
				}
				lead := len(raw) - len(bytes.TrimLeftFunc(raw, unicode.IsSpace))
				d.sceneAt[head.ID] = span{off: off + int64(lead), n: len(text)}
			}
			off += int64(len(raw))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("postgres: read %s: %w", stimulus.ScenesFile, err)
		}
	}
	return d, nil
}

func (d *dirSource) close() {
	if d.sf != nil {
		d.sf.Close()
	}
}

func (d *dirSource) name() string { return d.set.Name }
func (d *dirSource) scenes() bool { return d.set.Scenes }
func (d *dirSource) len() int     { return len(d.order) }

func (d *dirSource) item(i int) (ItemImport, error) {
	it := d.set.Items[d.order[i]]
	var err error
	if d.img, err = readInto(d.img, d.set.Path(it)); err != nil {
		return ItemImport{}, fmt.Errorf("postgres: read set %s: %w", d.set.Name, err)
	}
	var scene json.RawMessage
	if sp, ok := d.sceneAt[it.ID]; ok {
		d.scene = slices.Grow(d.scene[:0], sp.n)[:sp.n]
		if _, err := d.sf.ReadAt(d.scene, sp.off); err != nil {
			return ItemImport{}, fmt.Errorf("postgres: read %s: %w", stimulus.ScenesFile, err)
		}
		scene = d.scene
	}
	var red *int
	if it.RedRow > 0 {
		r := it.RedRow
		red = &r
	}
	// The type is what the content is, never what the file is called: a
	// set folder not checked by stimulus.Load is checked here.
	ct := it.ContentType
	if ct == "" {
		info, err := stimulus.CheckImage(bytes.NewReader(d.img), int64(len(d.img)), stimulus.DefaultImageLimits)
		if err != nil {
			return ItemImport{}, problem.Errorf(problem.EINVALID, "stimulus set %q, item %s: %s %v", d.set.Name, it.ID, it.File, err)
		}
		ct = info.ContentType
	}
	return ItemImport{
		ExtID: it.ID, Domain: it.Domain, NBlocks: it.NBlocks, NRows: it.NRows, RedRow: red,
		Size: it.Size(), Answer: it.Answer, Split: it.Split, PairID: it.PairID, File: it.File,
		ContentType: ct, Image: d.img, Scene: scene,
	}, nil
}

// readInto reads a whole file into buf, growing it only when the file is
// larger than any read before.
func readInto(buf []byte, name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return buf, err
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(int(fi.Size())+1-len(buf), 4096))
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
