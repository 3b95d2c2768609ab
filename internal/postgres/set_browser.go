package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/stimulus"
)

// The set browser (issue 16, item 5): a set's items a page at a time,
// filtered by task, size and answer, each with a thumbnail made once.

// ItemFilter selects items of a set; empty fields select everything.
type ItemFilter struct {
	Domain string
	Size   int // 0 for every size
	Answer string
	Offset int
	Limit  int
}

// SetItem is one item of a set as the browser shows it.
type SetItem struct {
	ID     uuid.UUID
	ExtID  string
	Domain string
	Size   int
	Answer string
	Split  string
}

// SetFacets are the values a set's items take, for the browser's filters.
type SetFacets struct {
	Domains []string
	Sizes   []int
}

// Facets lists the tasks and sizes present in a set.
func (s *Store) Facets(ctx context.Context, setID uuid.UUID) (SetFacets, error) {
	var f SetFacets
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(array_agg(DISTINCT domain), '{}'), COALESCE(array_agg(DISTINCT size), '{}')
		FROM stimuli WHERE set_id = $1`, setID).Scan(&f.Domains, &f.Sizes)
	if err != nil {
		return f, fmt.Errorf("postgres: set facets: %w", err)
	}
	slices.Sort(f.Domains)
	slices.Sort(f.Sizes)
	return f, nil
}

// SetItems returns a page of a set's items that match the filter, in
// manifest-id order, and how many match in all.
func (s *Store) SetItems(ctx context.Context, setID uuid.UUID, f ItemFilter) ([]SetItem, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 120
	}
	const where = `set_id = $1 AND ($2 = '' OR domain = $2) AND ($3 = 0 OR size = $3) AND ($4 = '' OR answer = $4)`
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM stimuli WHERE `+where, setID, f.Domain, f.Size, f.Answer).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: set items: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, ext_id, domain, size, answer, split FROM stimuli WHERE `+where+`
		ORDER BY ext_id OFFSET $5 LIMIT $6`, setID, f.Domain, f.Size, f.Answer, f.Offset, f.Limit)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: set items: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SetItem, error) {
		var it SetItem
		err := row.Scan(&it.ID, &it.ExtID, &it.Domain, &it.Size, &it.Answer, &it.Split)
		return it, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: set items: %w", err)
	}
	return items, total, nil
}

// Thumbnail returns the thumbnail (PNG, side pixels at most) of a set's
// item, making and keeping it the first time it is asked for. A picture that
// failed the image check gets none (EGONE); a stimulus not of the set is
// ENOTFOUND. made says whether this call made it.
func (s *Store) Thumbnail(ctx context.Context, setID, stimulusID uuid.UUID, side int) (png []byte, made bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT t.png FROM stimulus_thumbnails t JOIN stimuli s ON s.id = t.stimulus_id
		WHERE t.stimulus_id = $1 AND t.side = $2 AND s.set_id = $3`, stimulusID, side, setID).Scan(&png)
	if err == nil {
		return png, false, nil
	} else if err != pgx.ErrNoRows {
		return nil, false, fmt.Errorf("postgres: thumbnail: %w", err)
	}
	var image []byte
	var failed *string
	err = s.pool.QueryRow(ctx, `SELECT s.image, q.problem FROM stimuli s
		LEFT JOIN stimulus_image_problems q ON q.stimulus_id = s.id
		WHERE s.id = $1 AND s.set_id = $2`, stimulusID, setID).Scan(&image, &failed)
	if err == pgx.ErrNoRows {
		return nil, false, problem.Errorf(problem.ENOTFOUND, "This set has no such item.")
	} else if err != nil {
		return nil, false, fmt.Errorf("postgres: thumbnail: %w", err)
	}
	if failed != nil {
		return nil, false, problem.Errorf(problem.EGONE, "This picture did not pass the image check (%s), so it has no thumbnail.", *failed)
	}
	png, err = stimulus.Thumbnail(image, side, stimulus.DefaultImageLimits)
	if err != nil {
		return nil, false, problem.Errorf(problem.EGONE, "This picture cannot be read, so it has no thumbnail.")
	}
	// Two first requests at once may both make it; the first stored wins and
	// both serve the same picture.
	err = s.pool.QueryRow(ctx, `
		WITH ins AS (INSERT INTO stimulus_thumbnails (stimulus_id, side, png) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING RETURNING png)
		SELECT png FROM ins UNION ALL SELECT png FROM stimulus_thumbnails WHERE stimulus_id = $1 AND side = $2
		LIMIT 1`, stimulusID, side, png).Scan(&png)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: thumbnail: %w", err)
	}
	return png, true, nil
}
