package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/prolific"
	"github.com/cubelab/cubelab/internal/study"
)

// participantColumns are read by scanParticipant, in this order.
const participantColumns = `p.id, p.study_id, p.prolific_pid, p.prolific_study_id, p.prolific_session_id,
	p.status, p.seed, p.n_trials, p.n_answered, p.n_correct, p.started_at, p.consented_at,
	p.demographics_at, p.completed_at, p.age, p.gender, p.bonus_minor, p.n_flagged, p.longest_run,
	p.prolific_verified = 'verified', p.yes_side, p.text_version, p.n_practice, p.n_practice_answered`

func scanParticipant(row pgx.Row, p *study.Participant, extra ...any) error {
	return row.Scan(append([]any{&p.ID, &p.StudyID, &p.PID, &p.StudyParam, &p.SessionParam,
		&p.Status, &p.Seed, &p.NTrials, &p.NAnswered, &p.NCorrect, &p.StartedAt, &p.ConsentedAt,
		&p.DemographicsAt, &p.CompletedAt, &p.Age, &p.Gender, &p.BonusMinor, &p.NFlagged, &p.LongestRun, &p.Verified, &p.YesSide,
		&p.TextVersion, &p.NPractice, &p.NPracticeAnswered}, extra...)...)
}

// Join finds or creates the participant (st, params.PID) and ties a new
// session token (by its hash) to them. A second opening of the link resumes the
// same record. seed is used only when the participant is new.
//
// Concurrent first openings cannot create two records: the insert is
// INSERT .. ON CONFLICT DO NOTHING against UNIQUE (study_id, prolific_pid), and
// the loser rolls back what it claimed and starts again, to find and resume
// the winner's row. A participant who comes back is found the same way. New
// participants take a place row (and pool slots) without serialising on the
// study (study_places.go), which keeps the count of places exact.
//
// A new participant's join is BEGIN, one batch (the study's items and the
// first claim), a pool's slots, the practice items, one statement writing
// the participant with their trials, practice trials, slots and session,
// and COMMIT: four round trips in a fixed study without practice
// (TestJoinRoundTrips), where it was twelve. A participant who comes back
// on another browser takes two transactions, eight round trips.
func (s *Store) Join(ctx context.Context, st study.Study, params prolific.Params, seed int64, tokenHash []byte) (study.Participant, error) {
	var how joinMode
	for range joinAttempts {
		p, err := s.join(ctx, st, params, seed, tokenHash, how)
		switch {
		case errors.Is(err, errSweepFirst) && !how.swept:
			// Participants past the time limit hold places: time them out in a
			// transaction of their own, then join with what they gave back.
			if _, err := s.SweepTimeouts(ctx); err != nil {
				return p, err
			}
			how.wait, how.swept = true, true
		case errors.Is(err, errClaimShort):
			how.wait = true
		case errors.Is(err, errLostRace):
			// The participant is there (committed): the next attempt, which
			// looks them up first, resumes them.
			how.wait = true
		default:
			return p, err
		}
	}
	return study.Participant{}, fmt.Errorf("postgres: join of %s to %q: no outcome after %d attempts", params.PID, st.Slug, joinAttempts)
}

// joinAttempts bounds the transactions of one Join: the first claim comes up
// short, the waiting claim finds participants past the time limit, the
// swept one loses the race for the PID, the last resumes the winner's row.
const joinAttempts = 4

// joinMode is how an attempt of Join goes: wait, when it looks the
// participant up first and claims the waiting way (joinWaiting), not the
// first way (joinFirst); swept, when the participants past the time limit
// have been timed out.
type joinMode struct{ wait, swept bool }

// errLostRace asks Join to start again: the participant is there already,
// created by a concurrent opening of the same link, or earlier.
var errLostRace = errors.New("postgres: a concurrent join created the participant")

func (s *Store) join(ctx context.Context, st study.Study, params prolific.Params, seed int64, tokenHash []byte, how joinMode) (study.Participant, error) {
	var p study.Participant
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if how.wait {
			return joinWaiting(ctx, tx, st, params, seed, tokenHash, how.swept, &p)
		}
		return joinFirst(ctx, tx, st, params, seed, tokenHash, &p)
	})
	return p, err
}

