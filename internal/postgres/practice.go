package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// Practice trials (study/practice.go) live in practice_trials, apart from
// trials and responses: every analysis, bonus, score, export and report
// reads responses, so none of them can count a practice answer. Only the
// answers download and the monitor read practice_trials, and say so.

// ShowPractice returns the participant's next practice trial and stamps the
// time it was first shown, from which nothing is scored but the page's own
// gating runs as on a trial.
func (s *Store) ShowPractice(ctx context.Context, p study.Participant) (study.Trial, error) {
	t := study.Trial{Position: p.NPracticeAnswered + 1, Total: p.NPractice}
	err := s.pool.QueryRow(ctx, `
		UPDATE practice_trials pt SET shown_at = COALESCE(pt.shown_at, now())
		FROM stimuli s, participants p, studies st
		WHERE pt.participant_id = $1 AND pt.position = $2 AND s.id = pt.stimulus_id
			AND p.id = pt.participant_id AND st.id = p.study_id AND pt.answer IS NULL
		RETURNING s.domain, st.min_view_ms, p.started_at + st.time_limit_minutes * interval '1 minute', p.yes_side`,
		p.ID, t.Position).Scan(&t.Domain, &t.MinViewMs, &t.Deadline, &t.YesSide)
	if err == pgx.ErrNoRows {
		return t, problem.Errorf(problem.ENOTFOUND, "There is no practice picture %d in your list.", t.Position)
	} else if err != nil {
		return t, fmt.Errorf("postgres: show practice: %w", err)
	}
	return t, nil
}

// PracticeStimulus returns the stimulus of the participant's practice trial
// at position and records its first serving. The caller checks that the
// participant may see it (study.Participant.MaySeePractice).
func (s *Store) PracticeStimulus(ctx context.Context, participantID uuid.UUID, position int) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `
		WITH served AS (
			UPDATE practice_trials SET image_served_at = now()
			WHERE participant_id = $1 AND position = $2 AND image_served_at IS NULL
		)
		SELECT stimulus_id FROM practice_trials WHERE participant_id = $1 AND position = $2`,
		participantID, position).Scan(&id)
	if err == pgx.ErrNoRows {
		return id, problem.Errorf(problem.ENOTFOUND, "There is no practice picture %d in your list.", position)
	} else if err != nil {
		return id, fmt.Errorf("postgres: practice image: %w", err)
	}
	return id, nil
}

// SubmitPractice records a practice answer and returns it with what the
// feedback says. As with Submit, the position must be the next unanswered
// practice trial, shown before, within the time limit; an answer to a
// practice trial already answered returns the stored one unchanged. One
// statement: the participant row's update checks and locks, so two
// concurrent answers to one position record one.
func (s *Store) SubmitPractice(ctx context.Context, participantID uuid.UUID, sub study.Submission) (study.PracticeResult, error) {
	res := study.PracticeResult{Position: sub.Position, Answer: sub.Answer}
	err := s.pool.QueryRow(ctx, `
		WITH cur AS (
			SELECT p.id, s.answer AS truth, s.domain, p.n_practice
			FROM participants p
			JOIN practice_trials pt ON pt.participant_id = p.id AND pt.position = $2
			JOIN stimuli s ON s.id = pt.stimulus_id
			JOIN studies st ON st.id = p.study_id
			WHERE p.id = $1 AND p.status = `+sqlStarted+` AND p.n_practice_answered = $2 - 1
				AND pt.shown_at IS NOT NULL AND pt.answer IS NULL
				AND p.started_at >= now() - st.time_limit_minutes * interval '1 minute'
		), upd AS (
			UPDATE participants p SET n_practice_answered = p.n_practice_answered + 1
			FROM cur WHERE p.id = cur.id AND p.status = `+sqlStarted+` AND p.n_practice_answered = $2 - 1
			RETURNING p.id
		)
		UPDATE practice_trials pt SET answer = $3, correct = ($3 = cur.truth), browser_rt_ms = $4, timed = $5, answered_at = now()
		FROM cur, upd
		WHERE pt.participant_id = upd.id AND pt.position = $2
		RETURNING pt.correct, cur.truth, cur.domain, cur.n_practice`,
		participantID, sub.Position, sub.Answer, sub.BrowserRTMs, sub.Timed).Scan(&res.Correct, &res.Truth, &res.Domain, &res.Total)
	if err == nil {
		return res, nil
	} else if err != pgx.ErrNoRows {
		return res, fmt.Errorf("postgres: practice answer: %w", err)
	}
	stored, err := s.PracticeAnswer(ctx, participantID, sub.Position)
	if err == nil || problem.Code(err) != problem.ENOTFOUND {
		return stored, err
	}
	var status study.ParticipantStatus
	var answered int
	var late bool
	if err := s.pool.QueryRow(ctx, `
		SELECT p.status, p.n_practice_answered, p.started_at < now() - st.time_limit_minutes * interval '1 minute'
		FROM participants p JOIN studies st ON st.id = p.study_id WHERE p.id = $1`, participantID).Scan(&status, &answered, &late); err != nil {
		return res, fmt.Errorf("postgres: practice answer: %w", err)
	}
	switch {
	case status == study.TimedOut || status == study.Started && late:
		return res, problem.Errorf(problem.ETIMEUP, "Your time for this study is up, so this answer was not recorded. Please return the study on Prolific.")
	case status != study.Started:
		return res, problem.Errorf(problem.EGONE, "Your participation in this study has ended, so no more answers can be recorded.")
	}
	return res, problem.Errorf(problem.ECONFLICT, "This answer is for practice picture %d, but you are on practice picture %d. Nothing was recorded; please continue from the current one.", sub.Position, answered+1)
}

