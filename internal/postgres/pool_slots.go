package postgres

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// The pool design: how K items per participant add up to exactly R answers
// per item, whatever the concurrency.
//
//   - Publishing makes R rows in pool_slots per item, (study, stimulus,
//     replica). A slot row has one participant column, so no slot can be held
//     twice, and an item has only R rows, so it can never be answered more
//     than R times: the bound is in the shape of the data, not in the code.
//   - A join claims K free slots of distinct items inside the join's
//     transaction with SELECT ... FOR UPDATE SKIP LOCKED. Each candidate row
//     is locked as it is read; a row that another transaction holds locked
//     (being claimed by a concurrent join, or being freed) is skipped, not
//     waited for, so two joins can never take the same slot and neither
//     blocks on the other. A claimed row is then written with the new
//     participant's id in the same transaction; if the join fails, the
//     rollback leaves the slots free. A join that comes up short because
//     the rows it skipped are held by joins still in flight waits for them
//     instead (see study_places.go), so a participant gets K items whenever
//     K items have a free slot.
//   - Returning, timing out or being rejected changes the participant's row
//     first, which locks it and makes the answer statement, which only writes
//     for a participant still 'started', record nothing more. A second
//     statement of the same transaction frees all the participant's slots,
//     answered ones too: only the answers of participants who finished count
//     (see counted), so an item answered by someone who left still needs
//     that answer from someone else. A slot is thus held either by a
//     participant still at work or by one whose answer counts, and an item
//     ends with exactly R answers that count.

