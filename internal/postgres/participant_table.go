package postgres

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/csvout"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// ParticipantRecord is one participant as the participants table (CSV and
// "server analyze") shows them: who, how far, how well, what the exclusion
// rule looks at, and what they are owed.
type ParticipantRecord struct {
	ID           uuid.UUID
	PID          string // Prolific PID: participant_id in every download
	Study        string // study slug
	Set          string // stimulus set name
	Status       study.ParticipantStatus
	StatusReason string // the experimenter's reason for a rejection
	StartedAt    time.Time
	CompletedAt  *time.Time
	Duration     time.Duration // to completion, the last status change, or now
	Trials       int
	Answered     int // every answer, attention checks included
	Counted      int // answers that are not attention checks
	Correct      int // correct answers that are not attention checks
	Checks       int // attention checks answered
	CheckFails   int // attention checks answered wrongly
	// InstructedFails are the wrong answers to instructed-response checks,
	// the only failed checks Prolific lets a researcher reject on.
	InstructedFails int
	// Practice trials: how many, answered, answered right (they count in
	// nothing else).
	Practice, PracticeAnswered, PracticeCorrect int
	LongestRun                                  int        // longest run of identical answers in trial order
	Flagged                                     int        // answers flagged on the trial page (any flag)
	FlagCounts                                  []int      // answers with each flag, in study.Flags order
	Device                                      string     // device kind (study.DeviceKinds); "" when unrecorded
	Pointer                                     string     // the page's pointer type; "" when unrecorded
	Screen                                      string     // screen size in CSS px, "WxH"; "" when unknown
	Viewport                                    string     // window size in CSS px, "WxH"; "" when unknown
	YesSide                                     study.Side // where the Yes button was (counterbalanced)
	Age                                         *int
	Gender                                      string
	Currency                                    string
	BaseMinor                                   int64 // owed once completed or approved
	BonusMinor                                  int64 // owed once completed or approved
	Batch                                       int   // bonus batch holding them, 0 for none
	Paid                                        bool
	// Excluded lists why the exclusion rule leaves a finished participant out;
	// empty when they count (or never could: unfinished and rejected people
	// are left out by their status, which Status says).
	Excluded []string
}

// Facts are what the exclusion rule looks at.
func (r *ParticipantRecord) Facts() study.ParticipantFacts {
	return study.ParticipantFacts{FailedChecks: r.CheckFails, FailedInstructed: r.InstructedFails, Answers: r.Answered, Flagged: r.Flagged,
		LongestRun: r.LongestRun, Device: r.Device}
}

// Counts reports whether the participant's answers go into analyses and exports:
// finished, not rejected, and not excluded by the rule.
func (r *ParticipantRecord) Counts() bool { return r.Status.Finished() && len(r.Excluded) == 0 }

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// eachParticipant streams the participants of the studies in the order they
// started, with the rule's verdict on each finished one.
func eachParticipant(ctx context.Context, q querier, studyIDs []uuid.UUID, rule study.Exclusion, fn func(*ParticipantRecord) error) error {
	return eachParticipantOf(ctx, q, studyIDs, nil, rule, fn)
}

