package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/study"
)

// MatrixSelection chooses whose answers are compared: the people of one
// study and the models run on its set, or, with no study, the people of
// every study on a set and the models run on it.
type MatrixSelection struct {
	StudyID uuid.UUID // uuid.Nil: the whole set
	SetID   uuid.UUID // ignored when StudyID is set (a study has one set)
	// Viewer limits a whole set's studies to those the account sees
	// (study.Study.VisibleTo); uuid.Nil reads every study (the command line).
	Viewer uuid.UUID
	// Exclude overrides each study's exclusion rule for this analysis; nil
	// applies each study's own.
	Exclude *study.Exclusion
	// Models, when not nil, limits the model runs read to these models and
	// conditions (every seed of each); nil reads every run on the set. A
	// report reads only the runs it shows, so its cost does not grow with
	// the runs stored.
	Models []analysis.Condition
}

// MatrixInfo says what went into a matrix and what was left out, so that a
// report can tell a reader why a figure is empty.
type MatrixInfo struct {
	Set             string `json:"set"`
	Studies         int    `json:"studies"`          // studies whose people are counted
	Items           int    `json:"items"`            // items compared, attention checks excluded
	AttentionChecks int    `json:"attention_checks"` // items left out for everyone
	Humans          int    `json:"humans"`           // completed or approved participants
	Rejected        int    `json:"rejected"`         // rejected participants, excluded
	Unfinished      int    `json:"unfinished"`       // started, returned or timed out: not counted
	ModelRuns       int    `json:"model_runs"`       // runs on the set, read or not (MatrixSelection.Models)
	// Exclusion is the rule applied, in words; Excluded lists the finished
	// participants it left out and why (they are not among Humans).
	Exclusion string           `json:"exclusion"`
	Excluded  []ExcludedPerson `json:"excluded"`
}

// ExcludedPerson is a finished participant the exclusion rule left out.
type ExcludedPerson struct {
	PID     string   `json:"participant_id"`
	Study   string   `json:"study"`
	Reasons []string `json:"reasons"`
}