// createPoolSlots makes R slots for each of the study's items (R_max in an
// adaptive pool).
func createPoolSlots(ctx context.Context, tx pgx.Tx, st study.Study, items []uuid.UUID) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO pool_slots (study_id, stimulus_id, replica)
		SELECT $1, i.id, r FROM unnest($2::uuid[]) AS i(id), generate_series(1, $3::int) AS r
		ON CONFLICT DO NOTHING`, st.ID, items, st.SlotsPerItem())
	if err != nil {
		return fmt.Errorf("postgres: pool slots: %w", err)
	}
	// Fresh statistics, so the first joins' claims are planned on the index
	// they need rather than on an estimate of an empty table.
	if _, err := tx.Exec(ctx, `ANALYZE pool_slots`); err != nil {
		return fmt.Errorf("postgres: analyze pool slots: %w", err)
	}
	return nil
}

// poolClaim is the slots a join has locked but not yet written: their items,
// and their rows' physical addresses, which cannot change while the rows
// are locked.
type poolClaim struct {
	studyID uuid.UUID
	stimuli []uuid.UUID
	rows    []pgtype.TID
	// firstReplicas is R (R_min in an adaptive pool): lockFreeSlots and
	// lockRest claim no replica above it.
	firstReplicas int
}

// lockFreeSlots locks up to K free slots of distinct items, lowest replica
// first (every item's first answer before any item's second), skipping rows
// other transactions hold, and returns them. Only the lowest free replica of
// an item is a candidate, which keeps the items distinct; if another
// transaction holds it, the item is skipped for this claim. In an adaptive
// pool only the first R_min replicas are claimed this way; the extra ones
// go by disagreement (lockExtra).
func lockFreeSlots(ctx context.Context, tx pgx.Tx, st study.Study) (poolClaim, error) {
	c := poolClaim{studyID: st.ID, firstReplicas: st.FirstResponses()}
	rows, err := tx.Query(ctx, `
		SELECT ps.stimulus_id, ps.ctid FROM pool_slots ps
		WHERE ps.study_id = $1 AND ps.participant_id IS NULL AND ps.replica <= $3
		  AND ps.replica = (SELECT min(f.replica) FROM pool_slots f
			WHERE f.study_id = ps.study_id AND f.stimulus_id = ps.stimulus_id AND f.participant_id IS NULL)
		ORDER BY ps.replica, ps.stimulus_id
		LIMIT $2
		FOR UPDATE SKIP LOCKED`, st.ID, st.ItemsPerParticipant, c.firstReplicas)
	if err != nil {
		return c, fmt.Errorf("postgres: claim slots: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var tid pgtype.TID
		if err := rows.Scan(&id, &tid); err != nil {
			return c, fmt.Errorf("postgres: claim slots: %w", err)
		}
		c.stimuli, c.rows = append(c.stimuli, id), append(c.rows, tid)
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("postgres: claim slots: %w", err)
	}
	return c, nil
}

// lockRest completes a claim that came up short to k items, waiting for the
// rows other transactions hold: it locks every free slot of the items not
// yet claimed (a row taken meanwhile by a committed join drops out, one freed
// by a rollback comes in) and keeps each item's lowest replica, lowest
// replicas first. Only a join that came up short runs it, one at a time.
func (c *poolClaim) lockRest(ctx context.Context, tx pgx.Tx, k int) error {
	rows, err := tx.Query(ctx, `
		SELECT ps.stimulus_id, ps.ctid FROM pool_slots ps
		WHERE ps.study_id = $1 AND ps.participant_id IS NULL AND ps.stimulus_id <> ALL($2::uuid[]) AND ps.replica <= $3
		ORDER BY ps.replica, ps.stimulus_id
		FOR UPDATE`, c.studyID, c.stimuli, c.firstReplicas)
	if err != nil {
		return fmt.Errorf("postgres: claim slots: %w", err)
	}
	defer rows.Close()
	seen := make(map[uuid.UUID]bool)
	for rows.Next() {
		var id uuid.UUID
		var tid pgtype.TID
		if err := rows.Scan(&id, &tid); err != nil {
			return fmt.Errorf("postgres: claim slots: %w", err)
		}
		if len(c.stimuli) < k && !seen[id] {
			c.stimuli, c.rows = append(c.stimuli, id), append(c.rows, tid)
		}
		seen[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: claim slots: %w", err)
	}
	return nil
}

// lockExtra completes the claim of a join to an adaptive pool to k items
// with extra answers (replicas above R_min), by disagreement
// (study.Disagreement, repeated in the ORDER BY and held equal to it by
// TestExtraAnswersFollowStudy): among the items whose R_min slots are all held, those
// whose answers that count have the highest p(1-p) first, each item's
// lowest free replica, no more than the budget has left. It runs only
// under the study's join lock (claimWaiting), so that the extra answers
// held, counted here, cannot grow under it: the budget is exact however
// many joins arrive at once, and R_max per item holds by the slots'
// shape.
func (c *poolClaim) lockExtra(ctx context.Context, tx pgx.Tx, st study.Study, k int) error {
	if !st.Adaptive() || len(c.stimuli) >= k {
		return nil
	}
	var spent, items int
	if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE replica > $2 AND participant_id IS NOT NULL), count(*) FILTER (WHERE replica = 1)
		FROM pool_slots WHERE study_id = $1`, c.studyID, c.firstReplicas).Scan(&spent, &items); err != nil {
		return fmt.Errorf("postgres: extra answers spent: %w", err)
	}
	left := min(k-len(c.stimuli), st.ExtraAnswers(items)-spent)
	if left <= 0 {
		return nil
	}
	// One pass over the study's slots, each held one joined to its trial
	// and answer (an answer that counts always holds a slot), gives every
	// item's counts; the top items are chosen before their slot rows are
	// read and locked. Joining a separate aggregate of the answers instead
	// made the planner loop over it for every slot: 4.3 s a claim on a pool
	// of 10,000 items.
	rows, err := tx.Query(ctx, `
		WITH per_item AS (
			SELECT ps.stimulus_id, count(ps.participant_id) AS held,
				min(ps.replica) FILTER (WHERE ps.participant_id IS NULL AND ps.replica > $3) AS next,
				count(r.position) FILTER (WHERE `+counted("p.status")+`) AS n,
				count(r.position) FILTER (WHERE `+counted("p.status")+` AND r.answer = $5) AS yes
			FROM pool_slots ps
			`+slotAnswers+`
			WHERE ps.study_id = $1 AND ps.stimulus_id <> ALL(COALESCE($2::uuid[], '{}'))
			GROUP BY ps.stimulus_id
			HAVING bool_and(ps.replica > $3 OR ps.participant_id IS NOT NULL)
			   AND min(ps.replica) FILTER (WHERE ps.participant_id IS NULL AND ps.replica > $3) IS NOT NULL
		), top AS (
			SELECT stimulus_id, next, held, COALESCE(yes::float8 * (n - yes) / nullif(n * n, 0), 0) AS score
			FROM per_item ORDER BY score DESC, held, stimulus_id LIMIT $4
		)
		SELECT ps.stimulus_id, ps.ctid FROM top
		JOIN pool_slots ps ON ps.study_id = $1 AND ps.stimulus_id = top.stimulus_id AND ps.replica = top.next
		WHERE ps.participant_id IS NULL
		ORDER BY top.score DESC, top.held, top.stimulus_id
		FOR UPDATE OF ps`, c.studyID, c.stimuli, c.firstReplicas, left, task.Yes)
	if err != nil {
		return fmt.Errorf("postgres: claim extra answers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var tid pgtype.TID
		if err := rows.Scan(&id, &tid); err != nil {
			return fmt.Errorf("postgres: claim extra answers: %w", err)
		}
		c.stimuli, c.rows = append(c.stimuli, id), append(c.rows, tid)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: claim extra answers: %w", err)
	}
	return nil
}