// joinFirst is a join's first attempt. It takes a place without looking the
// participant up: the insert finds them if they are there (errLostRace, and
// the next attempt resumes them), so a new participant's join reads
// participants by (study, PID) only through the unique index the insert
// checks. A lookup first cost a scan of the study's participants on a fresh
// database, whose plan is fixed while the table is tiny and has no
// statistics (TestJoinRoundTrips).
func joinFirst(ctx context.Context, tx pgx.Tx, st study.Study, params prolific.Params, seed int64, tokenHash []byte, p *study.Participant) error {
	var (
		status   study.Status
		fixedIDs []uuid.UUID
		shard    *int16
		used     *int
	)
	b := &pgx.Batch{}
	queueItems(b, st, &fixedIDs)
	b.Queue(firstClaimSQL, st.ID).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&status, &shard, &used); err != nil {
			return fmt.Errorf("postgres: claim place: %w", err)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if status.AcceptsNew() && shard != nil {
		claim := joinClaim{shard: *shard, used: *used}
		if err := claimSlots(ctx, tx, st, &claim); err != nil {
			return err
		}
		return insertParticipant(ctx, tx, st, params, seed, tokenHash, fixedIDs, claim, p)
	}
	// Nothing claimed: the participant may be there to resume; if not,
	// refuse, or wait for a place in a transaction that holds no shard (the
	// claim may have locked one that a concurrent join filled).
	found, err := findParticipant(ctx, tx, st, params, p)
	if err != nil {
		return err
	}
	if found {
		return resume(ctx, tx, st, params, tokenHash, p)
	}
	if !status.AcceptsNew() {
		return errNotTakingNew()
	}
	if err := refuseEarly(ctx, tx, st, false); err != nil {
		return err
	}
	return errClaimShort
}

// joinWaiting is a join's attempt after the first: it looks the participant
// up and resumes them, or claims the waiting way (study_places.go).
func joinWaiting(ctx context.Context, tx pgx.Tx, st study.Study, params prolific.Params, seed int64, tokenHash []byte, swept bool, p *study.Participant) error {
	var (
		found    bool
		status   study.Status
		fixedIDs []uuid.UUID
	)
	b := &pgx.Batch{}
	b.Queue(participantByPIDSQL, st.ID, params.PID).QueryRow(func(row pgx.Row) (err error) {
		found, err = scanFound(row, p)
		return err
	})
	queueItems(b, st, &fixedIDs)
	b.Queue(`SELECT status FROM studies WHERE id = $1`, st.ID).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&status); err != nil {
			return fmt.Errorf("postgres: study status: %w", err)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if found {
		return resume(ctx, tx, st, params, tokenHash, p)
	}
	if !status.AcceptsNew() {
		return errNotTakingNew()
	}
	claim, err := claimWaiting(ctx, tx, st, swept)
	if err != nil {
		return err
	}
	return insertParticipant(ctx, tx, st, params, seed, tokenHash, fixedIDs, claim, p)
}

// queueItems queues the read of a fixed study's items into ids; a pool
// study's items come from its slots.
func queueItems(b *pgx.Batch, st study.Study, ids *[]uuid.UUID) {
	if st.Design != study.Fixed {
		return
	}
	b.Queue(itemsSQL, itemsArgs(st)...).Query(func(rows pgx.Rows) (err error) {
		*ids, err = scanItemIDs(rows, st)
		return err
	})
}

func errNotTakingNew() error {
	return problem.Errorf(problem.EGONE, "This study is not taking new participants at the moment.")
}

// participantByPIDSQL reads the participant (study $1, PID $2), by the unique
// index on the two.
const participantByPIDSQL = `SELECT ` + participantColumns + ` FROM participants p
	WHERE p.study_id = $1 AND p.prolific_pid = $2`

// findParticipant reads the participant of the study with params.PID into p;
// found is false when there is none.
func findParticipant(ctx context.Context, tx pgx.Tx, st study.Study, params prolific.Params, p *study.Participant) (found bool, err error) {
	return scanFound(tx.QueryRow(ctx, participantByPIDSQL, st.ID, params.PID), p)
}

