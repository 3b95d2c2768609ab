package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/analysis"
)

// ReportModel is one model and condition on a set, all its seeds: what a
// report shows as one line, bar or heat-map row.
type ReportModel struct {
	analysis.Condition
	Seeds    int
	Imported time.Time // the latest import of any of its seeds
}

// ReportModels lists the models and conditions run on the selection's set,
// the most recently imported first (then by model and condition), so that a
// report can show the latest without reading every run's answers.
func (s *Store) ReportModels(ctx context.Context, sel MatrixSelection) ([]ReportModel, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.model, r.condition, count(*), max(r.imported_at)
		FROM model_runs r
		WHERE r.set_id = COALESCE((SELECT set_id FROM studies WHERE id = $1), $2)
		GROUP BY r.model, r.condition
		ORDER BY max(r.imported_at) DESC, r.model, r.condition`, nullID(sel.StudyID), sel.SetID)
	if err != nil {
		return nil, fmt.Errorf("postgres: report models: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReportModel, error) {
		var m ReportModel
		return m, r.Scan(&m.Model, &m.Condition.Condition, &m.Seeds, &m.Imported)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: report models: %w", err)
	}
	return out, nil
}