// errNoSlots is the refusal when no item of a pool has a free slot. It says
// "every item has its answers" only when that is so: slots held by people
// still at work may come back (a return, a timeout).
func errNoSlots(ctx context.Context, tx pgx.Tx, studyID uuid.UUID) error {
	var working bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pool_slots ps JOIN participants p ON p.id = ps.participant_id
		WHERE ps.study_id = $1 AND p.status = `+sqlStarted+`)`, studyID).Scan(&working); err != nil {
		return fmt.Errorf("postgres: pool slots: %w", err)
	}
	if working {
		return problem.Errorf(problem.EGONE, "No places free right now: the items still needing answers are held by other participants "+
			"who are working on them. Please return the study on Prolific; places may open again later.")
	}
	return problem.Errorf(problem.EGONE, "No places left: every item of this study has all the answers it needs. Thank you for your interest; please return the study on Prolific.")
}

// CompleteAnsweredPools moves every published pool study whose every slot
// is answered by a participant who finished to Complete
// (study.Status.PoolComplete), logging it; it returns how many moved. The
// sweeper runs it, and an answer that completes a participant of a pool.
func (s *Store) CompleteAnsweredPools(ctx context.Context, studyID uuid.UUID) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			UPDATE studies st SET status = `+sqlComplete+`
			WHERE st.status = `+sqlPublished+` AND st.design = $2
			  AND ($1 = '00000000-0000-0000-0000-000000000000'::uuid OR st.id = $1)
			  AND EXISTS (SELECT 1 FROM pool_slots ps WHERE ps.study_id = st.id)
			  -- Plain: every slot answered. Adaptive: every slot of the first
			  -- R_min and every slot held answered, and as many held as the
			  -- budget (or the slots) allow.
			  AND NOT EXISTS (SELECT 1 FROM pool_slots ps LEFT JOIN participants p ON p.id = ps.participant_id
				WHERE ps.study_id = st.id AND (p.id IS NULL OR NOT `+counted("p.status")+`)
				  AND (st.max_responses_per_item IS NULL OR ps.replica <= st.responses_per_item OR ps.participant_id IS NOT NULL))
			  AND (st.max_responses_per_item IS NULL OR (SELECT count(ps.participant_id) >= LEAST(st.answer_budget, count(*))
				FROM pool_slots ps WHERE ps.study_id = st.id))
			RETURNING st.id`, studyID, string(study.Pool))
		if err != nil {
			return fmt.Errorf("postgres: complete pools: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("postgres: complete pools: %w", err)
		}
		for _, id := range ids {
			if err := logChange(ctx, tx, id, 0, "", "status "+string(study.Published)+" → "+string(study.Complete)+": every slot is answered"); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// freeSlots gives back the participants' places and every slot of theirs,
// answered or not, and returns the number of slots. It is the one release
// path of a study: it must run in the transaction that takes the
// participants out of 'started' or 'completed' into returned, timed out or
// rejected, after the statement that does (see the comment at the top of
// this file). Giving back twice changes nothing.
func freeSlots(ctx context.Context, tx pgx.Tx, participantIDs []uuid.UUID) (int64, error) {
	if err := releasePlaces(ctx, tx, participantIDs); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `UPDATE pool_slots SET participant_id = NULL WHERE participant_id = ANY($1)`, participantIDs)
	if err != nil {
		return 0, fmt.Errorf("postgres: free slots: %w", err)
	}
	return tag.RowsAffected(), nil
}

// slotAnswers joins a pool's slots (ps) to their holder (p), the holder's
// trial of the slot's item (t) and its answer (r), for counting an item's
// answers. The item's own trial only: an instructed check showing the same
// picture is no judgement of it.
const slotAnswers = `LEFT JOIN participants p ON p.id = ps.participant_id
	LEFT JOIN trials t ON t.participant_id = ps.participant_id AND t.stimulus_id = ps.stimulus_id AND t.instructed_answer IS NULL
	LEFT JOIN responses r ON r.participant_id = t.participant_id AND r.position = t.position`

// counted is the SQL condition, on the status column col of participants,
// under which a participant's answers count: in analyses, exports and a
// pool's answers per item alike. Those who finished (study.FinishedStatuses:
// completed, then approved) count; the started may still leave, and the
// answers of the returned, timed out and rejected are left out everywhere.
func counted(col string) string { return statusIn(col, study.FinishedStatuses()...) }

// Action is what an experimenter does to a participant; the rules of each
// (from which statuses, to which, with a reason or not) are study's.
type Action = study.Action

// Actions on a participant (study.MarkReturned and its kin).
const (
	MarkReturned = study.MarkReturned
	Reject       = study.Reject
	Approve      = study.Approve
)

// ActOnParticipant applies an action to a participant of the study, with a
// reason for a rejection; returning and rejecting free all the participant's
// pool slots in the same transaction.
func (s *Store) ActOnParticipant(ctx context.Context, studyID, participantID uuid.UUID, a Action, reason string) error {
	if err := checkAction(a, reason); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error { return actOn(ctx, tx, studyID, participantID, a, reason) })
}