// eachParticipantOf is eachParticipant for the participants in only (nil:
// every participant of the studies).
func eachParticipantOf(ctx context.Context, q querier, studyIDs, only []uuid.UUID, rule study.Exclusion, fn func(*ParticipantRecord) error) error {
	// The longest run is a gaps-and-islands count: within one answer, trial
	// positions minus their rank are constant along a run.
	// Per flag, the answers carrying it: one count per study.Flags entry, so
	// the flags' names come from study alone, counted in the same pass over
	// the participant's answers as the rest (c).
	var flagCounts, flagCols []string
	for i, f := range study.Flags() {
		flagCounts = append(flagCounts, fmt.Sprintf("count(*) FILTER (WHERE '%s' = ANY(r.flags)) AS flag%d", f, i))
		flagCols = append(flagCols, fmt.Sprintf("c.flag%d", i))
	}
	rows, err := q.Query(ctx, `
		SELECT p.id, p.prolific_pid, st.slug, ss.name, p.status, p.status_reason, p.started_at, p.completed_at,
			COALESCE(p.completed_at, p.status_changed_at, now()) - p.started_at,
			p.n_trials, p.n_answered, c.counted, c.correct, c.checks, c.fails, COALESCE(run.longest, 0),
			p.age, p.gender, st.currency, st.base_pay_minor, COALESCE(p.bonus_minor, 0),
			COALESCE(b.number, 0), b.paid_at IS NOT NULL,
			p.n_flagged, ARRAY[`+strings.Join(flagCols, ", ")+`]::int[], COALESCE(d.kind, ''), COALESCE(d.pointer, ''),
			COALESCE(d.screen_w, 0), COALESCE(d.screen_h, 0), COALESCE(d.viewport_w, 0), COALESCE(d.viewport_h, 0),
			p.yes_side, c.instructed_fails, p.n_practice, p.n_practice_answered,
			(SELECT count(*) FROM practice_trials pt WHERE pt.participant_id = p.id AND pt.correct)
		FROM participants p
		LEFT JOIN participant_devices d ON d.participant_id = p.id
		JOIN studies st ON st.id = p.study_id
		JOIN stimulus_sets ss ON ss.id = st.set_id
		CROSS JOIN LATERAL (
			SELECT count(*) FILTER (WHERE NOT t.is_attention_check) AS counted,
			       count(*) FILTER (WHERE NOT t.is_attention_check AND r.correct) AS correct,
			       count(*) FILTER (WHERE t.is_attention_check) AS checks,
			       count(*) FILTER (WHERE t.is_attention_check AND NOT r.correct) AS fails,
			       count(*) FILTER (WHERE t.instructed_answer IS NOT NULL AND NOT r.correct) AS instructed_fails,
			       `+strings.Join(flagCounts, ", ")+`
			FROM responses r JOIN trials t USING (participant_id, position)
			WHERE r.participant_id = p.id
		) c
		CROSS JOIN LATERAL (
			SELECT max(n) AS longest FROM (
				SELECT count(*) AS n FROM (
					SELECT r.answer, r.position - row_number() OVER (PARTITION BY r.answer ORDER BY r.position) AS grp
					FROM responses r WHERE r.participant_id = p.id
				) g GROUP BY g.answer, g.grp
			) runs
		) run
		LEFT JOIN bonus_batch_items bi ON bi.participant_id = p.id
		LEFT JOIN bonus_batches b ON b.id = bi.batch_id
		WHERE p.study_id = ANY($1) AND ($2::uuid[] IS NULL OR p.id = ANY($2))
		ORDER BY p.started_at, p.id`, studyIDs, only)
	if err != nil {
		return fmt.Errorf("postgres: participants table: %w", err)
	}
	defer rows.Close()
	var r ParticipantRecord
	var sw, sh, vw, vh int
	size := func(w, h int) string {
		if w == 0 || h == 0 {
			return ""
		}
		return fmt.Sprintf("%dx%d", w, h)
	}
	for rows.Next() {
		r = ParticipantRecord{}
		if err := rows.Scan(&r.ID, &r.PID, &r.Study, &r.Set, &r.Status, &r.StatusReason, &r.StartedAt, &r.CompletedAt,
			&r.Duration, &r.Trials, &r.Answered, &r.Counted, &r.Correct, &r.Checks, &r.CheckFails, &r.LongestRun,
			&r.Age, &r.Gender, &r.Currency, &r.BaseMinor, &r.BonusMinor, &r.Batch, &r.Paid,
			&r.Flagged, &r.FlagCounts, &r.Device, &r.Pointer, &sw, &sh, &vw, &vh, &r.YesSide,
			&r.InstructedFails, &r.Practice, &r.PracticeAnswered, &r.PracticeCorrect); err != nil {
			return fmt.Errorf("postgres: participants table: %w", err)
		}
		r.Screen, r.Viewport = size(sw, sh), size(vw, vh)
		if !r.Status.Finished() {
			r.BaseMinor, r.BonusMinor = 0, 0 // nobody is owed pay for what they did not finish
		} else {
			r.Excluded = rule.Reasons(r.Facts())
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: participants table: %w", err)
	}
	return nil
}

// exclusionOf is override, or the study's own rule when override is nil.
func (s *Store) exclusionOf(ctx context.Context, studyID uuid.UUID, override *study.Exclusion) (study.Exclusion, error) {
	if override != nil {
		return *override, nil
	}
	var text string
	if err := s.pool.QueryRow(ctx, `SELECT exclusion FROM studies WHERE id = $1`, studyID).Scan(&text); err != nil {
		return study.Exclusion{}, fmt.Errorf("postgres: exclusion rule: %w", err)
	}
	return study.ParseExclusion(text)
}

// StudiesOf lists the studies a matrix selection draws people from.
func (s *Store) StudiesOf(ctx context.Context, sel MatrixSelection) ([]uuid.UUID, error) {
	if sel.StudyID != uuid.Nil {
		return []uuid.UUID{sel.StudyID}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM studies WHERE set_id = $1 ORDER BY created_at`, sel.SetID)
	if err != nil {
		return nil, fmt.Errorf("postgres: studies of set: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("postgres: studies of set: %w", err)
	}
	return ids, nil
}

// ParticipantsHeader is the header of the participants CSV.
func ParticipantsHeader() []string {
	return append([]string{"participant_id", "study", "set", "status", "status_reason", "started_at", "completed_at",
		"duration_s", "n_trials", "n_answered", "n_counted", "n_correct", "accuracy", "attention_checks",
		"attention_failed", "longest_identical_run", "n_flagged"}, append(flagColumns(),
		"device", "pointer", "screen", "viewport", "yes_side", "age", "gender", "currency",
		"base_pay", "bonus", "total", "bonus_batch", "bonus_paid", "excluded", "exclusion_reasons", "exclusion_rule",
		"instructed_failed", "n_practice", "practice_answered", "practice_correct")...)
}

// flagColumns name the per-flag counts of the participants CSV: flagged_no_image, ...
func flagColumns() []string {
	var cols []string
	for _, f := range study.Flags() {
		cols = append(cols, "flagged_"+string(f))
	}
	return cols
}

// WriteParticipantsCSV streams the participants table of the studies: one
// row per participant with status, times, accuracy on the counted items,
// attention checks, the straight-lining run, demographics, pay, and whether
// the exclusion rule (override, or each study's own when nil) leaves them out
// and why. Amounts are decimals of the study currency; times are RFC 3339 in
// UTC with milliseconds.
func (s *Store) WriteParticipantsCSV(ctx context.Context, studyIDs []uuid.UUID, override *study.Exclusion, w io.Writer) error {
	cw := csvout.NewWriter(w)
	if err := cw.Write(ParticipantsHeader()); err != nil {
		return fmt.Errorf("postgres: participants csv: %w", err)
	}
	rec := make([]string, len(ParticipantsHeader()))
	n := 0
	var ruleText string
	write := func(r *ParticipantRecord) error {
		completed, acc, age := "", "", ""
		if r.CompletedAt != nil {
			completed = r.CompletedAt.UTC().Format(timeFormat)
		}
		if r.Counted > 0 {
			acc = strconv.FormatFloat(float64(r.Correct)/float64(r.Counted), 'f', 6, 64)
		}
		if r.Age != nil {
			age = strconv.Itoa(*r.Age)
		}
		batch := ""
		if r.Batch > 0 {
			batch = strconv.Itoa(r.Batch)
		}
		reasons := ""
		for i, x := range r.Excluded {
			if i > 0 {
				reasons += "; "
			}
			reasons += x
		}
		rec = append(rec[:0], r.PID, r.Study, r.Set, string(r.Status), r.StatusReason, r.StartedAt.UTC().Format(timeFormat), completed,
			strconv.FormatFloat(r.Duration.Seconds(), 'f', 3, 64), strconv.Itoa(r.Trials), strconv.Itoa(r.Answered),
			strconv.Itoa(r.Counted), strconv.Itoa(r.Correct), acc, strconv.Itoa(r.Checks), strconv.Itoa(r.CheckFails),
			strconv.Itoa(r.LongestRun), strconv.Itoa(r.Flagged))
		for _, n := range r.FlagCounts {
			rec = append(rec, strconv.Itoa(n))
		}
		rec = append(rec, r.Device, r.Pointer, r.Screen, r.Viewport, string(r.YesSide), age, r.Gender, r.Currency,
			prolific.Amount(r.BaseMinor), prolific.Amount(r.BonusMinor), prolific.Amount(r.BaseMinor+r.BonusMinor),
			batch, strconv.FormatBool(r.Paid), strconv.FormatBool(len(r.Excluded) > 0), reasons, ruleText,
			strconv.Itoa(r.InstructedFails), strconv.Itoa(r.Practice), strconv.Itoa(r.PracticeAnswered), strconv.Itoa(r.PracticeCorrect))
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n++; n%flushEvery == 0 {
			cw.Flush()
		}
		return nil
	}
	for _, id := range studyIDs {
		rule, err := s.exclusionOf(ctx, id, override)
		if err != nil {
			return err
		}
		ruleText = rule.String()
		if err := eachParticipant(ctx, s.pool, []uuid.UUID{id}, rule, write); err != nil {
			return fmt.Errorf("postgres: participants csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("postgres: participants csv: %w", err)
	}
	return nil
}
