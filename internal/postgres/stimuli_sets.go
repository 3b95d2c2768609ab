package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/task"
)

// SetListing is a stored stimulus set as its list page shows it.
type SetListing struct {
	Name       string
	Scenes     bool
	ImportedAt time.Time
	Items      int
	ByDomain   map[task.Domain]int // items per domain; absent domains are 0
	Studies    int                 // studies on the set
	ModelRuns  int                 // model runs imported for it
}

// SetListings lists every stimulus set by name with its items per domain and
// what uses it.
func (s *Store) SetListings(ctx context.Context) ([]SetListing, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT ss.name, ss.has_scenes, ss.imported_at,
		  (SELECT count(*) FROM studies st WHERE st.set_id = ss.id),
		  (SELECT count(*) FROM model_runs r WHERE r.set_id = ss.id),
		  COALESCE(d.domains, '{}'), COALESCE(d.counts, '{}')
		FROM stimulus_sets ss
		LEFT JOIN LATERAL (
		  SELECT array_agg(domain ORDER BY domain) AS domains, array_agg(n ORDER BY domain) AS counts
		  FROM (SELECT domain, count(*)::int AS n FROM stimuli WHERE set_id = ss.id GROUP BY domain) g
		) d ON true
		ORDER BY ss.name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: set listings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SetListing, error) {
		var v SetListing
		var domains []string
		var counts []int
		if err := r.Scan(&v.Name, &v.Scenes, &v.ImportedAt, &v.Studies, &v.ModelRuns, &domains, &counts); err != nil {
			return v, err
		}
		v.ByDomain = make(map[task.Domain]int, len(domains))
		for i, d := range domains {
			v.ByDomain[task.Domain(d)] = counts[i]
			v.Items += counts[i]
		}
		return v, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: set listings: %w", err)
	}
	return out, nil
}