func scanFound(row pgx.Row, p *study.Participant) (bool, error) {
	err := scanParticipant(row, p)
	if err == pgx.ErrNoRows {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("postgres: find participant: %w", err)
	}
	return true, nil
}

// resume ties a new session to the participant p, found by their PID, if
// the Prolific session that opened the record is the one opening it again.
func resume(ctx context.Context, tx pgx.Tx, st study.Study, params prolific.Params, tokenHash []byte, p *study.Participant) error {
	if err := p.MayResume(params.SessionID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO participant_sessions (token_hash, participant_id, expires_at)
		VALUES ($1, $2, `+sessionExpiry("$3")+`)`,
		tokenHash, p.ID, st.TimeLimitMinutes); err != nil {
		return fmt.Errorf("postgres: session: %w", err)
	}
	return nil
}

// sessionExpiry is when a participant's session ends, given the parameter
// holding the study's time limit in minutes: a day after the limit.
func sessionExpiry(limitMinutes string) string {
	return "now() + " + limitMinutes + " * interval '1 minute' + interval '1 day'"
}

// insertParticipant writes a new participant with what they claimed: the
// participant row, their trials and practice trials, their pool slots and
// their session, in one statement. errLostRace when the participant is
// there already (a concurrent join created them first, or they come back).
func insertParticipant(ctx context.Context, tx pgx.Tx, st study.Study, params prolific.Params, seed int64, tokenHash []byte,
	fixedIDs []uuid.UUID, claim joinClaim, p *study.Participant) error {
	if st.Design != study.Fixed && st.Design != study.Pool {
		return problem.Errorf(problem.EINTERNAL, "design %q cannot assign items yet", st.Design)
	}
	trials := study.NewTrialList(seed, append(fixedIDs, claim.slots.stimuli...), st.AttentionCheckIDs, st.InstructedChecks)
	ids := trials.Stimuli
	if len(ids) == 0 {
		return problem.Errorf(problem.ECONFLICT, "This study has no items yet.")
	}
	practice, err := practiceItems(ctx, tx, st, ids, seed)
	if err != nil {
		return err
	}
	// The rows that refer to the participant are written by CTEs that read
	// the new row from p: none when the insert found a concurrent join's row.
	var assigned int
	err = scanParticipant(tx.QueryRow(ctx, `
		WITH p AS (
			INSERT INTO participants AS p (study_id, prolific_pid, prolific_study_id, prolific_session_id, seed, n_trials,
				place_shard, yes_side, text_version, n_practice)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT text_version FROM studies WHERE id = $1), $9)
			ON CONFLICT (study_id, prolific_pid) DO NOTHING
			RETURNING `+participantColumns+`
		), trials AS (
			INSERT INTO trials (participant_id, position, stimulus_id, is_attention_check, instructed_answer)
			SELECT p.id, t.ord, t.stimulus_id, t.attention, NULLIF(t.demanded, '')
			FROM p, unnest($10::uuid[], $11::boolean[], $12::text[]) WITH ORDINALITY AS t(stimulus_id, attention, demanded, ord)
		), practice AS (
			INSERT INTO practice_trials (participant_id, position, stimulus_id)
			SELECT p.id, t.ord, t.stimulus_id FROM p, unnest($13::uuid[]) WITH ORDINALITY AS t(stimulus_id, ord)
		), slots AS (
			-- The locked slots by their physical address alone (a TID scan): with
			-- any other condition the planner may prefer the free-slot index and
			-- read every free slot of the study, so that a join would cost more
			-- the larger the pool.
			UPDATE pool_slots SET participant_id = (SELECT id FROM p) WHERE ctid = ANY($14::tid[]) AND EXISTS (SELECT FROM p)
			RETURNING 1
		), session AS (
			INSERT INTO participant_sessions (token_hash, participant_id, expires_at)
			SELECT $15, p.id, `+sessionExpiry("$16")+` FROM p
		)
		SELECT p.*, (SELECT count(*) FROM slots) FROM p`,
		st.ID, params.PID, params.StudyID, params.SessionID, seed, len(ids), claim.shard,
		study.YesSideFor(int(claim.shard), claim.used), len(practice),
		trials.Stimuli, trials.Attention, trials.Demanded, practice, claim.slots.rows,
		tokenHash, st.TimeLimitMinutes), p, &assigned)
	if err == pgx.ErrNoRows {
		return errLostRace
	} else if err != nil {
		return fmt.Errorf("postgres: insert participant: %w", err)
	}
	if assigned != len(claim.slots.stimuli) {
		// Cannot happen while the rows are locked; refuse rather than over-assign.
		return fmt.Errorf("postgres: assign slots: %d of %d slots were free", assigned, len(claim.slots.stimuli))
	}
	return nil
}

// Session finds the participant of the study at slug whose session token has
// this hash. A token of another study does not match.
func (s *Store) Session(ctx context.Context, slug string, tokenHash []byte) (study.Study, study.Participant, error) {
	var st study.Study
	var p study.Participant
	// The texts are those of the participant's version: a study's texts
	// may change while it runs, and each participant keeps what they saw.
	var consent, instructions *string
	row := s.pool.QueryRow(ctx, `SELECT `+participantColumns+`, `+studyColumns+`, tx.consent_text, tx.instructions_text
		FROM participant_sessions ps
		JOIN participants p ON p.id = ps.participant_id
		JOIN studies st ON st.id = p.study_id
		LEFT JOIN study_texts tx ON tx.study_id = p.study_id AND tx.version = p.text_version
		WHERE ps.token_hash = $1 AND st.slug = $2 AND ps.expires_at > now()`, tokenHash, slug)
	err := scanParticipant(row, &p, append(studyTargets(&st), &consent, &instructions)...)
	if consent != nil && instructions != nil {
		st.ConsentText, st.InstructionsText = *consent, *instructions
	}
	if err == pgx.ErrNoRows {
		return st, p, problem.Errorf(problem.EUNAUTHORIZED,
			"We could not recognise your session. Please open the study again from its Prolific link.")
	} else if err != nil {
		return st, p, fmt.Errorf("postgres: session: %w", err)
	}
	return st, p, nil
}

// Consent records consent; a repeated consent keeps the first time.
func (s *Store) Consent(ctx context.Context, participantID uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE participants SET consented_at = COALESCE(consented_at, now())
		WHERE id = $1 AND status = `+sqlStarted, participantID)
	if err != nil {
		return fmt.Errorf("postgres: consent: %w", err)
	}
	return nil
}

