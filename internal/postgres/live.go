package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// The live comparison of a study (analysis.Live) is fed from here: a full
// read of the matrix when it starts (LoadMatrix), then only the people who
// finished since (LiveSince). A person finishes in the transaction of their
// last answer, whose completed_at is that transaction's start: a completion
// can commit after a later-stamped one, so each read looks back LiveLookBack
// before the previous read began and leaves out the people already fed.

// LiveLookBack is how far before the previous read (or the full read the
// comparison started from) a read for new completions starts: longer than
// any answer's transaction.
const LiveLookBack = time.Minute

// LivePerson is a person who finished, with their answers (item ids of the
// manifest, attention checks included) unless the exclusion rule left them
// out.
type LivePerson struct {
	ID       uuid.UUID
	Excluded bool
	Items    []string
	Answers  []analysis.Answer
}

// LiveVersion is a digest of what a live comparison cannot follow
// incrementally: the study's items, attention checks and exclusion rule,
// the model runs on its set, and how many people who finished no longer
// count (rejected or returned after finishing). When it changes, the
// comparison is read again from scratch.
func (s *Store) LiveVersion(ctx context.Context, studyID uuid.UUID) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `
		SELECT md5(concat_ws('|', st.domain, st.sizes::text, st.split, st.attention_check_ids::text, st.exclusion,
		  (SELECT string_agg(r.id::text, ',' ORDER BY r.id) FROM model_runs r WHERE r.set_id = st.set_id),
		  (SELECT count(*) FROM participants p WHERE p.study_id = st.id AND p.completed_at IS NOT NULL
		     AND NOT `+counted("p.status")+`)))
		FROM studies st WHERE st.id = $1`, studyID).Scan(&v)
	if err == pgx.ErrNoRows {
		return "", problem.Errorf(problem.ENOTFOUND, "There is no such study.")
	} else if err != nil {
		return "", fmt.Errorf("postgres: live version: %w", err)
	}
	return v, nil
}

// Now is the database's clock: live reads are measured against the
// completed_at it writes.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := s.pool.QueryRow(ctx, `SELECT now()`).Scan(&t); err != nil {
		return t, fmt.Errorf("postgres: now: %w", err)
	}
	return t, nil
}

