package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// StudyEdit is a save of a study's form: the settings as they should be,
// the version of the study the form was loaded from, and who saves.
type StudyEdit struct {
	Study   study.Study // ID set; every setting as it should be after the save
	Version int         // the study's version when the form was loaded
	Actor   string      // who saves (an email), for the log
}

// errStale is the refusal of a save made from a form older than
// the study: the message names what changed since, and who changed it.
func errStale(changes []StudyChange) error {
	var parts []string
	for _, c := range changes {
		who := c.Actor
		if who == "" {
			who = "someone"
		}
		parts = append(parts, who+" at "+c.At.UTC().Format("15:04:05 UTC")+": "+c.What)
	}
	what := "it changed"
	if len(parts) > 0 {
		what = strings.Join(parts, "; ")
	}
	return staleError{problem.Errorf(problem.ECONFLICT, "This study was changed after you opened the form (%s). Your changes were not saved: "+
		"the form now shows the study as it is; make your changes again.", what)}
}

// staleError marks errStale's refusal, which is to everything else the
// ECONFLICT it wraps (problem.Code, problem.Message).
type staleError struct{ error }

func (e staleError) Unwrap() error { return e.error }

// IsStale reports whether err is the refusal of a save from an old form.
func IsStale(err error) bool { return errors.As(err, new(staleError)) }

// EditStudy saves a study's settings in one transaction: it refuses a save
// from a stale form (naming what changed since), refuses changes the study's
// status forbids (study.Status.CheckEdit), keeps the old texts as a version
// when they change, and logs the change. Places may go up, or down to no
// fewer than those taken, while joins run (the trigger of migration
// 001030). A save that changes nothing changes nothing, not even the version.
func (s *Store) EditStudy(ctx context.Context, e StudyEdit) (study.Study, error) {
	var out study.Study
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var cur study.Study
		// FOR NO KEY UPDATE, not FOR UPDATE: a join holding a shard of the
		// places inserts its participant, whose foreign key takes KEY SHARE
		// on this row while the places trigger waits for that shard.
		err := scanStudy(tx.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies st WHERE st.id = $1 FOR NO KEY UPDATE`, e.Study.ID), &cur)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: lock study: %w", err)
		}
		if cur.Version != e.Version {
			since, err := studyChanges(ctx, tx, cur.ID, e.Version)
			if err != nil {
				return err
			}
			return errStale(since)
		}
		next := e.Study
		changes := study.Changes(cur, next)
		if len(changes) == 0 {
			out = cur
			return nil
		}
		if err := cur.Status.CheckEdit(changes); err != nil {
			return err
		}
		textVersion := cur.TextVersion
		if next.ConsentText != cur.ConsentText || next.InstructionsText != cur.InstructionsText {
			textVersion++
			if _, err := tx.Exec(ctx, `INSERT INTO study_texts (study_id, version, consent_text, instructions_text)
				VALUES ($1, $2, $3, $4)`, cur.ID, textVersion, next.ConsentText, next.InstructionsText); err != nil {
				return fmt.Errorf("postgres: study texts: %w", err)
			}
		}
		cols, settings := studySettingColumns, studySettings(&next)
		if cur.Status != study.Draft {
			// Only what a running study may change, and no key column (slug):
			// setting one would lock this row FOR UPDATE in the places
			// trigger, against the KEY SHARE of joins inserting participants.
			cols = `places, time_limit_minutes, consent_text, instructions_text`
			settings = []any{next.Places, next.TimeLimitMinutes, next.ConsentText, next.InstructionsText}
		}
		n := len(settings)
		err = scanStudy(tx.QueryRow(ctx, `
			UPDATE studies st SET (`+cols+`) = (`+placeholders(2, n)+`),
				version = version + 1, text_version = $`+strconv.Itoa(n+2)+`
			WHERE st.id = $1
			RETURNING `+studyColumns, append(append([]any{cur.ID}, settings...), textVersion)...), &out)
		if isUniqueViolation(err) {
			return problem.Errorf(problem.ECONFLICT, "A study with the link name %q already exists.", next.Slug)
		} else if taken, ok := placesBelowTaken(err); ok {
			return problem.Errorf(problem.ECONFLICT, "Places cannot go below the %d people who already hold one (asked for %d).", taken, next.Places)
		} else if err != nil {
			return fmt.Errorf("postgres: edit study %q: %w", cur.Slug, err)
		}
		return logChange(ctx, tx, cur.ID, out.Version, e.Actor, study.ChangeSummary(changes))
	})
	return out, err
}

// placesBelowTaken recognises the refusal of the places trigger (migration
// 001030) and the number of places taken it reports.
func placesBelowTaken(err error) (int, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "CL001" {
		return 0, false
	}
	n, _ := strconv.Atoi(pe.Detail)
	return n, true
}

// PlacesTaken is how many places of the study are held now: started,
// completed and approved participants.
func (s *Store) PlacesTaken(ctx context.Context, studyID uuid.UUID) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(sum(used), 0) FROM study_place_shards WHERE study_id = $1`, studyID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: places taken: %w", err)
	}
	return n, nil
}

