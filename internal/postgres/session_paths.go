package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/study"
)

// The participant's hot path by session token: the three requests of every
// trial (the answer, the next trial page, its picture) each find the
// participant from the cookie's token hash inside their own statement, so
// each is one round trip instead of a session lookup and then the work.
// Each finds the participant by a scalar subquery on the token, which the
// planner runs first and then follows primary keys: written as a plain join,
// the plan may start from the study's slug and walk every participant of the
// study, which costs a millisecond at a thousand participants.
// Each reports ok = false, having changed nothing, whenever the ordinary
// case does not hold (no such session, another step, a replay, a reload);
// the caller then takes the general path (Session, then Answer, ShowTrial or
// TrialImage), which works out the right page or error.

// submitBySessionSQL is the answer statement with the participant found by
// session token ($1) and study slug ($9).
var submitBySessionSQL = answerSQL(
	`(SELECT ps.participant_id FROM participant_sessions ps WHERE ps.token_hash = $1 AND ps.expires_at > now())`,
	`AND st.slug = $9`)

// SubmitBySession records an answer as Submit does, for the participant
// whose session token has hash tokenHash in the study at slug.
func (s *Store) SubmitBySession(ctx context.Context, slug string, tokenHash []byte, sub study.Submission) (study.Response, bool, error) {
	r := study.Response{Position: sub.Position, Answer: sub.Answer}
	var every, total int
	err := s.pool.QueryRow(ctx, submitBySessionSQL,
		append(append([]any{tokenHash}, submissionArgs(sub)...), slug)...,
	).Scan(responseTargets(&r, &every, &total)...)
	if err == pgx.ErrNoRows {
		return r, false, nil
	} else if err != nil {
		return r, false, fmt.Errorf("postgres: answer: %w", err)
	}
	r.Break = study.BreakAfter(every, r.Position, total)
	return r, true, nil
}

// showTrialBySessionSQL stamps the first showing of the trial after the
// last answered one: $1 token hash, $2 study slug.
const showTrialBySessionSQL = `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
		UPDATE trials t SET shown_at = now(), shows = 1
		FROM participants p, studies st, stimuli s, relaxed
		WHERE p.id = (SELECT ps.participant_id FROM participant_sessions ps WHERE ps.token_hash = $1 AND ps.expires_at > now())
			AND st.id = p.study_id AND st.slug = $2
			AND p.status = ` + sqlStarted + ` AND p.consented_at IS NOT NULL AND p.demographics_at IS NOT NULL
			AND p.n_practice_answered >= p.n_practice AND p.n_answered < p.n_trials
			AND t.participant_id = p.id AND t.position = p.n_answered + 1 AND t.shown_at IS NULL
			AND s.id = t.stimulus_id
		RETURNING st.title, t.position, p.n_trials, t.stimulus_id,
			(SELECT t2.stimulus_id FROM trials t2 WHERE t2.participant_id = p.id AND t2.position = t.position + 1),
			` + trialReturning

// ShowTrialBySession shows the participant's next trial for the first time,
// stamping shown_at as ShowTrial does, and returns it with the study's title
// and the stimulus ids of its picture and of the next trial's (uuid.Nil
// after the last trial), which the participant may now fetch. It reports
// ok = false when the participant is not on the trial step or the trial was
// shown before (a reload).
func (s *Store) ShowTrialBySession(ctx context.Context, slug string, tokenHash []byte) (title string, t study.Trial, pictures [2]uuid.UUID, ok bool, err error) {
	var next *uuid.UUID
	err = s.pool.QueryRow(ctx, showTrialBySessionSQL, tokenHash, slug).
		Scan(append([]any{&title, &t.Position, &t.Total, &pictures[0], &next}, trialTargets(&t)...)...)
	if err == pgx.ErrNoRows {
		return "", t, pictures, false, nil
	} else if err != nil {
		return "", t, pictures, false, fmt.Errorf("postgres: show trial: %w", err)
	}
	if next != nil {
		pictures[1] = *next
	}
	return title, t, pictures, true, nil
}

// TrialStimulusBySession returns the stimulus id of the picture of the
// participant's trial at position when they may see it (consented, at most
// one past the current trial), and records that it was served (the first
// time); ok = false otherwise. It reads no image: pictures never change
// under their id, so the server keeps them in a cache and reads one
// (Picture) only on a miss.
func (s *Store) TrialStimulusBySession(ctx context.Context, slug string, tokenHash []byte, position int) (id uuid.UUID, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
		t AS (
			SELECT t.participant_id, t.stimulus_id, t.image_served_at FROM participants p
			JOIN studies st ON st.id = p.study_id
			JOIN trials t ON t.participant_id = p.id AND t.position = $3
			WHERE p.id = (SELECT ps.participant_id FROM participant_sessions ps WHERE ps.token_hash = $1 AND ps.expires_at > now())
				AND st.slug = $2 AND p.consented_at IS NOT NULL AND $3 <= p.n_answered + 2
		), served AS (
			UPDATE trials SET image_served_at = now() FROM t, relaxed
			WHERE trials.participant_id = t.participant_id AND trials.position = $3 AND t.image_served_at IS NULL
		)
		SELECT stimulus_id FROM t`,
		tokenHash, slug, position).Scan(&id)
	if err == pgx.ErrNoRows {
		return id, false, nil
	} else if err != nil {
		return id, false, fmt.Errorf("postgres: trial image: %w", err)
	}
	return id, true, nil
}

// ImageServedBySession records that the picture of the participant's trial
// at position was served, the first time, for a picture the server sent
// from a grant without asking the database whether it may.
func (s *Store) ImageServedBySession(ctx context.Context, slug string, tokenHash []byte, position int) error {
	_, err := s.pool.Exec(ctx, `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
		UPDATE trials t SET image_served_at = now() FROM relaxed
		WHERE t.participant_id = (SELECT ps.participant_id FROM participant_sessions ps
				JOIN participants p ON p.id = ps.participant_id JOIN studies st ON st.id = p.study_id
				WHERE ps.token_hash = $1 AND st.slug = $2)
			AND t.position = $3 AND t.image_served_at IS NULL`, tokenHash, slug, position)
	if err != nil {
		return fmt.Errorf("postgres: image served: %w", err)
	}
	return nil
}