// checkAction refuses an unknown action, or a rejection without a reason.
func checkAction(a Action, reason string) error {
	if !a.Known() {
		return problem.Errorf(problem.EINVALID, "Unknown action %q.", a)
	}
	if a.NeedsReason() && reason == "" {
		return problem.Errorf(problem.EINVALID, "A rejection needs a reason: Prolific shows it to the participant.")
	}
	return nil
}

// actOn is ActOnParticipant in tx, the action checked already.
func actOn(ctx context.Context, tx pgx.Tx, studyID, participantID uuid.UUID, a Action, reason string) error {
	from, to := statusTexts(a.From()), a.To()
	var cur study.ParticipantStatus
	err := tx.QueryRow(ctx, `SELECT status FROM participants WHERE id = $1 AND study_id = $2 FOR UPDATE`,
		participantID, studyID).Scan(&cur)
	if err == pgx.ErrNoRows {
		return problem.Errorf(problem.ENOTFOUND, "There is no such participant in this study.")
	} else if err != nil {
		return fmt.Errorf("postgres: participant: %w", err)
	}
	tag, err := tx.Exec(ctx, `UPDATE participants SET status = $2, status_reason = $3, status_changed_at = now()
		WHERE id = $1 AND status = ANY($4)`, participantID, string(to), reason, from)
	if err != nil {
		return fmt.Errorf("postgres: participant status: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return problem.Errorf(problem.ECONFLICT, "A participant who is %s cannot be %s.", cur, to)
	}
	if !a.FreesPlace() {
		return nil
	}
	_, err = freeSlots(ctx, tx, []uuid.UUID{participantID})
	return err
}

// DeclineConsent marks a participant who declines consent as returned and
// frees their pool slots in the same transaction, so that their items and
// their place go to someone else at once rather than at the time limit. Only
// a started participant who has not consented can decline; for anyone else
// it changes nothing.
func (s *Store) DeclineConsent(ctx context.Context, participantID uuid.UUID) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE participants SET status = `+sqlReturned+`, status_reason = 'declined consent',
				status_changed_at = now()
			WHERE id = $1 AND status = `+sqlStarted+` AND consented_at IS NULL`, participantID)
		if err != nil {
			return fmt.Errorf("postgres: decline consent: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		_, err = freeSlots(ctx, tx, []uuid.UUID{participantID})
		return err
	})
}

// SweepTimeouts marks every started participant past their study's time
// limit as timed out and frees their slots. It is idempotent and
// safe to run from several processes at once: it takes only rows still
// 'started', and skips rows another sweep or an answer holds locked (they
// are taken by that sweep, or by the next one).
func (s *Store) SweepTimeouts(ctx context.Context) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = sweepTimeouts(ctx, tx, uuid.Nil)
		return err
	})
	return n, err
}

// sweepTimeouts is SweepTimeouts in tx, for one study or (uuid.Nil) all.
// The rows are locked by a SELECT first and updated by id: written as one
// UPDATE .. WHERE id IN (SELECT .. FOR UPDATE SKIP LOCKED), the plan grew
// with the square of the started participants.
func sweepTimeouts(ctx context.Context, tx pgx.Tx, studyID uuid.UUID) (int, error) {
	rows, err := tx.Query(ctx, `
		SELECT p.id FROM participants p JOIN studies st ON st.id = p.study_id
		WHERE p.status = `+sqlStarted+` AND ($1 = '00000000-0000-0000-0000-000000000000'::uuid OR p.study_id = $1)
		  AND p.started_at < now() - st.time_limit_minutes * interval '1 minute'
		FOR UPDATE OF p SKIP LOCKED`, studyID)
	if err != nil {
		return 0, fmt.Errorf("postgres: sweep: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return 0, fmt.Errorf("postgres: sweep: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE participants SET status = `+sqlTimedOut+`, status_changed_at = now()
		WHERE id = ANY($1) AND status = `+sqlStarted, ids); err != nil {
		return 0, fmt.Errorf("postgres: sweep: %w", err)
	}
	if _, err := freeSlots(ctx, tx, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// RunSweeper sweeps timeouts every interval until ctx ends, logging errors
// through report (a failed sweep is retried at the next tick).
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration, report func(n int, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.SweepTimeouts(ctx)
		if err == nil {
			var m int
			m, err = s.ReleaseReservations(ctx, uuid.Nil, time.Now())
			n += m
		}
		if err == nil {
			_, err = s.CompleteAnsweredPools(ctx, uuid.Nil)
		}
		if report != nil && (n > 0 || err != nil) && ctx.Err() == nil {
			report(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PoolCounts is the state of a pool study's slots.
type PoolCounts struct {
	Items     int
	Slots     int
	Held      int   // slots with a participant
	Working   int   // slots held by participants still at work (started)
	Free      int   // slots with no participant: answers still needed
	Answered  int   // slots whose trial has an answer that counts
	ByAnswers []int // ByAnswers[n] = items with n answers that count, n = 0..R
}

// PoolState counts a pool study's slots and answers per item; an answer
// counts once its participant has finished (see counted).
func (s *Store) PoolState(ctx context.Context, st study.Study) (PoolCounts, error) {
	c := PoolCounts{ByAnswers: make([]int, st.SlotsPerItem()+1)}
	rows, err := s.pool.Query(ctx, `
		WITH per_item AS (
			SELECT ps.stimulus_id, count(*) AS slots, count(ps.participant_id) AS held,
				count(*) FILTER (WHERE p.status = `+sqlStarted+`) AS working,
				count(r.position) FILTER (WHERE `+counted("p.status")+`) AS answered
			FROM pool_slots ps
			`+slotAnswers+`
			WHERE ps.study_id = $1
			GROUP BY ps.stimulus_id
		)
		SELECT answered, count(*), sum(slots)::bigint, sum(held)::bigint, sum(working)::bigint FROM per_item GROUP BY answered ORDER BY answered`, st.ID)
	if err != nil {
		return c, fmt.Errorf("postgres: pool counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var answered, items, slots, held, working int
		if err := rows.Scan(&answered, &items, &slots, &held, &working); err != nil {
			return c, fmt.Errorf("postgres: pool counts: %w", err)
		}
		c.Items += items
		c.Slots += slots
		c.Held += held
		c.Working += working
		c.Free += slots - held
		c.Answered += answered * items
		if answered < len(c.ByAnswers) {
			c.ByAnswers[answered] += items
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("postgres: pool counts: %w", err)
	}
	if st.Adaptive() {
		// The slots an adaptive pool fills are its budget's, not all of its
		// items x R_max.
		c.Slots = st.PoolAnswers(c.Items)
		c.Free = max(c.Slots-c.Held, 0)
	}
	return c, nil
}

// Totals are a study's figures for the experimenter.
type Totals struct {
	Started        int
	Completed      int // completed or approved
	AwaitingReview int // finished, not yet approved or rejected (study.Approve.From)
	Approved       int
	Returned       int
	TimedOut       int
	Rejected       int
	MedianDuration time.Duration // of completed participants; 0 when none
	CommittedMinor int64         // base pay and bonus of completed and approved participants
}

// StudyTotals counts a study's participants and sums what is owed.
func (s *Store) StudyTotals(ctx context.Context, st study.Study) (Totals, error) {
	var t Totals
	var medianSeconds float64
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE status = `+sqlStarted+`),
			count(*) FILTER (WHERE `+counted("status")+`),
			count(*) FILTER (WHERE status = `+sqlReturned+`),
			count(*) FILTER (WHERE status = `+sqlTimedOut+`),
			count(*) FILTER (WHERE status = `+sqlRejected+`),
			COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at))
				FILTER (WHERE `+counted("status")+`), 0),
			COALESCE(sum($2::bigint + bonus_minor) FILTER (WHERE `+counted("status")+`), 0)::bigint,
			count(*) FILTER (WHERE `+statusIn("status", study.Approve.From()...)+`),
			count(*) FILTER (WHERE status = `+sqlText(study.Approve.To())+`)
		FROM participants WHERE study_id = $1`, st.ID, st.Pay.BaseMinor).
		Scan(&t.Started, &t.Completed, &t.Returned, &t.TimedOut, &t.Rejected, &medianSeconds, &t.CommittedMinor,
			&t.AwaitingReview, &t.Approved)
	if err != nil {
		return t, fmt.Errorf("postgres: totals: %w", err)
	}
	t.MedianDuration = time.Duration(medianSeconds * float64(time.Second)).Round(time.Second)
	return t, nil
}

// WriteItemCountsCSV streams one line per item of a pool study: its slots,
// how many are held, and its answers, correct answers and "Yes" answers that
// count (see counted).
func (s *Store) WriteItemCountsCSV(ctx context.Context, studyID uuid.UUID, w io.Writer) error {
	rows, err := s.pool.Query(ctx, `
		SELECT s.ext_id, s.size, s.answer, count(*), count(ps.participant_id),
			count(r.position) FILTER (WHERE `+counted("p.status")+`),
			count(*) FILTER (WHERE r.correct AND `+counted("p.status")+`),
			count(*) FILTER (WHERE r.answer = 'Yes' AND `+counted("p.status")+`)
		FROM pool_slots ps
		JOIN stimuli s ON s.id = ps.stimulus_id
		`+slotAnswers+`
		WHERE ps.study_id = $1
		GROUP BY s.ext_id, s.size, s.answer ORDER BY s.ext_id`, studyID)
	if err != nil {
		return fmt.Errorf("postgres: item counts: %w", err)
	}
	defer rows.Close()
	header := []string{"stimulus_id", "size", "correct_answer", "slots", "held", "answers", "correct", "yes"}
	err = writeCSVRows(w, rows, header, func(rec []string) error {
		var ext, answer string
		var size, slots, held, answers, correct, yes int
		if err := rows.Scan(&ext, &size, &answer, &slots, &held, &answers, &correct, &yes); err != nil {
			return err
		}
		rec[0], rec[1], rec[2] = ext, strconv.Itoa(size), answer
		for i, v := range []int{slots, held, answers, correct, yes} {
			rec[3+i] = strconv.Itoa(v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: item counts: %w", err)
	}
	return nil
}
