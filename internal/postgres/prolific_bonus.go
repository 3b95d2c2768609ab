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

// Where a batch stands on Prolific (bonus_batches.prolific_state).
const (
	BonusNotSent = ""        // not set up on Prolific (the CSV path)
	BonusCreated = "created" // a bulk bonus is set up; its id is recorded
	BonusPaying  = "paying"  // the pay call was (or is being) sent
	BonusPaid    = "paid"
)

// PayBatch is a bonus batch as paying it through Prolific needs it.
type PayBatch struct {
	ID        uuid.UUID
	StudyID   uuid.UUID
	Number    int
	State     string
	BonusID   string
	PaySentAt *time.Time
	PaidAt    *time.Time
	Error     string
	Lines     []PayLine
}

// PayLine is one person of a batch.
type PayLine struct {
	PID         string
	SessionID   string // the Prolific submission id
	AmountMinor int64
}

// BonusLines are the batch's lines as Prolific's bulk bonus takes them.
func (b PayBatch) BonusLines() []prolific.BonusLine {
	out := make([]prolific.BonusLine, len(b.Lines))
	for i, l := range b.Lines {
		out[i] = prolific.BonusLine{PID: l.PID, AmountMinor: l.AmountMinor}
	}
	return out
}

const payBatchColumns = `b.id, b.study_id, b.number, b.prolific_state, b.prolific_bonus_id, b.pay_sent_at, b.paid_at, b.prolific_error`