// SaveDemographics records the optional age and gender, once: a form sent
// again (back button) does not overwrite what was given first.
func (s *Store) SaveDemographics(ctx context.Context, participantID uuid.UUID, age *int, gender string) error {
	_, err := s.pool.Exec(ctx, `UPDATE participants SET demographics_at = now(), age = $2, gender = $3
		WHERE id = $1 AND status = `+sqlStarted+` AND consented_at IS NOT NULL AND demographics_at IS NULL`,
		participantID, age, gender)
	if err != nil {
		return fmt.Errorf("postgres: demographics: %w", err)
	}
	return nil
}

// ShowTrial returns the trial at position, stamps the time it was first
// shown, from which the server response time is measured, and counts the
// showing: a trial shown more than once (a reload, the back button, a resume
// on another device) flags its answer reloaded.
//
// The stamp is committed with synchronous_commit off (set_config(.., true)
// holds for this one-statement transaction only): it is no acknowledged
// answer, so it need not wait for the WAL flush, and that halves the flushes
// per answer. Should a crash lose it, the answer is refused as "not shown"
// and the participant's reload shows and stamps the trial again.
func (s *Store) ShowTrial(ctx context.Context, p study.Participant, position int) (study.Trial, error) {
	t := study.Trial{Position: position, Total: p.NTrials}
	err := s.pool.QueryRow(ctx, `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
		UPDATE trials t SET shown_at = COALESCE(t.shown_at, now()), shows = t.shows + 1
		FROM stimuli s, participants p, studies st, relaxed
		WHERE t.participant_id = $1 AND t.position = $2 AND s.id = t.stimulus_id
			AND p.id = t.participant_id AND st.id = p.study_id
		RETURNING `+trialReturning, p.ID, position).Scan(trialTargets(&t)...)
	if err == pgx.ErrNoRows {
		return t, problem.Errorf(problem.ENOTFOUND, "There is no trial %d in your list.", position)
	} else if err != nil {
		return t, fmt.Errorf("postgres: show trial: %w", err)
	}
	return t, nil
}

