package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// ExportSelection says which rows feed a fine-tuning export: the answers of
// one or several studies, or, for ground-truth labels, the items of a stimulus
// set without any study. Filter narrows either; its Studies are ignored (the
// studies are named by Studies).
type ExportSelection struct {
	Studies []string // study slugs
	Set     string   // stimulus set name; only with the ground-truth source
	Filter  export.Filter
	// Exclude overrides each study's own exclusion rule for this export; nil
	// applies each study's rule.
	Exclude *study.Exclusion
}

// ExportReader feeds one export.Write from the database: Rows streams the
// selected rows and Image their images, each on a connection of its own, both
// sorted by the stimulus's UUID. Neither holds more than one row or one image:
// everything is scanned off the wire as export.Write asks for it.
type ExportReader struct {
	store     *Store
	ctx       context.Context
	cancel    context.CancelFunc
	rowsSQL   string
	imagesSQL string
	countSQL  string // a stimulus with more than one row; "" for a set, which has one each
	args      []any
	excluded  []export.Excluded
	rules     []string // the rules applied, in words, one per distinct rule

	images pgx.Rows  // the image stream, started by the first Image
	ended  bool      // the image stream has no more rows
	cur    uuid.UUID // the stimulus whose image is in img
	img    []byte
	lent   bool // img is being read by the caller
}

// lentImage reads the reader's image buffer and gives it back on Close.
type lentImage struct {
	*bytes.Reader
	x *ExportReader
}

// Close lets the next image reuse the buffer.
func (l lentImage) Close() error {
	l.x.lent = false
	return nil
}

// OpenExport checks the selection and prepares its streams; nothing is read
// until Rows is ranged over. Unknown studies or sets are reported here, with
// problem.ENOTFOUND, before any byte of the ZIP exists. Close releases the
// connections; ctx bounds both streams.
//
// The rows are one per answer (one per item, with an empty Response, for a
// set), attention-check trials left out, and only the answers of participants
// whose answers count (see counted).
func (s *Store) OpenExport(ctx context.Context, sel ExportSelection) (*ExportReader, error) {
	switch {
	case len(sel.Studies) > 0 && sel.Set != "":
		return nil, problem.Errorf(problem.EINVALID, "choose studies or a stimulus set, not both")
	case len(sel.Studies) == 0 && sel.Set == "":
		return nil, problem.Errorf(problem.EINVALID, "choose at least one study, or a stimulus set")
	}
	domains := make([]string, len(sel.Filter.Domains))
	for i, d := range sel.Filter.Domains {
		if _, err := task.ParseDomain(string(d)); err != nil {
			return nil, problem.Errorf(problem.EINVALID, "%v", err)
		}
		domains[i] = string(d)
	}
	sizes := sel.Filter.Sizes
	if sizes == nil {
		sizes = []int{}
	}
	splits := sel.Filter.SetSplits
	if splits == nil {
		splits = []string{}
	}
	// $2, $3, $4 of both queries; $1 is the set or the studies.
	const filters = `
		AND (cardinality($2::text[]) = 0 OR s.domain = ANY($2))
		AND (cardinality($3::int[]) = 0 OR s.size = ANY($3))
		AND (cardinality($4::text[]) = 0 OR s.split = ANY($4))`
	x := &ExportReader{store: s}
	if sel.Set != "" {
		setID, err := s.SetIDByName(ctx, sel.Set)
		if err != nil {
			return nil, err
		}
		// Ground truth needs no answer: one row per item.
		from := `FROM stimuli s WHERE s.set_id = $1` + filters + ` ORDER BY s.id`
		x.rowsSQL = `SELECT s.id, s.domain, s.size, s.split, s.answer, '', '', '', s.file, s.ext_id,
			(SELECT name FROM stimulus_sets WHERE id = s.set_id), NULL::int, 0, NULL::timestamptz, NULL::timestamptz ` + from
		x.imagesSQL = `SELECT s.id, s.image ` + from
		x.args = []any{setID, domains, sizes, splits}
	} else {
		ids, err := s.studyIDs(ctx, sel.Studies)
		if err != nil {
			return nil, err
		}
		dropped, err := x.exclude(ctx, ids, sel.Exclude)
		if err != nil {
			return nil, err
		}
		// A trial is an attention check by its own flag; the study's list is
		// checked too, so that an item listed later is still left out.
		from := `
			FROM responses r
			JOIN trials t ON t.participant_id = r.participant_id AND t.position = r.position
			JOIN participants p ON p.id = r.participant_id
			JOIN studies st ON st.id = p.study_id
			JOIN stimuli s ON s.id = t.stimulus_id
			JOIN stimulus_sets ss ON ss.id = s.set_id
			WHERE p.study_id = ANY($1)
			  AND ` + counted("p.status") + `
			  AND NOT t.is_attention_check
			  AND NOT (t.stimulus_id = ANY(st.attention_check_ids))
			  AND NOT (p.id = ANY($5))` + filters
		// Within a stimulus the rows are ordered by study and participant, so
		// that the same data always gives the same ZIP; in byte order, which
		// compares a third faster than the locale's and lets PostgreSQL sort
		// incrementally after a merge join on the stimulus id.
		x.rowsSQL = `SELECT s.id, s.domain, s.size, s.split, s.answer, r.answer, p.prolific_pid, st.slug, s.file, s.ext_id,
			ss.name, r.browser_rt_ms, r.server_rt_ms, t.shown_at, r.answered_at ` +
			from + ` ORDER BY s.id, st.slug COLLATE "C", p.prolific_pid COLLATE "C"`
		// Only the images some row refers to, not the whole set.
		x.imagesSQL = `SELECT si.id, si.image FROM stimuli si WHERE si.id IN (SELECT s.id ` + from + `) ORDER BY si.id`
		x.countSQL = `SELECT s.id, count(*) ` + from + ` GROUP BY s.id HAVING count(*) <> 1 ORDER BY s.id LIMIT 1`
		x.args = []any{ids, domains, sizes, splits, dropped}
	}
	x.ctx, x.cancel = context.WithCancel(ctx)
	return x, nil
}