// LoadMatrix reads every answer of the selection into an observers x items
// matrix, items named by their manifest id. People count when their
// submission is completed or approved; rejected participants and everyone
// who did not finish are left out, and attention-check items are marked so
// that the analysis drops them for people and models alike. A model's answer
// is the likelier label; a tie or no answer is Missing.
func (s *Store) LoadMatrix(ctx context.Context, sel MatrixSelection) (*analysis.Matrix, MatrixInfo, error) {
	var info MatrixInfo
	var m *analysis.Matrix
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// One snapshot, so that people, items and runs agree with each other
		// while answers keep arriving.
		if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY`); err != nil {
			return fmt.Errorf("postgres: matrix: %w", err)
		}
		var studyIDs []uuid.UUID
		setID := sel.SetID
		if sel.StudyID != uuid.Nil {
			var st study.Study
			if err := scanStudy(tx.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies st WHERE st.id = $1`, sel.StudyID), &st); err == pgx.ErrNoRows {
				return problem.Errorf(problem.ENOTFOUND, "There is no such study.")
			} else if err != nil {
				return fmt.Errorf("postgres: matrix study: %w", err)
			}
			setID = st.SetID
			studyIDs = []uuid.UUID{st.ID}
			var err error
			if m, info, err = studyItems(ctx, tx, st); err != nil {
				return err
			}
		} else {
			rows, err := tx.Query(ctx, `SELECT id FROM studies st WHERE set_id = $1 AND ($2::uuid IS NULL OR `+visibleTo("$2")+`)
				ORDER BY created_at`, setID, nullID(sel.Viewer))
			if err != nil {
				return fmt.Errorf("postgres: matrix studies: %w", err)
			}
			if studyIDs, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
				return fmt.Errorf("postgres: matrix studies: %w", err)
			}
			if m, info, err = setItems(ctx, tx, setID, studyIDs); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT name FROM stimulus_sets WHERE id = $1`, setID).Scan(&info.Set); err == pgx.ErrNoRows {
			return problem.Errorf(problem.ENOTFOUND, "There is no such stimulus set.")
		} else if err != nil {
			return fmt.Errorf("postgres: matrix set: %w", err)
		}
		info.Studies = len(studyIDs)
		index := make(map[string]int, len(m.Items))
		for i, it := range m.Items {
			index[it.ID] = i
		}
		if err := loadHumans(ctx, tx, m, index, studyIDs, sel.Exclude, &info); err != nil {
			return err
		}
		return loadModels(ctx, tx, m, index, setID, sel.Models, &info)
	})
	if err != nil {
		return nil, MatrixInfo{}, err
	}
	return m, info, nil
}

// studyItems are the study's items (its set filtered by task, sizes and
// split) and its attention checks, marked.
func studyItems(ctx context.Context, tx pgx.Tx, st study.Study) (*analysis.Matrix, MatrixInfo, error) {
	rows, err := tx.Query(ctx, `
		SELECT ext_id, domain, size, answer, id = ANY($5) FROM stimuli
		WHERE set_id = $1 AND (id = ANY($5) OR (domain = $2
		  AND (cardinality($3::int[]) = 0 OR size = ANY($3))
		  AND ($4 = '' OR split = $4)
		  AND NOT (id = ANY($6)))) -- picked practice items are no trials
		ORDER BY domain, size, ext_id`, st.SetID, string(st.Domain), st.Sizes, st.Split, st.AttentionCheckIDs, nonNil(st.PracticeIDs))
	if err != nil {
		return nil, MatrixInfo{}, fmt.Errorf("postgres: items of %q: %w", st.Slug, err)
	}
	return collectItems(rows)
}

// setItems are every stimulus of a set; an item used as an attention check
// by any of the studies pooled is marked, since some people saw it as one.
func setItems(ctx context.Context, tx pgx.Tx, setID uuid.UUID, studyIDs []uuid.UUID) (*analysis.Matrix, MatrixInfo, error) {
	rows, err := tx.Query(ctx, `
		SELECT s.ext_id, s.domain, s.size, s.answer,
		       EXISTS (SELECT 1 FROM studies st WHERE st.id = ANY($2) AND s.id = ANY(st.attention_check_ids))
		FROM stimuli s WHERE s.set_id = $1
		ORDER BY s.domain, s.size, s.ext_id`, setID, studyIDs)
	if err != nil {
		return nil, MatrixInfo{}, fmt.Errorf("postgres: items of set: %w", err)
	}
	return collectItems(rows)
}

func collectItems(rows pgx.Rows) (*analysis.Matrix, MatrixInfo, error) {
	var info MatrixInfo
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (analysis.Item, error) {
		var it analysis.Item
		var truth string
		if err := r.Scan(&it.ID, &it.Task, &it.Size, &truth, &it.AttentionCheck); err != nil {
			return it, err
		}
		var err error
		it.Truth, err = analysis.ParseAnswer(truth)
		return it, err
	})
	if err != nil {
		return nil, info, fmt.Errorf("postgres: items: %w", err)
	}
	for _, it := range items {
		if it.AttentionCheck {
			info.AttentionChecks++
		} else {
			info.Items++
		}
	}
	return analysis.NewMatrix(items), info, nil
}

// loadHumans adds the completed and approved participants of the studies
// and counts those left out.
func loadHumans(ctx context.Context, tx pgx.Tx, m *analysis.Matrix, index map[string]int, studyIDs []uuid.UUID, override *study.Exclusion, info *MatrixInfo) error {
	// The exclusion rule, the study's own or the override, decides first.
	excluded := map[uuid.UUID]bool{}
	var rules []string
	for _, id := range studyIDs {
		rule, err := studyExclusion(ctx, tx, id, override)
		if err != nil {
			return err
		}
		if d := rule.Describe(); !slices.Contains(rules, d) {
			rules = append(rules, d)
		}
		err = eachParticipant(ctx, tx, []uuid.UUID{id}, rule, func(r *ParticipantRecord) error {
			if len(r.Excluded) > 0 {
				excluded[r.ID] = true
				info.Excluded = append(info.Excluded, ExcludedPerson{PID: r.PID, Study: r.Study, Reasons: slices.Clone(r.Excluded)})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	info.Exclusion = strings.Join(rules, " ")
	if info.Excluded == nil {
		info.Excluded = []ExcludedPerson{}
	}
	err := tx.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE `+counted("status")+`),
		       count(*) FILTER (WHERE status = `+sqlRejected+`),
		       count(*) FILTER (WHERE `+statusIn("status", study.Started, study.Returned, study.TimedOut)+`)
		FROM participants WHERE study_id = ANY($1)`, studyIDs).Scan(&info.Humans, &info.Rejected, &info.Unfinished)
	if err != nil {
		return fmt.Errorf("postgres: matrix participants: %w", err)
	}
	rows, err := tx.Query(ctx, `
		SELECT p.id, s.ext_id, r.answer
		FROM participants p
		JOIN responses r ON r.participant_id = p.id
		JOIN trials t ON t.participant_id = r.participant_id AND t.position = r.position
		JOIN stimuli s ON s.id = t.stimulus_id
		-- An instructed check shows an item's picture but asks for a set answer.
		WHERE p.study_id = ANY($1) AND `+counted("p.status")+` AND t.instructed_answer IS NULL
		ORDER BY p.started_at, p.id`, studyIDs)
	if err != nil {
		return fmt.Errorf("postgres: matrix answers: %w", err)
	}
	defer rows.Close()
	observers := map[uuid.UUID]int{}
	var pid uuid.UUID
	var ext, answer string
	for rows.Next() {
		if err := rows.Scan(&pid, &ext, &answer); err != nil {
			return fmt.Errorf("postgres: matrix answers: %w", err)
		}
		if excluded[pid] {
			continue
		}
		o, ok := observers[pid]
		if !ok {
			o = m.AddObserver(analysis.Observer{ID: pid.String(), Kind: analysis.Human})
			observers[pid] = o
		}
		j, ok := index[ext]
		if !ok {
			continue // an item the study no longer asks about (its sizes were narrowed)
		}
		a, err := analysis.ParseAnswer(answer)
		if err != nil {
			return fmt.Errorf("postgres: matrix answers: %w", err)
		}
		m.Observers[o].Answers[j] = a
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: matrix answers: %w", err)
	}
	info.Humans -= len(info.Excluded)
	return nil
}