// trialReturning is what a statement showing a trial returns about it (t the
// trial, s its stimulus, st the study), read by trialTargets.
const trialReturning = `s.domain, t.is_attention_check, COALESCE(t.instructed_answer, ''), st.min_view_ms,
	p.started_at + st.time_limit_minutes * interval '1 minute', p.yes_side`

func trialTargets(t *study.Trial) []any {
	return []any{&t.Domain, &t.IsAttentionCheck, &t.InstructedAnswer, &t.MinViewMs, &t.Deadline, &t.YesSide}
}

// TrialStimulus returns the stimulus of the participant's trial at position
// and records that its picture was served (the first time), the evidence
// that the participant can have seen it when they answer: the caller serves
// the picture next.
func (s *Store) TrialStimulus(ctx context.Context, participantID uuid.UUID, position int) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `
		WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
		served AS (
			UPDATE trials SET image_served_at = now() FROM relaxed
			WHERE participant_id = $1 AND position = $2 AND image_served_at IS NULL
		)
		SELECT stimulus_id FROM trials WHERE participant_id = $1 AND position = $2`,
		participantID, position).Scan(&id)
	if err == pgx.ErrNoRows {
		return id, problem.Errorf(problem.ENOTFOUND, "There is no trial %d in your list.", position)
	} else if err != nil {
		return id, fmt.Errorf("postgres: trial image: %w", err)
	}
	return id, nil
}

// answerSQL is the answer statement, the participant picked by the id
// expression pick (a parameter in Submit, the session token's participant
// in SubmitBySession) and the further condition cond on p and st (""
// or "AND .."), so that both record an answer with the same statement.
//
// Parameters: $2 position, $3 answer, $4 browser RT (ms, or null), $5 timed
// (the page's script ran), $6 hidden (or null), $7 rendered picture size (or
// null), $8 when the picture was served as its signed cookie says (or null;
// the trial row may say so too); $1 and any further ones pick the
// participant.
//
// The participant row is read by its key alone, in a CTE of its own (me),
// before any condition on its status: with the status beside the key, the
// planner may reach the row through an index on the status, and with the
// statistics of a study's first minutes (few started) it does, reading every
// started participant of the study on every answer
// (TestAnswerPathFindsParticipantByKey).
//
// The flags are study.Evidence.Flags in SQL (TestFlagsMatchStudy holds the
// two equal). The participant row keeps the count of flagged answers and
// the runs of identical answers, so the monitor reads them without a scan.
func answerSQL(pick, cond string) string {
	return answerHead + pick + answerMid + cond + answerTail
}

// submitByIDSQL is the answer statement with the participant given by id ($1).
var submitByIDSQL = answerSQL("$1", "")

