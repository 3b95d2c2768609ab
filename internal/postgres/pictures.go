package postgres

import (
	"context"
	"fmt"
	"io"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Picture is a stored stimulus picture as the server serves it. A small
// one carries its bytes; a larger one is read in pieces by WritePicture, so
// that no request holds a whole large picture in memory.
type Picture struct {
	ID          uuid.UUID
	ContentType string
	Size        int64
	Data        []byte // the whole picture when Size <= the inline limit asked for; else nil
	Problem     string // why the picture failed the image check ("" when it passed)
}

// Picture returns stimulus id's picture, with its bytes when it is at most
// inline bytes long.
func (s *Store) Picture(ctx context.Context, id uuid.UUID, inline int64) (Picture, error) {
	p := Picture{ID: id}
	var failed *string
	err := s.pool.QueryRow(ctx, `
		SELECT s.content_type, octet_length(s.image), CASE WHEN octet_length(s.image) <= $2 THEN s.image END, q.problem
		FROM stimuli s LEFT JOIN stimulus_image_problems q ON q.stimulus_id = s.id
		WHERE s.id = $1`, id, inline).Scan(&p.ContentType, &p.Size, &p.Data, &failed)
	if err == pgx.ErrNoRows {
		return p, problem.Errorf(problem.ENOTFOUND, "There is no such picture.")
	} else if err != nil {
		return p, fmt.Errorf("postgres: picture %s: %w", id, err)
	}
	if failed != nil {
		p.Problem = *failed
	}
	return p, nil
}

// pictureChunk is how much of a picture one statement reads.
const pictureChunk = 512 << 10

// WritePicture copies the picture p (from Picture) to w a piece at a time.
// An error after the first piece means the client has part of it; the
// caller can only cut the response short.
func (s *Store) WritePicture(ctx context.Context, p Picture, w io.Writer) error {
	if p.Data != nil {
		_, err := w.Write(p.Data)
		return err
	}
	buf := make([]byte, 0, pictureChunk)
	for off := int64(0); off < p.Size; off += pictureChunk {
		buf = buf[:0]
		// substring is 1-based; out-of-line uncompressed values are read
		// piece by piece (000500_image_check sets that storage).
		err := s.pool.QueryRow(ctx, `SELECT substring(image FROM $2 FOR $3) FROM stimuli WHERE id = $1`,
			p.ID, off+1, pictureChunk).Scan(&buf)
		if err != nil {
			return fmt.Errorf("postgres: picture %s at %d: %w", p.ID, off, err)
		}
		if len(buf) == 0 {
			return fmt.Errorf("postgres: picture %s shorter than %d bytes", p.ID, p.Size)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// ImageProblems lists the stored pictures that failed the image check of
// migration 000500 (by set and manifest id), for the server's log.
func (s *Store) ImageProblems(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT format('set %s, item %s (%s): %s', ss.name, st.ext_id, st.file, q.problem)
		FROM stimulus_image_problems q JOIN stimuli st ON st.id = q.stimulus_id JOIN stimulus_sets ss ON ss.id = st.set_id
		ORDER BY ss.name, st.ext_id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: image problems: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: image problems: %w", err)
	}
	return out, nil
}
