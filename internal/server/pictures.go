package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/stimulus"
)

// pictureSecurityPolicy is the policy of every stimulus picture: a picture
// opened on its own address runs nothing and loads nothing, whatever a
// browser makes of its bytes.
const pictureSecurityPolicy = "default-src 'none'; sandbox"

// servePicture writes the picture of stimulus id. Pictures up to the
// cache's limit for one value are kept by id (a picture never changes
// under its id); larger ones are streamed from the database in pieces, so
// no request holds a whole large picture. A stored picture that is not an
// image of an accepted type, or that failed the image check, is not served.
func (s *Server) servePicture(w http.ResponseWriter, r *http.Request, id uuid.UUID, cache string) error {
	pic, ok := s.images.get(id)
	var stream postgres.Picture
	if !ok {
		p, err := s.store.Picture(r.Context(), id, maxCachedPicture)
		if err != nil {
			return err
		}
		if p.Problem != "" || !slices.Contains(stimulus.ContentTypes(), p.ContentType) {
			s.log.WarnContext(r.Context(), "picture not served: it failed the image check", "stimulus", id, "type", p.ContentType, "problem", p.Problem)
			return problem.Errorf(problem.EGONE, "This picture did not pass the image check, so it is not shown. Please tell the researcher.")
		}
		if p.Data != nil {
			pic = picture{img: p.Data, contentType: p.ContentType}
			s.images.put(id, pic)
		} else {
			stream = p
		}
	}
	headers := func(contentType string, size int64) {
		setHeaders(w.Header(), "Cache-Control", cache, "X-Content-Type-Options", "nosniff", "Content-Security-Policy", pictureSecurityPolicy,
			"Content-Type", contentType, "Content-Length", strconv.FormatInt(size, 10))
	}
	if stream.Size == 0 {
		headers(pic.contentType, int64(len(pic.img)))
		_, _ = w.Write(pic.img) // a failed write means the client went away
		return nil
	}
	headers(stream.ContentType, stream.Size)
	if err := s.store.WritePicture(r.Context(), stream, w); err != nil {
		// Part of the picture may be sent: the Content-Length then tells
		// the browser it is cut short, and nothing else can be said.
		s.log.WarnContext(r.Context(), "picture cut short", "stimulus", id, "err", err)
	}
	return nil
}