const (
	answerHead = `
		WITH me AS MATERIALIZED (
			SELECT id, study_id, status, n_trials, n_answered, n_correct, started_at FROM participants WHERE id = `
	answerMid = `
		), cur AS (
			SELECT p.id, p.n_trials, p.n_correct, COALESCE(t.instructed_answer, s.answer) = $3 AS correct,
				t.is_attention_check, st.bonus_per_correct_minor, st.max_bonus_minor, t.shows, st.too_fast_ms, st.break_every,
				GREATEST(0, round(extract(epoch FROM now() - t.shown_at) * 1000))::int AS server_rt,
				-- Not GREATEST(0, ..) alone: GREATEST ignores a null.
				-- LEAST ignores a null: the earlier of the two records.
				CASE WHEN COALESCE(t.image_served_at, $8) IS NOT NULL THEN
					GREATEST(0, round(extract(epoch FROM now() - LEAST(t.image_served_at, $8::timestamptz)) * 1000))::int END AS image_ms
			FROM me p
			JOIN trials t ON t.participant_id = p.id AND t.position = $2
			JOIN stimuli s ON s.id = t.stimulus_id
			JOIN studies st ON st.id = p.study_id
			WHERE p.status = ` + sqlStarted + ` AND p.n_answered = $2 - 1 AND t.shown_at IS NOT NULL
			AND p.started_at >= now() - st.time_limit_minutes * interval '1 minute' `
	answerTail = `
		), ev AS (
			SELECT cur.*, array_remove(ARRAY[
				CASE WHEN cur.image_ms IS NULL THEN 'no_image' END,
				CASE WHEN COALESCE($4::int, cur.server_rt) < cur.too_fast_ms THEN 'too_fast' END,
				CASE WHEN cur.shows > 1 THEN 'reloaded' END,
				CASE WHEN $6::boolean THEN 'hidden' END]::text[], NULL) AS flags
			FROM cur
		), upd AS (
			UPDATE participants p SET
				n_answered = p.n_answered + 1,
				n_correct = p.n_correct + (ev.correct AND NOT ev.is_attention_check)::int,
				status = CASE WHEN $2 = ev.n_trials THEN ` + sqlCompleted + ` ELSE p.status END,
				completed_at = CASE WHEN $2 = ev.n_trials THEN now() END,
				bonus_minor = CASE WHEN $2 = ev.n_trials THEN LEAST(
					(p.n_correct + (ev.correct AND NOT ev.is_attention_check)::int) * ev.bonus_per_correct_minor,
					ev.max_bonus_minor) END,
				n_flagged = p.n_flagged + (cardinality(ev.flags) > 0)::int,
				run_length = CASE WHEN p.last_answer = $3 THEN p.run_length + 1 ELSE 1 END,
				longest_run = GREATEST(p.longest_run, CASE WHEN p.last_answer = $3 THEN p.run_length + 1 ELSE 1 END),
				last_answer = $3
			FROM ev
			-- By the key, as a scalar: joined to cur instead, the plan may scan
			-- every started participant through an index on the status
			-- (TestAnswerPathFindsParticipantByKey).
			WHERE p.id = (SELECT cur.id FROM cur) AND p.status = ` + sqlStarted + ` AND p.n_answered = $2 - 1
			RETURNING p.id, p.status
		)
		INSERT INTO responses (participant_id, position, answer, correct, browser_rt_ms, server_rt_ms,
			timed, image_ms, shows, page_hidden, image_px, flags)
		SELECT upd.id, $2, $3, ev.correct, $4, ev.server_rt, $5, ev.image_ms, ev.shows, $6, $7, ev.flags
		FROM upd, ev
		RETURNING correct, browser_rt_ms, server_rt_ms, answered_at, flags,
			(SELECT status = ` + sqlCompleted + ` FROM upd), (SELECT break_every FROM ev), (SELECT n_trials FROM ev)`
)

// Submit records the participant's answer to the trial at position, with
// its evidence, and returns it. The position must be the next unanswered
// one; an answer to a position already answered returns the stored answer
// unchanged, whatever was sent (a double click, a retried POST, the back
// button). The last answer completes the participant and fixes the bonus,
// min(correct x per correct, max), attention checks not counted. Past the
// study's time limit nothing is recorded (problem.ETIMEUP), even before the
// sweep marks the participant timed out. An answer is never refused for its
// evidence, only flagged (study.Evidence.Flags).
//
// It is one statement, hence one transaction and one round trip: the UPDATE
// of the participant row both checks the position against n_answered and
// locks the row, so two concurrent answers to one position serialise and the
// second finds n_answered moved on and inserts nothing.
func (s *Store) Submit(ctx context.Context, participantID uuid.UUID, sub study.Submission) (study.Response, error) {
	r := study.Response{Position: sub.Position}
	var every, total int
	err := s.pool.QueryRow(ctx, submitByIDSQL,
		append([]any{participantID}, submissionArgs(sub)...)...,
	).Scan(responseTargets(&r, &every, &total)...)
	if err == nil {
		r.Answer = sub.Answer
		r.Break = study.BreakAfter(every, r.Position, total)
		return r, nil
	} else if err != pgx.ErrNoRows {
		return r, fmt.Errorf("postgres: answer: %w", err)
	}
	return s.explainNoAnswer(ctx, participantID, sub.Position)
}

// submissionArgs are the parameters $2-$8 of the answer statement.
func submissionArgs(sub study.Submission) []any {
	return []any{sub.Position, sub.Answer, sub.BrowserRTMs, sub.Timed, sub.Hidden, sub.ImagePx, sub.PictureServedAt}
}

