package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// WithTryLock runs fn while this process holds PostgreSQL's session
// advisory lock named key, and reports whether it ran: when another process
// (or goroutine) holds the lock, fn does not run. The lock lives as long as
// the connection, so a process that dies mid-fn lets go of it at once.
func (s *Store) WithTryLock(ctx context.Context, key string, fn func() error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("postgres: lock %s: %w", key, err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&got); err != nil {
		return false, fmt.Errorf("postgres: lock %s: %w", key, err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		// A fresh context: the caller's may be done, and a lock left on a
		// pooled connection would block every later sync of the study.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
			conn.Conn().Close(uctx) //nolint:errcheck // closing releases the lock
		}
	}()
	return true, fn()
}

// ProlificSyncDue reports whether the study's last sync is older than every
// (or there was none): several processes poll, and within a lock only the
// first of them in each period asks Prolific.
func (s *Store) ProlificSyncDue(ctx context.Context, studyID uuid.UUID, every time.Duration) (bool, error) {
	var due bool
	err := s.pool.QueryRow(ctx, `SELECT last_sync_at IS NULL OR last_sync_at < now() - $2 * interval '1 millisecond'
		FROM prolific_links WHERE study_id = $1`, studyID, every.Milliseconds()).Scan(&due)
	if err == pgx.ErrNoRows {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("postgres: sync due: %w", err)
	}
	return due, nil
}

// SyncResult says what a sync changed.
type SyncResult struct {
	Seen     int // participants with a submission on Prolific
	Moved    int // participants whose cubelab status changed
	Freed    int // pool slots given back
	Verified int // unverified entries confirmed
}

// ApplySubmissions brings the study's participants in line with Prolific's
// list of its submissions, in one transaction: each participant keeps
// Prolific's status, takes the status that follows from it
// (study.FromProlific), gives back their slots and place when that ends
// them, and an entry admitted unverified is confirmed when its session is
// on Prolific. The study's last sync time is set in the same transaction.
func (s *Store) ApplySubmissions(ctx context.Context, studyID uuid.UUID, subs []prolific.Submission) (SyncResult, error) {
	var res SyncResult
	byPID := make(map[string]prolific.Submission, len(subs))
	pids := make([]string, 0, len(subs))
	for _, sub := range subs {
		pid := sub.PID()
		if old, dup := byPID[pid]; dup && old.StartedAt.After(sub.StartedAt) {
			continue // the newest submission of a participant speaks
		}
		if _, dup := byPID[pid]; !dup {
			pids = append(pids, pid)
		}
		byPID[pid] = sub
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, prolific_pid, prolific_session_id, status, prolific_status, prolific_verified
			FROM participants WHERE study_id = $1 AND prolific_pid = ANY($2) ORDER BY id FOR UPDATE`, studyID, pids)
		if err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		type row struct {
			id                               uuid.UUID
			pid, session, prolStatus, verify string
			status                           study.ParticipantStatus
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var v row
			return v, r.Scan(&v.id, &v.pid, &v.session, &v.status, &v.prolStatus, &v.verify)
		})
		if err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		var freed []uuid.UUID
		for _, p := range list {
			sub := byPID[p.pid]
			res.Seen++
			to, moved := study.FromProlific(p.status, sub.Status)
			verify := p.verify
			if verify == "unverified" && (p.session == "" || p.session == sub.ID) {
				verify = "verified"
				res.Verified++
			}
			if !moved && sub.Status == p.prolStatus && verify == p.verify {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE participants SET prolific_status = $2, prolific_verified = $3,
					status = $4,
					status_reason = CASE WHEN $5 THEN 'from Prolific' ELSE status_reason END,
					status_changed_at = CASE WHEN $5 THEN now() ELSE status_changed_at END
				WHERE id = $1`, p.id, sub.Status, verify, string(to), moved); err != nil {
				return fmt.Errorf("postgres: sync: %w", err)
			}
			if moved {
				res.Moved++
				if to.Frees() {
					freed = append(freed, p.id)
				}
			}
		}
		if len(freed) > 0 {
			n, err := freeSlots(ctx, tx, freed)
			if err != nil {
				return err
			}
			res.Freed = int(n)
		}
		if _, err := tx.Exec(ctx, `UPDATE prolific_links SET last_sync_at = now(), last_error = '' WHERE study_id = $1`, studyID); err != nil {
			return fmt.Errorf("postgres: sync: %w", err)
		}
		return nil
	})
	return res, err
}

// ReviewTarget is a participant as a review on Prolific needs them.
type ReviewTarget struct {
	ID        uuid.UUID
	PID       string
	SessionID string // the Prolific submission id
	Status    study.ParticipantStatus
	Failures  int // attention-check failures
}

// ReviewTargets reads the participants of a study by id, in the order given,
// with what approving or rejecting them on Prolific needs; an id that is
// not of the study is ENOTFOUND.
func (s *Store) ReviewTargets(ctx context.Context, studyID uuid.UUID, ids []uuid.UUID) ([]ReviewTarget, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT i.id, p.prolific_pid, p.prolific_session_id, p.status,
			(SELECT count(*) FROM responses r JOIN trials t USING (participant_id, position)
			 WHERE r.participant_id = p.id AND t.is_attention_check AND NOT r.correct)
		FROM unnest($2::uuid[]) WITH ORDINALITY AS i(id, ord)
		LEFT JOIN participants p ON p.id = i.id AND p.study_id = $1 ORDER BY i.ord`, studyID, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: review targets: %w", err)
	}
	defer rows.Close()
	var out []ReviewTarget
	for rows.Next() {
		var t ReviewTarget
		var pid, session, status *string
		if err := rows.Scan(&t.ID, &pid, &session, &status, &t.Failures); err != nil {
			return nil, fmt.Errorf("postgres: review targets: %w", err)
		}
		if pid == nil {
			return nil, problem.Errorf(problem.ENOTFOUND, "There is no such participant in this study.")
		}
		t.PID, t.SessionID, t.Status = *pid, *session, study.ParticipantStatus(*status)
		out = append(out, t)
	}
	return out, rows.Err()
}

// ReviewableIDs lists the completed participants of a study that a bulk
// approval takes: matching the monitor's filter (status must be "" or
// completed, pid a prefix), and without attention-check failures unless
// withFailures.
func (s *Store) ReviewableIDs(ctx context.Context, studyID uuid.UUID, pidPrefix string, withFailures bool) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT p.id FROM participants p
		WHERE p.study_id = $1 AND `+statusIn("p.status", study.Approve.From()...)+` AND ($2 = '' OR starts_with(p.prolific_pid, $2))
		  AND ($3 OR NOT EXISTS (SELECT 1 FROM responses r JOIN trials t USING (participant_id, position)
		                         WHERE r.participant_id = p.id AND t.is_attention_check AND NOT r.correct))
		ORDER BY p.started_at, p.id`, studyID, pidPrefix, withFailures)
	if err != nil {
		return nil, fmt.Errorf("postgres: reviewable: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("postgres: reviewable: %w", err)
	}
	return out, nil
}
