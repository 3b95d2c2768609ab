package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// Reviews at scale (issue 16, item 3): the candidates of a bulk approval
// with what the review rule looks at, the log of reviews, and undo.

// ReviewCandidate is a participant an approval could take, with the facts
// study.ParticipantFacts.NeedsLook looks at.
type ReviewCandidate struct {
	ID           uuid.UUID
	PID          string
	FailedChecks int
	// FailedInstructed: of those, instructed-response checks.
	FailedInstructed int
	Checks           int // attention checks answered
	Flagged          int
}

// Facts are what the review rule looks at.
func (c ReviewCandidate) Facts() study.ParticipantFacts {
	return study.ParticipantFacts{FailedChecks: c.FailedChecks, FailedInstructed: c.FailedInstructed, Flagged: c.Flagged}
}

// ApprovalCandidates lists the participants of the study that an approval
// may take (study.Approve.From) and that match the monitor's filter, in the
// table's order; with ids, only those among them.
func (s *Store) ApprovalCandidates(ctx context.Context, studyID uuid.UUID, q MonitorQuery, ids []uuid.UUID) ([]ReviewCandidate, error) {
	q.Sort = "" // the candidates come in the order they started; no sort needs a join
	from, where, args := monitorFrom(studyID, q)
	args = append(args, ids)
	rows, err := s.pool.Query(ctx, `
		SELECT p.id, p.prolific_pid, c.failures, c.instructed_failures, c.checks, p.n_flagged
		FROM `+from+`
		CROSS JOIN LATERAL (
			SELECT count(*) FILTER (WHERE NOT r.correct) AS failures,
				count(*) FILTER (WHERE NOT r.correct AND t.instructed_answer IS NOT NULL) AS instructed_failures, count(*) AS checks
			FROM responses r JOIN trials t USING (participant_id, position)
			WHERE r.participant_id = p.id AND t.is_attention_check
		) c
		WHERE `+where+` AND `+statusIn("p.status", study.Approve.From()...)+`
		  AND ($`+fmt.Sprint(len(args))+`::uuid[] IS NULL OR p.id = ANY($`+fmt.Sprint(len(args))+`))
		ORDER BY p.started_at, p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: approval candidates: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReviewCandidate, error) {
		var c ReviewCandidate
		err := row.Scan(&c.ID, &c.PID, &c.FailedChecks, &c.FailedInstructed, &c.Checks, &c.Flagged)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: approval candidates: %w", err)
	}
	return out, nil
}

// ReviewLog is who takes a review, when (the server's clock), and whether
// it went to Prolific.
type ReviewLog struct {
	By             uuid.UUID
	At             time.Time
	SentToProlific bool
}

// Review applies an action to participants of the study in one transaction
// and logs it; it returns the log entry's id. Either every participant is
// moved or none is.
func (s *Store) Review(ctx context.Context, studyID uuid.UUID, ids []uuid.UUID, a Action, reason string, log ReviewLog) (int64, error) {
	if err := checkAction(a, reason); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, p := range ids {
			if err := actOn(ctx, tx, studyID, p, a, reason); err != nil {
				return err
			}
		}
		var err error
		id, err = logReview(ctx, tx, studyID, a, ids, nil, log)
		return err
	})
	return id, err
}

func logReview(ctx context.Context, tx pgx.Tx, studyID uuid.UUID, a Action, ids []uuid.UUID, batch *int, log ReviewLog) (int64, error) {
	if ids == nil {
		ids = []uuid.UUID{}
	}
	var by *uuid.UUID
	if log.By != uuid.Nil {
		by = &log.By
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO review_actions (study_id, action, participant_ids, batch_number, sent_to_prolific, admin_id, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, studyID, string(a), ids, batch, log.SentToProlific, by, log.At).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: log review: %w", err)
	}
	return id, nil
}

// MarkBatchPaidLogged records that a batch was paid, as MarkBatchPaid, and
// logs it when it changed anything; a batch paid through Prolific's API is
// logged as sent there, which no undo takes back.
func (s *Store) MarkBatchPaidLogged(ctx context.Context, studyID uuid.UUID, number int, log ReviewLog) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var wasPaid, onProlific bool
		err := tx.QueryRow(ctx, `SELECT paid_at IS NOT NULL, prolific_state <> '' FROM bonus_batches
			WHERE study_id = $1 AND number = $2 FOR UPDATE`, studyID, number).Scan(&wasPaid, &onProlific)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no bonus batch %d.", number)
		} else if err != nil {
			return fmt.Errorf("postgres: mark paid: %w", err)
		}
		if wasPaid {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE bonus_batches SET paid_at = $3 WHERE study_id = $1 AND number = $2`,
			studyID, number, log.At); err != nil {
			return fmt.Errorf("postgres: mark paid: %w", err)
		}
		log.SentToProlific = log.SentToProlific || onProlific
		_, err = logReview(ctx, tx, studyID, study.MarkPaid, nil, &number, log)
		return err
	})
}

