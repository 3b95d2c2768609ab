package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/analysis"
	"github.com/cubelab/cubelab/internal/problem"
)

// ModelPYes is one model and condition's P(Yes) on each item of a set,
// averaged over its seeds (as the report averages them), by manifest id.
type ModelPYes struct {
	analysis.Condition
	Seeds int
	PYes  map[string]float64
}

// ModelPYesOf reads the P(Yes) of every model and condition run on the
// selection's set; outputs without a P(Yes) (neither label among the top
// tokens) are left out of the mean. Sorted by model and condition.
func (s *Store) ModelPYesOf(ctx context.Context, sel MatrixSelection) ([]ModelPYes, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.model, r.condition, count(DISTINCT r.seed), s.ext_id, avg(o.p_yes)
		FROM model_runs r
		JOIN model_outputs o ON o.run_id = r.id
		JOIN stimuli s ON s.id = o.stimulus_id
		WHERE r.set_id = COALESCE((SELECT set_id FROM studies WHERE id = $1), $2) AND o.p_yes IS NOT NULL
		GROUP BY r.model, r.condition, s.ext_id
		ORDER BY r.model, r.condition, s.ext_id`, nullID(sel.StudyID), sel.SetID)
	if err != nil {
		return nil, fmt.Errorf("postgres: model P(Yes): %w", err)
	}
	defer rows.Close()
	var out []ModelPYes
	for rows.Next() {
		var model, cond, ext string
		var seeds int
		var p float64
		if err := rows.Scan(&model, &cond, &seeds, &ext, &p); err != nil {
			return nil, fmt.Errorf("postgres: model P(Yes): %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Model != model || out[len(out)-1].Condition.Condition != cond {
			out = append(out, ModelPYes{Condition: analysis.Condition{Model: model, Condition: cond}, PYes: map[string]float64{}})
		}
		m := &out[len(out)-1]
		m.PYes[ext] = p
		m.Seeds = max(m.Seeds, seeds)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: model P(Yes): %w", err)
	}
	return out, nil
}

// StudyItem is a stimulus of a study's set as the item pages show it.
type StudyItem struct {
	ID    uuid.UUID // the stimulus's id, for its picture
	ExtID string
	Scene []byte // the scene as stored (JSON), nil when the set has none
}

// StudyItems reads the stimuli of a study's set whose manifest ids are in extIDs.
func (s *Store) StudyItems(ctx context.Context, studyID uuid.UUID, extIDs []string) (map[string]StudyItem, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT s.id, s.ext_id, s.scene
		FROM stimuli s JOIN studies st ON st.set_id = s.set_id
		WHERE st.id = $1 AND s.ext_id = ANY($2)`, studyID, extIDs)
	if err != nil {
		return nil, fmt.Errorf("postgres: study items: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StudyItem, error) {
		var it StudyItem
		return it, r.Scan(&it.ID, &it.ExtID, &it.Scene)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: study items: %w", err)
	}
	out := make(map[string]StudyItem, len(items))
	for _, it := range items {
		out[it.ExtID] = it
	}
	return out, nil
}

// CheckStudyStimulus says whether a stimulus is on a study's set, so that an
// experimenter's picture link cannot reach another set's images by id.
func (s *Store) CheckStudyStimulus(ctx context.Context, studyID, stimulusID uuid.UUID) error {
	var one int
	err := s.pool.QueryRow(ctx, `
		SELECT 1 FROM stimuli s JOIN studies st ON st.set_id = s.set_id
		WHERE st.id = $1 AND s.id = $2`, studyID, stimulusID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.Errorf(problem.ENOTFOUND, "This study has no such item.")
	}
	if err != nil {
		return fmt.Errorf("postgres: study stimulus: %w", err)
	}
	return nil
}