func (s *Store) payBatch(ctx context.Context, where string, args ...any) (PayBatch, error) {
	var b PayBatch
	err := s.pool.QueryRow(ctx, `SELECT `+payBatchColumns+` FROM bonus_batches b WHERE `+where, args...).Scan(
		&b.ID, &b.StudyID, &b.Number, &b.State, &b.BonusID, &b.PaySentAt, &b.PaidAt, &b.Error)
	if err == pgx.ErrNoRows {
		return b, problem.Errorf(problem.ENOTFOUND, "There is no such bonus batch.")
	} else if err != nil {
		return b, fmt.Errorf("postgres: bonus batch: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT p.prolific_pid, p.prolific_session_id, bi.amount_minor
		FROM bonus_batch_items bi JOIN participants p ON p.id = bi.participant_id
		WHERE bi.batch_id = $1 ORDER BY p.prolific_pid`, b.ID)
	if err != nil {
		return b, fmt.Errorf("postgres: bonus batch lines: %w", err)
	}
	b.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PayLine, error) {
		var l PayLine
		return l, r.Scan(&l.PID, &l.SessionID, &l.AmountMinor)
	})
	if err != nil {
		return b, fmt.Errorf("postgres: bonus batch lines: %w", err)
	}
	return b, nil
}

// PayBatchOf reads batch number of a study.
func (s *Store) PayBatchOf(ctx context.Context, studyID uuid.UUID, number int) (PayBatch, error) {
	return s.payBatch(ctx, `b.study_id = $1 AND b.number = $2`, studyID, number)
}

// PayingBatches lists every batch whose pay call was sent and whose outcome
// is not recorded: after a crash or a lost answer, each is reconciled by
// reading Prolific before anything else happens to it.
func (s *Store) PayingBatches(ctx context.Context) ([]PayBatch, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM bonus_batches WHERE prolific_state = 'paying' ORDER BY pay_sent_at`)
	if err != nil {
		return nil, fmt.Errorf("postgres: paying batches: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("postgres: paying batches: %w", err)
	}
	out := make([]PayBatch, 0, len(ids))
	for _, id := range ids {
		b, err := s.payBatch(ctx, `b.id = $1`, id)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// moveBatch changes a batch's Prolific state from one to another in one
// statement, setting what the move sets, and reports whether it moved:
// false means another process moved it first (or it was never there), so
// the caller must not act on the old state.
func (s *Store) moveBatch(ctx context.Context, id uuid.UUID, from, to, set string, args ...any) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE bonus_batches SET prolific_state = $2`+set+`
		WHERE id = $1 AND prolific_state = $3`, append([]any{id, to, from}, args...)...)
	if err != nil {
		return false, fmt.Errorf("postgres: bonus batch %s -> %s: %w", from, to, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecordBonusCreated records the bulk bonus set up on Prolific for the
// batch, in the statement that moves it to created. A batch already paid by
// hand (marked paid) does not move.
func (s *Store) RecordBonusCreated(ctx context.Context, id uuid.UUID, bonusID string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE bonus_batches SET prolific_state = 'created', prolific_bonus_id = $2, prolific_error = ''
		WHERE id = $1 AND prolific_state = '' AND paid_at IS NULL`, id, bonusID)
	if err != nil {
		return false, fmt.Errorf("postgres: bonus batch created: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// MarkBonusPaying claims the pay call: only the caller that moves the batch
// from created to paying may send it, and the move is committed before the
// call, so a crash after it leaves the batch paying, never created.
func (s *Store) MarkBonusPaying(ctx context.Context, id uuid.UUID) (bool, error) {
	return s.moveBatch(ctx, id, BonusCreated, BonusPaying, `, pay_sent_at = now(), prolific_error = ''`)
}

// MarkBonusPaid records a paid batch.
func (s *Store) MarkBonusPaid(ctx context.Context, id uuid.UUID) (bool, error) {
	return s.moveBatch(ctx, id, BonusPaying, BonusPaid, `, paid_at = COALESCE(paid_at, now()), prolific_error = ''`)
}

// ReleaseBonusPaying moves a paying batch back to created, with the reason:
// only when Prolific is known not to have paid it (it refused the call, or
// its bonuses show nothing long after the call).
func (s *Store) ReleaseBonusPaying(ctx context.Context, id uuid.UUID, reason string) (bool, error) {
	return s.moveBatch(ctx, id, BonusPaying, BonusCreated, `, prolific_error = $4`, truncate(reason))
}

// RecordBonusError keeps the last problem with a batch, in plain words.
func (s *Store) RecordBonusError(ctx context.Context, id uuid.UUID, msg string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE bonus_batches SET prolific_error = $2 WHERE id = $1`, id, truncate(msg)); err != nil {
		return fmt.Errorf("postgres: bonus batch error: %w", err)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}

// BatchProlificState is where a batch stands on Prolific, for the payouts page.
type BatchProlificState struct {
	State     string
	BonusID   string
	PaySentAt *time.Time
	Error     string
}

// BatchProlificStates maps a study's batch numbers to their Prolific state.
func (s *Store) BatchProlificStates(ctx context.Context, studyID uuid.UUID) (map[int]BatchProlificState, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, prolific_state, prolific_bonus_id, pay_sent_at, prolific_error
		FROM bonus_batches WHERE study_id = $1`, studyID)
	if err != nil {
		return nil, fmt.Errorf("postgres: batch states: %w", err)
	}
	defer rows.Close()
	out := map[int]BatchProlificState{}
	for rows.Next() {
		var n int
		var b BatchProlificState
		if err := rows.Scan(&n, &b.State, &b.BonusID, &b.PaySentAt, &b.Error); err != nil {
			return nil, fmt.Errorf("postgres: batch states: %w", err)
		}
		out[n] = b
	}
	return out, rows.Err()
}

// StudyOfSubmission finds the linked study and participant whose Prolific
// session (submission) id is sessionID, for a webhook.
func (s *Store) StudyOfSubmission(ctx context.Context, sessionID string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT p.study_id FROM participants p JOIN prolific_links l ON l.study_id = p.study_id
		WHERE p.prolific_session_id = $1 LIMIT 1`, sessionID).Scan(&id)
	if err == pgx.ErrNoRows {
		return id, false, nil
	} else if err != nil {
		return id, false, fmt.Errorf("postgres: study of submission: %w", err)
	}
	return id, true, nil
}