// PracticeAnswer returns the participant's stored practice answer at
// position, for its feedback; ENOTFOUND when it is not answered.
func (s *Store) PracticeAnswer(ctx context.Context, participantID uuid.UUID, position int) (study.PracticeResult, error) {
	res := study.PracticeResult{Position: position}
	err := s.pool.QueryRow(ctx, `
		SELECT pt.answer, pt.correct, s.answer, s.domain, p.n_practice
		FROM practice_trials pt JOIN stimuli s ON s.id = pt.stimulus_id JOIN participants p ON p.id = pt.participant_id
		WHERE pt.participant_id = $1 AND pt.position = $2 AND pt.answer IS NOT NULL`, participantID, position).
		Scan(&res.Answer, &res.Correct, &res.Truth, &res.Domain, &res.Total)
	if err == pgx.ErrNoRows {
		return res, problem.Errorf(problem.ENOTFOUND, "Practice picture %d has no answer yet.", position)
	} else if err != nil {
		return res, fmt.Errorf("postgres: practice answer: %w", err)
	}
	return res, nil
}

// PracticeAvailable is how many practice pictures the study can draw for a
// participant: the practice set's items of the study's task that are not
// among the participant's trials (for a pool on its own set, at worst any
// K of its items) nor attention checks.
func (s *Store) PracticeAvailable(ctx context.Context, st study.Study) (int, error) {
	own := []uuid.UUID{}
	same := st.PracticeSet() == st.SetID
	if same && st.Design == study.Fixed {
		var err error
		if own, err = itemIDs(ctx, s.pool, st); err != nil {
			return 0, err
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM stimuli
		WHERE set_id = $1 AND domain = $2 AND NOT (id = ANY($3)) AND NOT (id = ANY($4))`,
		st.PracticeSet(), string(st.Domain), own, nonNil(st.AttentionCheckIDs)).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: practice available: %w", err)
	}
	if same && st.Design == study.Pool {
		n -= st.ItemsPerParticipant
	}
	return max(n, 0), nil
}

// StimulusAnswer is a stimulus's correct answer (a preview's feedback).
func (s *Store) StimulusAnswer(ctx context.Context, id uuid.UUID) (string, error) {
	var a string
	err := s.pool.QueryRow(ctx, `SELECT answer FROM stimuli WHERE id = $1`, id).Scan(&a)
	if err == pgx.ErrNoRows {
		return a, problem.Errorf(problem.ENOTFOUND, "There is no such picture.")
	} else if err != nil {
		return a, fmt.Errorf("postgres: stimulus answer: %w", err)
	}
	return a, nil
}