// LiveSince reads the people of the study whose answers count and who
// finished at since or later, in the order they finished, leaving out those
// fed says were read already. next is where the following read starts.
func (s *Store) LiveSince(ctx context.Context, studyID uuid.UUID, since time.Time, fed func(uuid.UUID) bool) (people []LivePerson, next time.Time, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY`); err != nil {
			return fmt.Errorf("postgres: live: %w", err)
		}
		var began time.Time
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&began); err != nil {
			return fmt.Errorf("postgres: live: %w", err)
		}
		next = began.Add(-LiveLookBack)
		rows, err := tx.Query(ctx, `
			SELECT p.id FROM participants p
			WHERE p.study_id = $1 AND `+counted("p.status")+` AND p.completed_at >= $2
			ORDER BY p.completed_at, p.id`, studyID, since)
		if err != nil {
			return fmt.Errorf("postgres: live people: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return fmt.Errorf("postgres: live people: %w", err)
		}
		var fresh []uuid.UUID
		index := map[uuid.UUID]int{}
		for _, id := range ids {
			if !fed(id) {
				index[id] = len(fresh)
				fresh = append(fresh, id)
				people = append(people, LivePerson{ID: id})
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		rule, err := studyExclusion(ctx, tx, studyID, nil)
		if err != nil {
			return err
		}
		err = eachParticipantOf(ctx, tx, []uuid.UUID{studyID}, fresh, rule, func(r *ParticipantRecord) error {
			if i, ok := index[r.ID]; ok && len(r.Excluded) > 0 {
				people[i].Excluded = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `
			SELECT r.participant_id, s.ext_id, r.answer
			FROM responses r
			JOIN trials t ON t.participant_id = r.participant_id AND t.position = r.position
			JOIN stimuli s ON s.id = t.stimulus_id
			-- An instructed check shows an item's picture but asks for a set
			-- answer: not a judgement of the item (as in LoadMatrix).
			WHERE r.participant_id = ANY($1) AND t.instructed_answer IS NULL`, fresh)
		if err != nil {
			return fmt.Errorf("postgres: live answers: %w", err)
		}
		defer rows.Close()
		var pid uuid.UUID
		var ext, answer string
		for rows.Next() {
			if err := rows.Scan(&pid, &ext, &answer); err != nil {
				return fmt.Errorf("postgres: live answers: %w", err)
			}
			a, err := analysis.ParseAnswer(answer)
			if err != nil {
				return fmt.Errorf("postgres: live answers: %w", err)
			}
			p := &people[index[pid]]
			p.Items, p.Answers = append(p.Items, ext), append(p.Answers, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, since, err
	}
	return people, next, nil
}

// SetStopRule sets (or, with a rule that is off, removes) a study's
// stopping rule and re-arms it, logging the change.
func (s *Store) SetStopRule(ctx context.Context, studyID uuid.UUID, rule study.StopRule, actor string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Saving the rule the study already has, armed, changes nothing and
		// logs nothing; saving a rule that fired arms it again.
		var same bool
		err := tx.QueryRow(ctx, `SELECT stop_measure = $2 AND stop_width = $3 AND (stop_measure = '' OR stop_fired_at IS NULL)
			FROM studies WHERE id = $1 FOR NO KEY UPDATE`, studyID, string(rule.Measure), rule.Width).Scan(&same)
		if err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
		} else if err != nil {
			return fmt.Errorf("postgres: stop rule: %w", err)
		}
		if same {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE studies SET stop_measure = $2, stop_width = $3, stop_fired_at = NULL WHERE id = $1`,
			studyID, string(rule.Measure), rule.Width); err != nil {
			return fmt.Errorf("postgres: stop rule: %w", err)
		}
		return logChange(ctx, tx, studyID, 0, actor, "stopping rule: "+rule.Describe())
	})
}

// FireStopRule pauses a published study whose armed rule has not fired yet,
// records that it fired and logs why; fired is false when another request
// (or process) fired it first, the rule changed, or the study is no longer
// published, so that a rule pauses a study once.
func (s *Store) FireStopRule(ctx context.Context, studyID uuid.UUID, rule study.StopRule, why string) (fired bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE studies SET status = `+sqlText(study.Paused)+`, stop_fired_at = now()
			WHERE id = $1 AND status = `+sqlPublished+` AND stop_fired_at IS NULL
			  AND stop_measure = $2 AND stop_width = $3`, studyID, string(rule.Measure), rule.Width)
		if err != nil {
			return fmt.Errorf("postgres: stop rule: %w", err)
		}
		if fired = tag.RowsAffected() == 1; !fired {
			return nil
		}
		return logChange(ctx, tx, studyID, 0, "", "status "+string(study.Published)+" → "+string(study.Paused)+
			" by the stopping rule: "+why)
	})
	return fired, err
}

// LogStudyChange adds a line to a study's change log by the system.
func (s *Store) LogStudyChange(ctx context.Context, studyID uuid.UUID, what string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return logChange(ctx, tx, studyID, 0, "", what) })
}

// ArmedStudies lists the published studies whose stopping rule is armed and
// has not fired: those the server watches without anyone on the page.
func (s *Store) ArmedStudies(ctx context.Context) ([]study.Study, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+studyColumns+` FROM studies st
		WHERE st.status = `+sqlPublished+` AND st.stop_measure <> '' AND st.stop_fired_at IS NULL ORDER BY st.id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: armed studies: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (study.Study, error) {
		var st study.Study
		return st, scanStudy(r, &st)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: armed studies: %w", err)
	}
	return out, nil
}