// ReviewAction is a logged review.
type ReviewAction struct {
	ID             int64
	Action         Action
	Participants   []uuid.UUID
	PIDs           []string // of the first few participants
	Batch          int      // for a mark-paid
	SentToProlific bool
	At             time.Time
	Undone         bool
}

// UndoableReviews lists the study's reviews that may still be undone at now
// (study.MayUndo), newest first.
func (s *Store) UndoableReviews(ctx context.Context, studyID uuid.UUID, now time.Time) ([]ReviewAction, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.action, a.participant_ids, COALESCE(a.batch_number, 0), a.sent_to_prolific, a.at, a.undone_at IS NOT NULL,
			ARRAY(SELECT p.prolific_pid FROM participants p WHERE p.id = ANY(a.participant_ids[1:3]) ORDER BY p.prolific_pid)
		FROM review_actions a
		WHERE a.study_id = $1 AND a.at >= $2 AND a.undone_at IS NULL AND NOT a.sent_to_prolific
		ORDER BY a.at DESC, a.id DESC LIMIT 20`, studyID, now.Add(-study.UndoWindow))
	if err != nil {
		return nil, fmt.Errorf("postgres: recent reviews: %w", err)
	}
	all, err := pgx.CollectRows(rows, scanReviewAction)
	if err != nil {
		return nil, fmt.Errorf("postgres: recent reviews: %w", err)
	}
	out := all[:0]
	for _, a := range all {
		if study.MayUndo(a.Action, a.At, now, a.SentToProlific, a.Undone) == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

func scanReviewAction(row pgx.CollectableRow) (ReviewAction, error) {
	var a ReviewAction
	var act string
	err := row.Scan(&a.ID, &act, &a.Participants, &a.Batch, &a.SentToProlific, &a.At, &a.Undone, &a.PIDs)
	a.Action = Action(act)
	return a, err
}

// UndoReview takes back a logged review of the study at now, if study.MayUndo
// allows it: an approval goes back to completed (unless a bonus batch holds
// someone already), a return to started with the place and pool slots given
// back (unless someone took them meanwhile), a mark-paid to unpaid (unless
// the batch went to Prolific). All or nothing, in one transaction.
func (s *Store) UndoReview(ctx context.Context, studyID uuid.UUID, id int64, now time.Time) (ReviewAction, error) {
	var a ReviewAction
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT a.id, a.action, a.participant_ids, COALESCE(a.batch_number, 0), a.sent_to_prolific, a.at, a.undone_at IS NOT NULL,
				ARRAY(SELECT p.prolific_pid FROM participants p WHERE p.id = ANY(a.participant_ids[1:3]) ORDER BY p.prolific_pid)
			FROM review_actions a WHERE a.id = $1 AND a.study_id = $2 FOR UPDATE OF a`, id, studyID)
		if err != nil {
			return fmt.Errorf("postgres: undo: %w", err)
		}
		a, err = pgx.CollectExactlyOneRow(rows, scanReviewAction)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such action to undo in this study.")
		} else if err != nil {
			return fmt.Errorf("postgres: undo: %w", err)
		}
		if err := study.MayUndo(a.Action, a.At, now, a.SentToProlific, a.Undone); err != nil {
			return err
		}
		switch a.Action {
		case study.MarkPaid:
			if err := undoPaid(ctx, tx, studyID, a.Batch); err != nil {
				return err
			}
		case study.Approve:
			if err := undoApprove(ctx, tx, a.Participants); err != nil {
				return err
			}
		case study.MarkReturned:
			for _, p := range a.Participants {
				if err := undoReturn(ctx, tx, studyID, p); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE review_actions SET undone_at = $2 WHERE id = $1`, id, now); err != nil {
			return fmt.Errorf("postgres: undo: %w", err)
		}
		a.Undone = true
		return nil
	})
	return a, err
}

func undoPaid(ctx context.Context, tx pgx.Tx, studyID uuid.UUID, number int) error {
	tag, err := tx.Exec(ctx, `UPDATE bonus_batches SET paid_at = NULL
		WHERE study_id = $1 AND number = $2 AND prolific_state = '' AND paid_at IS NOT NULL`, studyID, number)
	if err != nil {
		return fmt.Errorf("postgres: undo paid: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return problem.Errorf(problem.ECONFLICT, "Bonus batch %d is being paid through Prolific: it cannot be marked unpaid.", number)
	}
	return nil
}

func undoApprove(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) error {
	from, to, _ := study.Approve.UndoMove()
	var inBatch int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM bonus_batch_items WHERE participant_id = ANY($1)`, ids).Scan(&inBatch); err != nil {
		return fmt.Errorf("postgres: undo approve: %w", err)
	}
	if inBatch > 0 {
		return problem.Errorf(problem.ECONFLICT, "%d of them are in a bonus batch already: the approval cannot be undone.", inBatch)
	}
	tag, err := tx.Exec(ctx, `UPDATE participants SET status = $2, status_reason = '', status_changed_at = now()
		WHERE id = ANY($1) AND status = $3`, ids, string(to), string(from))
	if err != nil {
		return fmt.Errorf("postgres: undo approve: %w", err)
	}
	if int(tag.RowsAffected()) != len(ids) {
		return problem.Errorf(problem.ECONFLICT, "Some of them are no longer %s (Prolific may have changed them): nothing was undone.", from)
	}
	return nil
}