// responseTargets are the scan destinations of the answer statement's
// RETURNING list: the response, then the study's break setting and the
// participant's number of trials, from which the caller works out r.Break.
func responseTargets(r *study.Response, breakEvery, total *int) []any {
	return []any{&r.Correct, &r.BrowserRTMs, &r.ServerRTMs, &r.AnsweredAt, &r.Flags, &r.Completed, breakEvery, total}
}

// Answer is Submit for an answer with no more evidence than a browser
// response time, as a script or a test sends it.
func (s *Store) Answer(ctx context.Context, participantID uuid.UUID, position int, answer string, browserRTMs *int) (study.Response, error) {
	return s.Submit(ctx, participantID, study.Submission{Position: position, Answer: answer,
		BrowserRTMs: browserRTMs, Timed: browserRTMs != nil})
}

// explainNoAnswer works out why Answer inserted nothing: the position was
// already answered (return the stored answer), the time is up, or it was not
// the next one.
func (s *Store) explainNoAnswer(ctx context.Context, participantID uuid.UUID, position int) (study.Response, error) {
	r := study.Response{Position: position}
	var status study.ParticipantStatus
	var nAnswered, nTrials, limit, every int
	var late bool
	err := s.pool.QueryRow(ctx, `
		SELECT p.status, p.n_answered, p.n_trials, COALESCE(r.answer, ''), COALESCE(r.correct, false),
			r.browser_rt_ms, COALESCE(r.server_rt_ms, 0), COALESCE(r.answered_at, 'epoch'),
			p.started_at < now() - st.time_limit_minutes * interval '1 minute', st.time_limit_minutes, st.break_every
		FROM participants p JOIN studies st ON st.id = p.study_id
		LEFT JOIN responses r ON r.participant_id = p.id AND r.position = $2
		WHERE p.id = $1`, participantID, position).
		Scan(&status, &nAnswered, &nTrials, &r.Answer, &r.Correct, &r.BrowserRTMs, &r.ServerRTMs, &r.AnsweredAt, &late, &limit, &every)
	if err != nil {
		return r, fmt.Errorf("postgres: answer: %w", err)
	}
	switch {
	case r.Answer != "":
		r.Completed = status.Finished() && position == nTrials
		// A replay of the answer before a break, while still there, leads
		// to the break again.
		r.Break = status == study.Started && nAnswered == position && study.BreakAfter(every, position, nTrials)
		return r, nil
	case status == study.TimedOut || status == study.Started && late:
		return r, problem.Errorf(problem.ETIMEUP, "Your time for this study is up (the limit is %d minutes), so this answer was not recorded. Please return the study on Prolific.", limit)
	case status != study.Started:
		return r, problem.Errorf(problem.EGONE, "Your participation in this study has ended, so no more answers can be recorded.")
	case position == nAnswered+1:
		return r, problem.Errorf(problem.ECONFLICT, "This trial was not shown yet. Please go back to the current trial.")
	}
	return r, problem.Errorf(problem.ECONFLICT, "This answer is for trial %d, but you are on trial %d. Nothing was recorded; please continue from the current trial.", position, nAnswered+1)
}

// practiceItems draws a new participant's practice pictures (study.Study.PracticeCount),
// in their order: the picked ones, or as many as asked of the practice
// set's items of the study's task that are not among the participant's own
// trials (own), fewer when the set has fewer. The draw depends on the seed
// alone.
func practiceItems(ctx context.Context, tx querier, st study.Study, own []uuid.UUID, seed int64) ([]uuid.UUID, error) {
	if st.PracticeCount() == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT id FROM stimuli
		WHERE CASE WHEN cardinality($4::uuid[]) > 0 THEN id = ANY($4)
			ELSE set_id = $1 AND domain = $2 AND NOT (id = ANY($3)) END
		ORDER BY hashtextextended(ext_id, $5), id
		LIMIT $6`, st.PracticeSet(), string(st.Domain), own, nonNil(st.PracticeIDs), seed, st.PracticeCount())
	if err != nil {
		return nil, fmt.Errorf("postgres: practice items: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("postgres: practice items: %w", err)
	}
	return ids, nil
}
