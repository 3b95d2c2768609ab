package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
)

// ProlificLink is a study's link to its Prolific study, and what the last
// sync found.
type ProlificLink struct {
	StudyID         uuid.UUID
	ProlificStudyID string
	CreatedHere     bool
	Status          string // Prolific's study status, as last read
	Places          int
	PlacesTaken     int
	MaxMinutes      int    // Prolific's maximum allowed time; 0 when not read yet
	OnUnreachable   string // "admit" or "refuse"
	LastSyncAt      *time.Time
	LastError       string
	LastErrorAt     *time.Time
	LinkedAt        time.Time
}

// Entry settings for a linked study when Prolific cannot be asked.
const (
	UnreachableAdmit  = "admit"
	UnreachableRefuse = "refuse"
)

const linkColumns = `l.study_id, l.prolific_study_id, l.created_here, l.prolific_status, l.places, l.places_taken, l.max_minutes,
	l.on_unreachable, l.last_sync_at, l.last_error, l.last_error_at, l.linked_at`

func scanLink(row pgx.Row, l *ProlificLink) error {
	return row.Scan(&l.StudyID, &l.ProlificStudyID, &l.CreatedHere, &l.Status, &l.Places, &l.PlacesTaken, &l.MaxMinutes,
		&l.OnUnreachable, &l.LastSyncAt, &l.LastError, &l.LastErrorAt, &l.LinkedAt)
}

// LinkProlific links a study to a Prolific study, as read from Prolific
// (ps), and writes its id into the study, so the entry refuses links of any
// other Prolific study. A study links to one Prolific study, and a Prolific
// study to one cubelab study.
func (s *Store) LinkProlific(ctx context.Context, studyID uuid.UUID, ps prolific.Study, createdHere bool) error {
	if !prolific.ValidID(ps.ID) {
		return problem.Errorf(problem.EINVALID, "%q is not a Prolific study id (24 characters, 0-9 and a-f).", ps.ID)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE studies SET prolific_study_id = $2 WHERE id = $1`, studyID, ps.ID)
		if err != nil {
			return fmt.Errorf("postgres: link study: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO prolific_links (study_id, prolific_study_id, created_here, prolific_status, places, places_taken, max_minutes)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (study_id) DO UPDATE SET prolific_study_id = EXCLUDED.prolific_study_id,
				created_here = EXCLUDED.created_here, prolific_status = EXCLUDED.prolific_status,
				places = EXCLUDED.places, places_taken = EXCLUDED.places_taken, max_minutes = EXCLUDED.max_minutes,
				last_error = '', linked_at = now()`,
			studyID, ps.ID, createdHere, ps.Status, ps.TotalAvailablePlaces, ps.PlacesTaken, max(ps.MaximumAllowedTime, 0))
		if isUniqueViolation(err) {
			return problem.Errorf(problem.ECONFLICT, "Prolific study %s is already linked to another cubelab study.", ps.ID)
		} else if err != nil {
			return fmt.Errorf("postgres: link study: %w", err)
		}
		return nil
	})
}