// undoReturn makes a returned participant started again: they take a place
// and, in a pool study, a slot of each of their items back, or the undo is
// refused when someone else has them now.
func undoReturn(ctx context.Context, tx pgx.Tx, studyID, participantID uuid.UUID) error {
	from, to, _ := study.MarkReturned.UndoMove()
	var design string
	var pid string
	err := tx.QueryRow(ctx, `SELECT st.design, p.prolific_pid FROM participants p JOIN studies st ON st.id = p.study_id
		WHERE p.id = $1 AND p.study_id = $2 AND p.status = $3 FOR UPDATE OF p`, participantID, studyID, string(from)).Scan(&design, &pid)
	if err == pgx.ErrNoRows {
		return problem.Errorf(problem.ECONFLICT, "The participant is no longer %s: nothing was undone.", from)
	} else if err != nil {
		return fmt.Errorf("postgres: undo return: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('cubelab join ' || $1::text, 0))`, studyID); err != nil {
		return fmt.Errorf("postgres: undo return: %w", err)
	}
	claim, ok, err := claimPlace(ctx, tx, study.Study{ID: studyID})
	if err != nil {
		return err
	}
	if !ok {
		return problem.Errorf(problem.ECONFLICT, "%s's place was taken by someone else: the return cannot be undone.", pid)
	}
	if _, err := tx.Exec(ctx, `UPDATE participants SET status = $2, status_reason = '', status_changed_at = now(), place_shard = $3
		WHERE id = $1`, participantID, string(to), claim.shard); err != nil {
		return fmt.Errorf("postgres: undo return: %w", err)
	}
	if design != string(study.Pool) {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT stimulus_id FROM trials
		WHERE participant_id = $1 AND NOT is_attention_check ORDER BY position`, participantID)
	if err != nil {
		return fmt.Errorf("postgres: undo return: %w", err)
	}
	items, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("postgres: undo return: %w", err)
	}
	for _, item := range items {
		tag, err := tx.Exec(ctx, `UPDATE pool_slots SET participant_id = $3
			WHERE study_id = $1 AND stimulus_id = $2 AND replica = (SELECT f.replica FROM pool_slots f
				WHERE f.study_id = $1 AND f.stimulus_id = $2 AND f.participant_id IS NULL ORDER BY f.replica LIMIT 1 FOR UPDATE)`,
			studyID, item, participantID)
		if err != nil {
			return fmt.Errorf("postgres: undo return: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return problem.Errorf(problem.ECONFLICT, "%s's items went to someone else: the return cannot be undone.", pid)
		}
	}
	return nil
}
