package postgres

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// BonusBatch is one "Export bonuses": a numbered set of bonus lines.
type BonusBatch struct {
	Number      int
	CreatedAt   time.Time
	PaidAt      *time.Time
	People      int
	AmountMinor int64
}

// CreateBonusBatch puts every approved participant of the study with a bonus
// above zero who is in no batch yet into a new batch, numbered one more than
// the last, and returns its number. Nobody is ever in two batches:
// bonus_batch_items.participant_id is UNIQUE, and concurrent exports of one
// study are ordered by a lock on the study row, so the second one's insert
// (a later statement, hence a later snapshot) sees the first one's items and
// leaves those participants out. With nobody to pay it creates nothing and
// returns an ECONFLICT error.
func (s *Store) CreateBonusBatch(ctx context.Context, studyID uuid.UUID) (int, error) {
	var number int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT 1 FROM studies WHERE id = $1 FOR UPDATE`, studyID).Scan(new(int)); err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: lock study: %w", err)
		}
		var batchID uuid.UUID
		err := tx.QueryRow(ctx, `
			INSERT INTO bonus_batches (study_id, number)
			SELECT $1, COALESCE(max(number), 0) + 1 FROM bonus_batches WHERE study_id = $1
			RETURNING id, number`, studyID).Scan(&batchID, &number)
		if err != nil {
			return fmt.Errorf("postgres: new bonus batch: %w", err)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO bonus_batch_items (batch_id, participant_id, amount_minor)
			SELECT $2, p.id, p.bonus_minor FROM participants p
			WHERE p.study_id = $1 AND `+statusIn("p.status", study.BonusStatuses()...)+` AND p.bonus_minor > 0
			  AND NOT EXISTS (SELECT 1 FROM bonus_batch_items bi WHERE bi.participant_id = p.id)`, studyID, batchID)
		if err != nil {
			return fmt.Errorf("postgres: bonus batch items: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return problem.Errorf(problem.ECONFLICT, "Nobody is owed a bonus that is not already in a batch: approve completed participants first.")
		}
		return nil
	})
	return number, err
}