// ProlificLinkOf returns a study's link; ok is false when it has none.
func (s *Store) ProlificLinkOf(ctx context.Context, studyID uuid.UUID) (l ProlificLink, ok bool, err error) {
	err = scanLink(s.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM prolific_links l WHERE l.study_id = $1`, studyID), &l)
	if err == pgx.ErrNoRows {
		return l, false, nil
	} else if err != nil {
		return l, false, fmt.Errorf("postgres: prolific link: %w", err)
	}
	return l, true, nil
}

// ProlificLinks lists every linked study whose participants may still
// change: not a draft.
func (s *Store) ProlificLinks(ctx context.Context) ([]ProlificLink, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+linkColumns+` FROM prolific_links l JOIN studies st ON st.id = l.study_id
		WHERE st.status <> `+sqlDraft+` ORDER BY l.linked_at`)
	if err != nil {
		return nil, fmt.Errorf("postgres: prolific links: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProlificLink, error) {
		var l ProlificLink
		return l, scanLink(r, &l)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: prolific links: %w", err)
	}
	return out, nil
}

// RecordProlificStudy keeps what Prolific last said of the linked study.
func (s *Store) RecordProlificStudy(ctx context.Context, studyID uuid.UUID, ps prolific.Study) error {
	_, err := s.pool.Exec(ctx, `UPDATE prolific_links SET prolific_status = $2, places = $3, places_taken = $4,
		max_minutes = $5 WHERE study_id = $1`, studyID, ps.Status, ps.TotalAvailablePlaces, ps.PlacesTaken, max(ps.MaximumAllowedTime, 0))
	if err != nil {
		return fmt.Errorf("postgres: record prolific study: %w", err)
	}
	return nil
}

// RecordProlificError keeps the last error from Prolific for the study's
// panel, in plain words; "" clears it.
func (s *Store) RecordProlificError(ctx context.Context, studyID uuid.UUID, msg string) error {
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	_, err := s.pool.Exec(ctx, `UPDATE prolific_links SET last_error = $2,
		last_error_at = CASE WHEN $2 = '' THEN last_error_at ELSE now() END WHERE study_id = $1`, studyID, msg)
	if err != nil {
		return fmt.Errorf("postgres: record prolific error: %w", err)
	}
	return nil
}

// SetProlificUnreachable sets what the entry does when Prolific cannot be
// asked: UnreachableAdmit or UnreachableRefuse.
func (s *Store) SetProlificUnreachable(ctx context.Context, studyID uuid.UUID, mode string) error {
	if mode != UnreachableAdmit && mode != UnreachableRefuse {
		return problem.Errorf(problem.EINVALID, "Choose to admit or to refuse participants when Prolific cannot be reached.")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE prolific_links SET on_unreachable = $2 WHERE study_id = $1`, studyID, mode)
	if err != nil {
		return fmt.Errorf("postgres: prolific setting: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return problem.Errorf(problem.ECONFLICT, "Link the study to Prolific first.")
	}
	return nil
}

// SetStudyPlaces raises a study's places (after an increase on Prolific);
// places can only grow, since people may already hold them.
func (s *Store) SetStudyPlaces(ctx context.Context, studyID uuid.UUID, places int) error {
	tag, err := s.pool.Exec(ctx, `UPDATE studies SET places = $2 WHERE id = $1 AND places <= $2`, studyID, places)
	if err != nil {
		return fmt.Errorf("postgres: study places: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return problem.Errorf(problem.ECONFLICT, "Places can only be increased.")
	}
	_, err = s.pool.Exec(ctx, `UPDATE prolific_links SET places = GREATEST(places, $2) WHERE study_id = $1`, studyID, places)
	if err != nil {
		return fmt.Errorf("postgres: study places: %w", err)
	}
	return nil
}

// PilotMinutes is the median duration, in whole minutes rounded up, of the
// study's completed and approved participants, and how many there are.
func (s *Store) PilotMinutes(ctx context.Context, studyID uuid.UUID) (minutes, n int, err error) {
	var secs *float64
	err = s.pool.QueryRow(ctx, `SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))
		FROM participants WHERE study_id = $1 AND `+counted("status"), studyID).Scan(&n, &secs)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: pilot duration: %w", err)
	}
	if secs == nil {
		return 0, 0, nil
	}
	return int((*secs + 59) / 60), n, nil
}

// ProlificCounts are a linked study's participants by Prolific status ("" for
// not yet seen by a sync), and the unverified entries.
type ProlificCounts struct {
	ByStatus   map[string]int
	Unverified int
}

// ProlificCountsOf counts a study's participants by Prolific status.
func (s *Store) ProlificCountsOf(ctx context.Context, studyID uuid.UUID) (ProlificCounts, error) {
	c := ProlificCounts{ByStatus: map[string]int{}}
	rows, err := s.pool.Query(ctx, `SELECT prolific_status, count(*), count(*) FILTER (WHERE prolific_verified = 'unverified')
		FROM participants WHERE study_id = $1 GROUP BY prolific_status`, studyID)
	if err != nil {
		return c, fmt.Errorf("postgres: prolific counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n, unv int
		if err := rows.Scan(&st, &n, &unv); err != nil {
			return c, fmt.Errorf("postgres: prolific counts: %w", err)
		}
		c.ByStatus[st] = n
		c.Unverified += unv
	}
	return c, rows.Err()
}

// ParticipantExists reports whether (study, PID) already has a record: a
// second opening of the link resumes it without asking Prolific again.
func (s *Store) ParticipantExists(ctx context.Context, studyID uuid.UUID, pid string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM participants WHERE study_id = $1 AND prolific_pid = $2)`,
		studyID, pid).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("postgres: participant exists: %w", err)
	}
	return ok, nil
}

// SetProlificVerified records how a participant's entry was checked:
// "verified" or "unverified" (admitted while Prolific could not be asked).
func (s *Store) SetProlificVerified(ctx context.Context, participantID uuid.UUID, state string) error {
	_, err := s.pool.Exec(ctx, `UPDATE participants SET prolific_verified = $2 WHERE id = $1 AND prolific_verified <> 'verified'`,
		participantID, state)
	if err != nil {
		return fmt.Errorf("postgres: prolific verified: %w", err)
	}
	return nil
}

// LogProlificCall keeps one API call in the log the settings page shows,
// and trims the log to its newest 2,000 calls now and then.
func (s *Store) LogProlificCall(ctx context.Context, c prolific.Call) error {
	msg := ""
	if c.Err != nil {
		msg = prolific.Message(c.Err)
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO prolific_calls (at, method, path, status, duration_ms, error)
		VALUES (now() - $5 * interval '1 millisecond', $1, $2, $3, $4, $6) RETURNING id`,
		c.Method, c.Path, c.Status, c.Duration.Milliseconds(), c.Duration.Milliseconds(), msg).Scan(&id)
	if err != nil {
		return fmt.Errorf("postgres: log prolific call: %w", err)
	}
	if id%500 == 0 {
		if _, err := s.pool.Exec(ctx, `DELETE FROM prolific_calls WHERE id <= $1`, id-2000); err != nil {
			return fmt.Errorf("postgres: trim prolific calls: %w", err)
		}
	}
	return nil
}

// ProlificCallRow is one logged API call.
type ProlificCallRow struct {
	At       time.Time
	Method   string
	Path     string
	Status   int
	Duration time.Duration
	Error    string
}

// ProlificCalls returns the newest n logged API calls.
func (s *Store) ProlificCalls(ctx context.Context, n int) ([]ProlificCallRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, method, path, status, duration_ms, error FROM prolific_calls
		ORDER BY id DESC LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: prolific calls: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProlificCallRow, error) {
		var c ProlificCallRow
		var ms int64
		err := r.Scan(&c.At, &c.Method, &c.Path, &c.Status, &ms, &c.Error)
		c.Duration = time.Duration(ms) * time.Millisecond
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: prolific calls: %w", err)
	}
	return out, nil
}