// studyExclusion is override, or the study's own rule when override is nil.
func studyExclusion(ctx context.Context, q pgx.Tx, studyID uuid.UUID, override *study.Exclusion) (study.Exclusion, error) {
	if override != nil {
		return *override, nil
	}
	var text string
	if err := q.QueryRow(ctx, `SELECT exclusion FROM studies WHERE id = $1`, studyID).Scan(&text); err != nil {
		return study.Exclusion{}, fmt.Errorf("postgres: exclusion rule: %w", err)
	}
	return study.ParseExclusion(text)
}

// loadModels adds every run on the set (of the given models and
// conditions only, when only is not nil), one observer per run.
func loadModels(ctx context.Context, tx pgx.Tx, m *analysis.Matrix, index map[string]int, setID uuid.UUID, only []analysis.Condition, info *MatrixInfo) error {
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM model_runs WHERE set_id = $1`, setID).Scan(&info.ModelRuns); err != nil {
		return fmt.Errorf("postgres: matrix model runs: %w", err)
	}
	var models, conditions []string // NULL arrays: no limit
	if only != nil {
		models, conditions = make([]string, len(only)), make([]string, len(only))
		for i, c := range only {
			models[i], conditions[i] = c.Model, c.Condition
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT r.id, r.model, r.condition, r.seed, COALESCE(mc.trained, ''), s.ext_id, o.p_yes
		FROM model_runs r
		LEFT JOIN model_conditions mc ON mc.model = r.model AND mc.condition = r.condition
		JOIN model_outputs o ON o.run_id = r.id
		JOIN stimuli s ON s.id = o.stimulus_id
		WHERE r.set_id = $1 AND ($2::text[] IS NULL
		  OR (r.model, r.condition) IN (SELECT * FROM unnest($2::text[], $3::text[])))
		ORDER BY r.model, r.condition, r.seed`, setID, models, conditions)
	if err != nil {
		return fmt.Errorf("postgres: matrix model outputs: %w", err)
	}
	defer rows.Close()
	observers := map[uuid.UUID]int{}
	var id uuid.UUID
	var model, condition, trained, ext string
	var seed int64
	var pYes *float64
	for rows.Next() {
		if err := rows.Scan(&id, &model, &condition, &seed, &trained, &ext, &pYes); err != nil {
			return fmt.Errorf("postgres: matrix model outputs: %w", err)
		}
		o, ok := observers[id]
		if !ok {
			// Stored only through ParseTrained; a row that no longer parses
			// (edited by hand) counts as not recorded rather than failing the report.
			tr, _ := analysis.ParseTrained(trained)
			o = m.AddObserver(analysis.Observer{ID: id.String(), Kind: analysis.Model, Model: model, Condition: condition, Seed: seed, Trained: tr})
			observers[id] = o
		}
		j, ok := index[ext]
		if !ok || pYes == nil {
			continue // outside the study's items, or no answer
		}
		switch {
		case *pYes > 0.5:
			m.Observers[o].Answers[j] = analysis.Yes
		case *pYes < 0.5:
			m.Observers[o].Answers[j] = analysis.No
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: matrix model outputs: %w", err)
	}
	return nil
}