// exclude applies the exclusion rule (override, or each study's own) to the
// finished participants of the studies and returns the ids it leaves out.
func (x *ExportReader) exclude(ctx context.Context, ids []uuid.UUID, override *study.Exclusion) ([]uuid.UUID, error) {
	dropped := []uuid.UUID{}
	for _, id := range ids {
		var rule study.Exclusion
		if override != nil {
			rule = *override
		} else {
			var text string
			if err := x.store.pool.QueryRow(ctx, `SELECT exclusion FROM studies WHERE id = $1`, id).Scan(&text); err != nil {
				return nil, fmt.Errorf("postgres: export exclusion: %w", err)
			}
			var err error
			if rule, err = study.ParseExclusion(text); err != nil {
				return nil, err
			}
		}
		if d := rule.Describe(); !slices.Contains(x.rules, d) {
			x.rules = append(x.rules, d)
		}
		err := eachParticipant(ctx, x.store.pool, []uuid.UUID{id}, rule, func(r *ParticipantRecord) error {
			if len(r.Excluded) > 0 {
				dropped = append(dropped, r.ID)
				x.excluded = append(x.excluded, export.Excluded{ParticipantID: r.PID, Study: r.Study, Reasons: slices.Clone(r.Excluded)})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return dropped, nil
}

// Exclusion is the exclusion rule applied, in words ("" for a stimulus set,
// which has no participants), and who it left out; both go on the card.
func (x *ExportReader) Exclusion() (string, []export.Excluded) {
	return strings.Join(x.rules, " "), x.excluded
}

// CheckOnePerImage reports, as problem.EINVALID, a stimulus with more than one
// answer in the selection. The label source "collected" needs exactly one per
// image; checking first turns what would be a download broken half-way into a
// message.
func (x *ExportReader) CheckOnePerImage(ctx context.Context) error {
	if x.countSQL == "" {
		return nil
	}
	var id uuid.UUID
	var n int
	err := x.store.pool.QueryRow(ctx, x.countSQL, x.args...).Scan(&id, &n)
	if err == pgx.ErrNoRows {
		return nil
	} else if err != nil {
		return fmt.Errorf("postgres: export check: %w", err)
	}
	return problem.Errorf(problem.EINVALID, "stimulus %s has %d answers in this selection; the label source %q needs exactly one "+
		"per image (a pool study with one response per item): choose every answer or the majority", id, n, export.AsCollected)
}

// ExportChoices are the values an export's filters can take, for a form.
type ExportChoices struct {
	Sizes  []int    // every size of a stored stimulus
	Splits []string // every non-empty split of a stimulus set
}

// ExportChoices lists the sizes and splits of the stored stimuli.
func (s *Store) ExportChoices(ctx context.Context) (ExportChoices, error) {
	var c ExportChoices
	err := s.pool.QueryRow(ctx, `
		SELECT COALESCE((SELECT array_agg(DISTINCT size ORDER BY size) FROM stimuli), '{}'),
		       COALESCE((SELECT array_agg(DISTINCT split ORDER BY split) FROM stimuli WHERE split <> ''), '{}')`).
		Scan(&c.Sizes, &c.Splits)
	if err != nil {
		return c, fmt.Errorf("postgres: export choices: %w", err)
	}
	return c, nil
}

// studyIDs resolves slugs, naming every one that does not exist.
func (s *Store) studyIDs(ctx context.Context, slugs []string) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT slug, id FROM studies WHERE slug = ANY($1)`, slugs)
	if err != nil {
		return nil, fmt.Errorf("postgres: export studies: %w", err)
	}
	found := map[string]uuid.UUID{}
	var slug string
	var id uuid.UUID
	if _, err := pgx.ForEachRow(rows, []any{&slug, &id}, func() error {
		found[slug] = id
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: export studies: %w", err)
	}
	var missing []string
	ids := make([]uuid.UUID, 0, len(slugs))
	for _, sl := range slugs {
		id, ok := found[sl]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", sl))
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(missing) > 0 {
		return nil, problem.Errorf(problem.ENOTFOUND, "no study named %s", strings.Join(missing, ", "))
	}
	return ids, nil
}

// Rows runs the row query when ranged over and yields its rows one by one.
// It may be ranged over again; each pass runs the query anew.
func (x *ExportReader) Rows() iter.Seq2[export.Answer, error] {
	return func(yield func(export.Answer, error) bool) {
		// Stopping early cancels the query instead of letting Close read the
		// rest of a million rows off the wire.
		ctx, cancel := context.WithCancel(x.ctx)
		rows, err := x.store.pool.Query(ctx, x.rowsSQL, x.args...)
		if err != nil {
			cancel()
			yield(export.Answer{}, fmt.Errorf("postgres: export query: %w", err))
			return
		}
		defer func() {
			cancel()
			rows.Close()
		}()
		var (
			a                                               export.Answer
			prev                                            uuid.UUID
			id, domain, split, truth, resp, pid, slug, file pgtype.DriverBytes
			ext, set                                        pgtype.DriverBytes
			browserRT                                       pgtype.Int4
			shown, answered                                 pgtype.Timestamptz
		)
		// One slice of destinations for every row: a variadic call would
		// build a new one each time.
		dest := []any{&id, &domain, &a.Size, &split, &truth, &resp, &pid, &slug, &file, &ext, &set,
			&browserRT, &a.ServerRTMS, &shown, &answered}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				yield(export.Answer{}, fmt.Errorf("postgres: export row: %w", err))
				return
			}
			// A stimulus has many rows in a row: format its id once. The id
			// arrives as its 16 bytes (pgx reads uuid in binary), which
			// spares a round through uuid's text form on every row.
			if len(id) != len(prev) {
				yield(export.Answer{}, fmt.Errorf("postgres: export row: stimulus id of %d bytes", len(id)))
				return
			}
			if !bytes.Equal(id, prev[:]) || a.StimulusID == "" {
				copy(prev[:], id)
				a.StimulusID = prev.String()
			}
			keep((*string)(&a.Domain), domain)
			keep(&a.SetSplit, split)
			keep(&a.Truth, truth)
			keep(&a.Response, resp)
			keep(&a.ParticipantID, pid)
			keep(&a.Study, slug)
			keep(&a.ImagePath, file)
			keep(&a.ManifestID, ext)
			keep(&a.Set, set)
			a.BrowserRTMS = -1
			if browserRT.Valid {
				a.BrowserRTMS = int(browserRT.Int32)
			}
			a.ShownAt, a.AnsweredAt = shown.Time, answered.Time
			if !yield(a, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(export.Answer{}, fmt.Errorf("postgres: export rows: %w", err))
		}
	}
}

// keep sets *s to the text of b, allocating only when it changes: most
// columns repeat on every answer to a stimulus, and answers are Yes or No. A
// million rows then leave little garbage behind for the collector.
func keep(s *string, b []byte) {
	switch {
	case string(b) == *s:
	case string(b) == task.Yes:
		*s = task.Yes
	case string(b) == task.No:
		*s = task.No
	default:
		*s = string(b)
	}
}

// Image is an export.OpenImage. export.Write asks for the images in the order
// of the rows, so one streamed query serves them all: Image reads it forward to
// the stimulus asked for, skipping images whose rows the export left out, with
// no round trip per image. An image asked for out of that order is read by its
// own query.
func (x *ExportReader) Image(ctx context.Context, stimulusID, _ string) (io.ReadCloser, error) {
	id, err := uuid.Parse(stimulusID)
	if err != nil {
		return nil, fmt.Errorf("postgres: export image: stimulus id %q: %w", stimulusID, err)
	}
	if x.images == nil && !x.ended {
		if x.images, err = x.store.pool.Query(x.ctx, x.imagesSQL, x.args...); err != nil {
			x.images, x.ended = nil, true
			return nil, fmt.Errorf("postgres: export images: %w", err)
		}
	}
	for !x.ended && (x.img == nil || bytes.Compare(x.cur[:], id[:]) < 0) {
		if !x.images.Next() {
			x.ended, x.img = true, nil
			x.images.Close()
			if err := x.images.Err(); err != nil {
				return nil, fmt.Errorf("postgres: export images: %w", err)
			}
			break
		}
		var raw pgtype.DriverBytes
		if err := x.images.Scan(&x.cur, &raw); err != nil {
			return nil, fmt.Errorf("postgres: export image: %w", err)
		}
		// One buffer serves every image, unless the caller has not closed
		// the last one yet.
		if x.lent {
			x.img, x.lent = nil, false
		}
		x.img = append(x.img[:0], raw...)
	}
	if x.img != nil && x.cur == id {
		x.lent = true
		return lentImage{Reader: bytes.NewReader(x.img), x: x}, nil
	}
	img, err := x.store.stimulusImage(ctx, id)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(img)), nil
}

// Close ends both streams and gives their connections back to the pool.
func (x *ExportReader) Close() {
	x.cancel()
	if x.images != nil {
		x.images.Close()
	}
}

// stimulusImage reads one image by the stimulus's UUID.
func (s *Store) stimulusImage(ctx context.Context, id uuid.UUID) ([]byte, error) {
	var img []byte
	err := s.pool.QueryRow(ctx, `SELECT image FROM stimuli WHERE id = $1`, id).Scan(&img)
	if err == pgx.ErrNoRows {
		return nil, fmt.Errorf("postgres: export image: no stimulus %s", id)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: export image %s: %w", id, err)
	}
	return img, nil
}
