package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ReleaseReservations gives back the places, and the pool slots, of
// participants of the study (uuid.Nil: of every study) who opened it but gave
// no answer (a practice answer counts) within its reservation window, as of now: they become timed out
// with the reason. It is study.Participant.ReservationExpired in SQL
// (TestReleaseReservations holds the two equal). Made-up Prolific ids that
// never answer thus hold no place beyond the window.
func (s *Store) ReleaseReservations(ctx context.Context, studyID uuid.UUID, now time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT p.id FROM participants p JOIN studies st ON st.id = p.study_id
			WHERE p.status = `+sqlStarted+` AND p.n_answered = 0 AND p.n_practice_answered = 0
			  AND ($1 = '00000000-0000-0000-0000-000000000000'::uuid OR p.study_id = $1)
			  AND p.started_at + st.reservation_minutes * interval '1 minute' <= $2
			FOR UPDATE OF p SKIP LOCKED`, studyID, now)
		if err != nil {
			return fmt.Errorf("postgres: release reservations: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("postgres: release reservations: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE participants SET status = `+sqlTimedOut+`, status_changed_at = now(),
				status_reason = 'no answer within the reservation window'
			WHERE id = ANY($1) AND status = `+sqlStarted+` AND n_answered = 0 AND n_practice_answered = 0`, ids); err != nil {
			return fmt.Errorf("postgres: release reservations: %w", err)
		}
		n = len(ids)
		_, err = freeSlots(ctx, tx, ids)
		return err
	})
	return n, err
}