// MatrixVersion is a digest of everything LoadMatrix reads for sel that can
// change: the studies' item choices, each participant's status and answer
// count (answers are only ever added), and the ids of the model runs (a
// replaced run gets a new id). Stimuli never change. Equal versions mean
// equal matrices, so a report computed for one can be shown for the other.
func (s *Store) MatrixVersion(ctx context.Context, sel MatrixSelection) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `
		WITH sel AS (
		  SELECT id, set_id FROM studies WHERE id = $1
		  UNION ALL
		  SELECT st.id, st.set_id FROM studies st WHERE $1 IS NULL AND st.set_id = $2
		    AND ($3::uuid IS NULL OR `+visibleTo("$3")+`)
		), sset AS (
		  SELECT COALESCE((SELECT set_id FROM studies WHERE id = $1), $2) AS id
		)
		SELECT md5(concat_ws('|', CASE WHEN $1 IS NULL THEN 'set' ELSE 'study' END, (SELECT id::text FROM sset),
		  (SELECT string_agg(st.id::text || st.domain || st.sizes::text || st.split || st.attention_check_ids::text || st.exclusion, ',' ORDER BY st.id)
		     FROM studies st WHERE st.id IN (SELECT id FROM sel)),
		  (SELECT string_agg(p.id::text || p.status || p.n_answered, ',' ORDER BY p.id)
		     FROM participants p WHERE p.study_id IN (SELECT id FROM sel)),
		  (SELECT string_agg(r.id::text, ',' ORDER BY r.id) FROM model_runs r WHERE r.set_id = (SELECT id FROM sset)),
		  (SELECT string_agg(mc.model || '/' || mc.condition || '/' || mc.trained, ',' ORDER BY mc.model, mc.condition)
		     FROM model_conditions mc WHERE (mc.model, mc.condition) IN
		       (SELECT r.model, r.condition FROM model_runs r WHERE r.set_id = (SELECT id FROM sset)))))`,
		nullID(sel.StudyID), sel.SetID, nullID(sel.Viewer)).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("postgres: matrix version: %w", err)
	}
	return v, nil
}

// nullID passes uuid.Nil as NULL.
func nullID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
