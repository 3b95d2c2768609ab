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

// AnswerBySession records an answer as Answer does, for the participant whose
// session token has hash tokenHash in the study at slug.
func (s *Store) AnswerBySession(ctx context.Context, slug string, tokenHash []byte, position int, answer string, browserRTMs *int) (study.Response, bool, error) {
	r := study.Response{Position: position, Answer: answer}
	err := s.pool.QueryRow(ctx, answerHead+
		`p.id = (SELECT ps.participant_id FROM participant_sessions ps WHERE ps.token_hash = $1) AND st.slug = $5`+answerTail,
		tokenHash, position, answer, browserRTMs, slug,
	).Scan(&r.Correct, &r.BrowserRTMs, &r.ServerRTMs, &r.AnsweredAt, &r.Completed)
	if err == pgx.ErrNoRows {
		return r, false, nil
	} else if err != nil {
		return r, false, fmt.Errorf("postgres: answer: %w", err)
	}
	return r, true, nil
}

// ShowTrialBySession shows the participant's next trial for the first time,
// stamping shown_at as ShowTrial does, and returns it with the study's title
// and the stimulus ids of its picture and of the next trial's (uuid.Nil
// after the last trial), which the participant may now fetch. It reports
// ok = false when the participant is not on the trial step or the trial was
// shown before (a reload).
func (s *Store) ShowTrialBySession(ctx context.Context, slug string, tokenHash []byte) (title string, t study.Trial, pictures [2]uuid.UUID, ok bool, err error) {
	var next *uuid.UUID
	err = s.pool.QueryRow(ctx, `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
		UPDATE trials t SET shown_at = now()
		FROM participants p, studies st, stimuli s, relaxed
		WHERE p.id = (SELECT ps.participant_id FROM participant_sessions ps WHERE ps.token_hash = $1)
			AND st.id = p.study_id AND st.slug = $2
			AND p.status = `+sqlStarted+` AND p.consented_at IS NOT NULL AND p.demographics_at IS NOT NULL
			AND p.n_answered < p.n_trials
			AND t.participant_id = p.id AND t.position = p.n_answered + 1 AND t.shown_at IS NULL
			AND s.id = t.stimulus_id
		RETURNING st.title, t.position, p.n_trials, s.domain, t.is_attention_check, t.stimulus_id,
			(SELECT t2.stimulus_id FROM trials t2 WHERE t2.participant_id = p.id AND t2.position = t.position + 1)`,
		tokenHash, slug).
		Scan(&title, &t.Position, &t.Total, &t.Domain, &t.IsAttentionCheck, &pictures[0], &next)
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
// one past the current trial); ok = false otherwise. It reads no image:
// pictures never change under their id, so the server keeps them in a cache
// and reads one (Picture) only on a miss.
func (s *Store) TrialStimulusBySession(ctx context.Context, slug string, tokenHash []byte, position int) (id uuid.UUID, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT t.stimulus_id FROM participants p
		JOIN studies st ON st.id = p.study_id
		JOIN trials t ON t.participant_id = p.id AND t.position = $3
		WHERE p.id = (SELECT ps.participant_id FROM participant_sessions ps WHERE ps.token_hash = $1)
			AND st.slug = $2 AND p.consented_at IS NOT NULL AND $3 <= p.n_answered + 2`,
		tokenHash, slug, position).Scan(&id)
	if err == pgx.ErrNoRows {
		return id, false, nil
	} else if err != nil {
		return id, false, fmt.Errorf("postgres: trial image: %w", err)
	}
	return id, true, nil
}