// BonusBatches lists a study's batches, newest first.
func (s *Store) BonusBatches(ctx context.Context, studyID uuid.UUID) ([]BonusBatch, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT b.number, b.created_at, b.paid_at, count(bi.participant_id), COALESCE(sum(bi.amount_minor), 0)::bigint
		FROM bonus_batches b LEFT JOIN bonus_batch_items bi ON bi.batch_id = b.id
		WHERE b.study_id = $1 GROUP BY b.id ORDER BY b.number DESC`, studyID)
	if err != nil {
		return nil, fmt.Errorf("postgres: bonus batches: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BonusBatch, error) {
		var b BonusBatch
		return b, r.Scan(&b.Number, &b.CreatedAt, &b.PaidAt, &b.People, &b.AmountMinor)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: bonus batches: %w", err)
	}
	return out, nil
}

// BonusLines returns the lines of one batch, by Prolific id.
func (s *Store) BonusLines(ctx context.Context, studyID uuid.UUID, number int) ([]prolific.BonusLine, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bonus_batches WHERE study_id = $1 AND number = $2)`,
		studyID, number).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres: bonus batch: %w", err)
	}
	if !exists {
		return nil, problem.Errorf(problem.ENOTFOUND, "There is no bonus batch %d.", number)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT p.prolific_pid, bi.amount_minor
		FROM bonus_batches b JOIN bonus_batch_items bi ON bi.batch_id = b.id JOIN participants p ON p.id = bi.participant_id
		WHERE b.study_id = $1 AND b.number = $2 ORDER BY p.prolific_pid`, studyID, number)
	if err != nil {
		return nil, fmt.Errorf("postgres: bonus lines: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (prolific.BonusLine, error) {
		var l prolific.BonusLine
		return l, r.Scan(&l.PID, &l.AmountMinor)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: bonus lines: %w", err)
	}
	return out, nil
}

// MarkBatchPaid records that a batch was paid on Prolific; marking it again
// keeps the first time.
func (s *Store) MarkBatchPaid(ctx context.Context, studyID uuid.UUID, number int) error {
	tag, err := s.pool.Exec(ctx, `UPDATE bonus_batches SET paid_at = COALESCE(paid_at, now())
		WHERE study_id = $1 AND number = $2`, studyID, number)
	if err != nil {
		return fmt.Errorf("postgres: mark paid: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return problem.Errorf(problem.ENOTFOUND, "There is no bonus batch %d.", number)
	}
	return nil
}

// flushEvery is how many CSV rows are buffered before they go to the client.
const flushEvery = 500

// writeCSVRows writes header and then one record per row, flushing every
// flushEvery rows so a large export reaches the client while it is read and
// memory does not grow with the study. fill scans the current row into rec,
// which is reused from row to row and has the header's length.
func writeCSVRows(w io.Writer, rows pgx.Rows, header []string, fill func(rec []string) error) error {
	cw := csvout.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	for n := 1; rows.Next(); n++ {
		if err := fill(rec); err != nil {
			return err
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n%flushEvery == 0 {
			if cw.Flush(); cw.Error() != nil {
				return cw.Error()
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// AnswersHeader is the header of the answers CSV: the ids every download
// shares (participant_id is the Prolific PID, stimulus_id the manifest id,
// stimulus_uuid the database's id), then the answer and its times, then
// the evidence kept with it (issue 10): timing is "script" when the page
// measured the time and "none" for a plain form without JavaScript;
// image_served_ms is the server time from the picture's first serving to the
// answer, empty when it was never served; flags are space-separated
// (study.Flags). The participant's device (study.Device) closes each row:
// device is its kind, screen and viewport WxH in CSS pixels, all empty
// before it was recorded; yes_side is the side of the participant's Yes
// button (left or right, counterbalanced). check_kind is the attention
// check's kind (item or instructed, empty for an ordinary trial); an
// instructed check's correct_answer is the one its prompt asked for,
// repeated in instructed_answer. practice marks a practice trial's answer
// (position is then its place among the practice trials): those come
// first and count in nothing.
func AnswersHeader() []string {
	return []string{"participant_id", "study", "set", "status", "position", "stimulus_id", "stimulus_uuid", "domain", "size",
		"attention_check", "answer", "correct_answer", "correct", "browser_rt_ms", "server_rt_ms", "shown_at", "answered_at",
		"timing", "image_served_ms", "shows", "page_hidden", "image_px", "flags",
		"device", "screen", "viewport", "dpr", "pointer", "user_agent", "yes_side", "check_kind", "instructed_answer", "practice"}
}

// WriteAnswersCSV streams every answer of the study as a tidy CSV, one row
// per answer, rows written as they arrive from the database: memory does not
// grow with the study. Times are RFC 3339 in UTC with milliseconds.
func (s *Store) WriteAnswersCSV(ctx context.Context, studyID uuid.UUID, w io.Writer) error {
	// Practice answers (practice_trials) come first for each participant,
	// marked practice: they are kept apart from the answers and count in
	// nothing, but the download shows everything the participant did.
	rows, err := s.pool.Query(ctx, `
		WITH mine AS (SELECT id FROM participants WHERE study_id = $1),
		a AS (
			SELECT r.participant_id, false AS practice, r.position, t.stimulus_id, t.is_attention_check, t.instructed_answer,
				r.answer, r.correct, r.browser_rt_ms, r.server_rt_ms, t.shown_at, r.answered_at,
				r.timed, r.image_ms, r.shows, r.page_hidden, r.image_px, r.flags
			FROM responses r JOIN trials t ON t.participant_id = r.participant_id AND t.position = r.position
			WHERE r.participant_id IN (SELECT id FROM mine)
			UNION ALL
			SELECT pt.participant_id, true, pt.position, pt.stimulus_id, false, NULL,
				pt.answer, pt.correct, pt.browser_rt_ms,
				GREATEST(0, round(extract(epoch FROM pt.answered_at - pt.shown_at) * 1000))::int, pt.shown_at, pt.answered_at,
				pt.timed, CASE WHEN pt.image_served_at IS NOT NULL THEN
					GREATEST(0, round(extract(epoch FROM pt.answered_at - pt.image_served_at) * 1000))::int END,
				NULL, NULL, NULL, '{}'::text[]
			FROM practice_trials pt
			WHERE pt.participant_id IN (SELECT id FROM mine) AND pt.answer IS NOT NULL
		)
		SELECT p.prolific_pid, st.slug, ss.name, p.status, a.position, s.ext_id, s.id, s.domain, s.size, a.is_attention_check,
			a.answer, COALESCE(a.instructed_answer, s.answer), a.correct, a.browser_rt_ms, a.server_rt_ms, a.shown_at, a.answered_at,
			a.timed, a.image_ms, a.shows, a.page_hidden, a.image_px, array_to_string(a.flags, ' '), `+deviceColumns+`, p.yes_side,
			COALESCE(a.instructed_answer, ''), a.practice
		FROM participants p
		JOIN studies st ON st.id = p.study_id
		LEFT JOIN participant_devices d ON d.participant_id = p.id
		JOIN a ON a.participant_id = p.id
		JOIN stimuli s ON s.id = a.stimulus_id
		JOIN stimulus_sets ss ON ss.id = s.set_id
		WHERE p.study_id = $1
		ORDER BY p.started_at, p.id, a.practice DESC, a.position`, studyID)
	if err != nil {
		return fmt.Errorf("postgres: answers csv: %w", err)
	}
	defer rows.Close()
	err = writeCSVRows(w, rows, AnswersHeader(), func(rec []string) error {
		var pid, slug, set, status, ext, domain, answer, truth string
		var sid uuid.UUID
		var pos, size, serverRT int
		var check, correct bool
		var browserRT *int
		var shown *time.Time
		var answered time.Time
		var timed, hidden *bool
		var imageMs, shows, px *int
		var flags string
		var dev study.Device
		var side, instructed string
		var practice bool
		if err := rows.Scan(append([]any{&pid, &slug, &set, &status, &pos, &ext, &sid, &domain, &size, &check, &answer, &truth, &correct,
			&browserRT, &serverRT, &shown, &answered, &timed, &imageMs, &shows, &hidden, &px, &flags}, append(deviceTargets(&dev), &side, &instructed, &practice)...)...); err != nil {
			return err
		}
		timing, pageHidden := "", ""
		if timed != nil {
			timing = map[bool]string{true: "script", false: "none"}[*timed]
		}
		if hidden != nil {
			pageHidden = strconv.FormatBool(*hidden)
		}
		rec = append(rec[:0], pid, slug, set, status, strconv.Itoa(pos), ext, sid.String(), domain, strconv.Itoa(size),
			strconv.FormatBool(check), answer, truth, strconv.FormatBool(correct), "", strconv.Itoa(serverRT), "",
			answered.UTC().Format(timeFormat), timing, optInt(imageMs), optInt(shows), pageHidden, optInt(px), flags,
			dev.Kind, sides(dev.ScreenW, dev.ScreenH), sides(dev.ViewportW, dev.ViewportH), "", dev.Pointer, dev.UserAgent, side,
			string(study.KindOf(check, instructed)), instructed, strconv.FormatBool(practice))
		if dev.DPR > 0 {
			rec[26] = strconv.FormatFloat(dev.DPR, 'f', -1, 32)
		}
		if browserRT != nil {
			rec[13] = strconv.Itoa(*browserRT)
		}
		if shown != nil {
			rec[15] = shown.UTC().Format(timeFormat)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: answers csv: %w", err)
	}
	return nil
}

// sides writes a width and height as WxH, "" when unknown.
func sides(w, h int) string {
	if w == 0 || h == 0 {
		return ""
	}
	return strconv.Itoa(w) + "x" + strconv.Itoa(h)
}

// optInt writes a number that may be absent, "" for none.
func optInt(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

// timeFormat is RFC 3339 with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// BonusWaiting counts the approved participants with a bonus above zero who
// are in no batch yet, and sums their bonuses: the next export.
func (s *Store) BonusWaiting(ctx context.Context, studyID uuid.UUID) (n int, sumMinor int64, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT count(*), COALESCE(sum(p.bonus_minor), 0)::bigint FROM participants p
		WHERE p.study_id = $1 AND `+statusIn("p.status", study.BonusStatuses()...)+` AND p.bonus_minor > 0
		  AND NOT EXISTS (SELECT 1 FROM bonus_batch_items bi WHERE bi.participant_id = p.id)`, studyID).Scan(&n, &sumMinor)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: bonus waiting: %w", err)
	}
	return n, sumMinor, nil
}