// StudyChange is a line of a study's log.
type StudyChange struct {
	Version int // the version the change made; 0 for a move or an archive
	Actor   string
	At      time.Time
	What    string
}

func logChange(ctx context.Context, tx pgx.Tx, studyID uuid.UUID, version int, actor, what string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO study_changes (study_id, version, actor, what) VALUES ($1, $2, $3, $4)`,
		studyID, version, actor, what); err != nil {
		return fmt.Errorf("postgres: log change: %w", err)
	}
	return nil
}

// studyChanges lists the changes of the settings made after version, oldest first.
func studyChanges(ctx context.Context, tx pgx.Tx, studyID uuid.UUID, after int) ([]StudyChange, error) {
	rows, err := tx.Query(ctx, `SELECT version, actor, at, what FROM study_changes
		WHERE study_id = $1 AND version > $2 ORDER BY id`, studyID, after)
	return collectChanges(rows, err)
}

// collectChanges scans the rows of a study_changes query.
func collectChanges(rows pgx.Rows, err error) ([]StudyChange, error) {
	if err != nil {
		return nil, fmt.Errorf("postgres: changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StudyChange, error) {
		var c StudyChange
		return c, r.Scan(&c.Version, &c.Actor, &c.At, &c.What)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: changes: %w", err)
	}
	return out, nil
}

// StudyChanges lists the newest limit changes of a study, newest first.
func (s *Store) StudyChanges(ctx context.Context, studyID uuid.UUID, limit int) ([]StudyChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, actor, at, what FROM study_changes
		WHERE study_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, studyID, limit)
	return collectChanges(rows, err)
}

// DuplicateStudy makes a draft copy of a study under a free link name
// ("slug-copy", "slug-copy-2", ...), titled "Copy of ...", and logs it on
// both.
func (s *Store) DuplicateStudy(ctx context.Context, id uuid.UUID, actor string) (study.Study, error) {
	return s.DuplicateStudyFor(ctx, id, uuid.Nil, actor)
}

// DuplicateStudyFor is DuplicateStudy with the copy owned by owner (uuid.Nil:
// nobody's, as from the command line).
func (s *Store) DuplicateStudyFor(ctx context.Context, id, owner uuid.UUID, actor string) (study.Study, error) {
	var cp study.Study
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var src study.Study
		err := scanStudy(tx.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies st WHERE st.id = $1`, id), &src)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: study: %w", err)
		}
		base := src.Slug
		if len(base) > 50 {
			base = strings.TrimRight(base[:50], "-")
		}
		base += "-copy"
		var taken []string
		rows, err := tx.Query(ctx, `SELECT slug FROM studies WHERE slug = $1 OR starts_with(slug, $1 || '-')`, base)
		if err != nil {
			return fmt.Errorf("postgres: slugs: %w", err)
		}
		if taken, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return fmt.Errorf("postgres: slugs: %w", err)
		}
		slug := base
		for n := 2; slices.Contains(taken, slug); n++ {
			slug = base + "-" + strconv.Itoa(n)
		}
		cp = src
		cp.ID, cp.Slug, cp.Status, cp.ArchivedAt, cp.OwnerID = uuid.Nil, slug, study.Draft, nil, owner
		cp.Title = "Copy of " + src.Title
		if err := createStudy(ctx, tx, &cp); err != nil {
			return err
		}
		if err := logChange(ctx, tx, cp.ID, 0, actor, "made as a copy of "+src.Slug); err != nil {
			return err
		}
		return logChange(ctx, tx, src.ID, 0, actor, "copied to "+slug)
	})
	return cp, err
}

// DeleteStudy deletes a draft study (study.Status.Deletable): nobody has
// joined it, so nothing but its settings goes.
func (s *Store) DeleteStudy(ctx context.Context, id uuid.UUID) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var status study.Status
		err := tx.QueryRow(ctx, `SELECT status FROM studies WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: lock study: %w", err)
		}
		if !status.Deletable() {
			return problem.Errorf(problem.ECONFLICT, "Only a draft can be deleted; this study is %s. Close and archive it instead: its data is kept.", status)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM studies WHERE id = $1`, id); err != nil {
			return fmt.Errorf("postgres: delete study: %w", err)
		}
		return nil
	})
}

// ArchiveStudy hides a closed study from the list (archive) or shows it
// again (unarchive); its data is kept either way. Logged.
func (s *Store) ArchiveStudy(ctx context.Context, id uuid.UUID, archive bool, actor string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var status study.Status
		var archived *time.Time
		err := tx.QueryRow(ctx, `SELECT status, archived_at FROM studies WHERE id = $1 FOR NO KEY UPDATE`, id).Scan(&status, &archived)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: lock study: %w", err)
		}
		if archive == (archived != nil) {
			return nil
		}
		what := "unarchived"
		if archive {
			if !status.Archivable() {
				return problem.Errorf(problem.ECONFLICT, "Only a closed study can be archived; this one is %s. Close it first.", status)
			}
			what = "archived"
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET archived_at = CASE WHEN $2 THEN now() END WHERE id = $1`, id, archive); err != nil {
			return fmt.Errorf("postgres: archive study: %w", err)
		}
		return logChange(ctx, tx, id, 0, actor, what)
	})
}
