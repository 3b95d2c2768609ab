package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cubelab/cubelab/internal/export"
	"github.com/cubelab/cubelab/internal/study"
	"github.com/cubelab/cubelab/internal/task"
)

// ExportSelection says which rows feed a fine-tuning export: the answers of
// one or several studies, or, for ground-truth labels, the items of a stimulus
// set without any study. Filter narrows either; its Studies are ignored (the
// studies are named by Studies).
type ExportSelection struct {
	Studies []string // study slugs
	Set     string   // stimulus set name; only with the ground-truth source
	Filter  export.Filter
}

// ExportRows checks the selection and returns the stream that export.Write
// reads: one row per answer (or per item, for a set), sorted by the stimulus's
// UUID, attention-check trials and rejected participants left out. Nothing is
// read until the stream is ranged over, and the rows are never held together:
// each is scanned from the connection as export.Write asks for it.
//
// Unknown studies or sets are reported here, with study.ENOTFOUND, before any
// byte of the ZIP exists.
func (s *Store) ExportRows(ctx context.Context, sel ExportSelection) (iter.Seq2[export.Answer, error], error) {
	switch {
	case len(sel.Studies) > 0 && sel.Set != "":
		return nil, study.Errorf(study.EINVALID, "choose studies or a stimulus set, not both")
	case len(sel.Studies) == 0 && sel.Set == "":
		return nil, study.Errorf(study.EINVALID, "choose at least one study, or a stimulus set")
	}
	domains := make([]string, len(sel.Filter.Domains))
	for i, d := range sel.Filter.Domains {
		if _, err := task.ParseDomain(string(d)); err != nil {
			return nil, study.Errorf(study.EINVALID, "%v", err)
		}
		domains[i] = string(d)
	}
	sizes := sel.Filter.Sizes
	if sizes == nil {
		sizes = []int{}
	}
	splits := sel.Filter.SetSplits
	if splits == nil {
		splits = []string{}
	}

	if sel.Set != "" {
		setID, err := s.SetIDByName(ctx, sel.Set)
		if err != nil {
			return nil, err
		}
		// Ground truth needs no answer: one row per item, Response empty.
		return s.exportStream(ctx, `
			SELECT s.id, s.domain, s.size, s.split, s.answer, '', '', '', s.file
			FROM stimuli s
			WHERE s.set_id = $1
			  AND (cardinality($2::text[]) = 0 OR s.domain = ANY($2))
			  AND (cardinality($3::int[]) = 0 OR s.size = ANY($3))
			  AND (cardinality($4::text[]) = 0 OR s.split = ANY($4))
			ORDER BY s.id`, setID, domains, sizes, splits), nil
	}

	ids, err := s.studyIDs(ctx, sel.Studies)
	if err != nil {
		return nil, err
	}
	// A trial is an attention check by its own flag; the study's list is
	// checked too, so that an item listed later is still left out. Within a
	// stimulus the rows are ordered by study and participant, so that the same
	// data gives the same ZIP.
	return s.exportStream(ctx, `
		SELECT s.id, s.domain, s.size, s.split, s.answer, r.answer, p.prolific_pid, st.slug, s.file
		FROM responses r
		JOIN trials t ON t.participant_id = r.participant_id AND t.position = r.position
		JOIN participants p ON p.id = r.participant_id
		JOIN studies st ON st.id = p.study_id
		JOIN stimuli s ON s.id = t.stimulus_id
		WHERE p.study_id = ANY($1)
		  AND p.status <> 'rejected'
		  AND NOT t.is_attention_check
		  AND NOT (t.stimulus_id = ANY(st.attention_check_ids))
		  AND (cardinality($2::text[]) = 0 OR s.domain = ANY($2))
		  AND (cardinality($3::int[]) = 0 OR s.size = ANY($3))
		  AND (cardinality($4::text[]) = 0 OR s.split = ANY($4))
		ORDER BY s.id, st.slug, p.prolific_pid`, ids, domains, sizes, splits), nil
}

// studyIDs resolves slugs, naming every one that does not exist.
func (s *Store) studyIDs(ctx context.Context, slugs []string) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT slug, id FROM studies WHERE slug = ANY($1)`, slugs)
	if err != nil {
		return nil, fmt.Errorf("postgres: export studies: %w", err)
	}
	found := map[string]uuid.UUID{}
	var slug string
	var id uuid.UUID
	if _, err := pgx.ForEachRow(rows, []any{&slug, &id}, func() error {
		found[slug] = id
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: export studies: %w", err)
	}
	var missing []string
	ids := make([]uuid.UUID, 0, len(slugs))
	for _, sl := range slugs {
		id, ok := found[sl]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", sl))
			continue
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(missing) > 0 {
		return nil, study.Errorf(study.ENOTFOUND, "no study named %s", strings.Join(missing, ", "))
	}
	return ids, nil
}

// exportStream runs the query when ranged over and yields its rows one by one.
func (s *Store) exportStream(ctx context.Context, sql string, args ...any) iter.Seq2[export.Answer, error] {
	return func(yield func(export.Answer, error) bool) {
		// Stopping early cancels the query instead of letting Close read the
		// rest of a million rows off the wire.
		qctx, cancel := context.WithCancel(ctx)
		rows, err := s.pool.Query(qctx, sql, args...)
		if err != nil {
			cancel()
			yield(export.Answer{}, fmt.Errorf("postgres: export query: %w", err))
			return
		}
		defer func() {
			cancel()
			rows.Close()
		}()
		var (
			id, prev uuid.UUID
			a        export.Answer
			domain   string
		)
		for rows.Next() {
			if err := rows.Scan(&id, &domain, &a.Size, &a.SetSplit, &a.Truth, &a.Response,
				&a.ParticipantID, &a.Study, &a.ImagePath); err != nil {
				yield(export.Answer{}, fmt.Errorf("postgres: export row: %w", err))
				return
			}
			// A stimulus has many rows in a row: format its id once.
			if id != prev || a.StimulusID == "" {
				prev, a.StimulusID = id, id.String()
			}
			a.Domain = task.Domain(domain)
			if !yield(a, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(export.Answer{}, fmt.Errorf("postgres: export rows: %w", err))
		}
	}
}

// ExportImages opens a stimulus's image from the stimuli table by its UUID.
// Each image is one short query on a connection of its own, beside the one
// that streams the rows.
func (s *Store) ExportImages() export.OpenImage {
	return func(ctx context.Context, stimulusID, _ string) (io.ReadCloser, error) {
		id, err := uuid.Parse(stimulusID)
		if err != nil {
			return nil, fmt.Errorf("postgres: export image: stimulus id %q: %w", stimulusID, err)
		}
		var img []byte
		err = s.pool.QueryRow(ctx, `SELECT image FROM stimuli WHERE id = $1`, id).Scan(&img)
		if err == pgx.ErrNoRows {
			return nil, fmt.Errorf("postgres: export image: no stimulus %s", stimulusID)
		} else if err != nil {
			return nil, fmt.Errorf("postgres: export image %s: %w", stimulusID, err)
		}
		return io.NopCloser(bytes.NewReader(img)), nil
	}
}
