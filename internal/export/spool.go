package export

import (
	"archive/zip"
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"
)

// spool is one text file of the ZIP, written to a temporary file while the
// images stream into the ZIP, and appended to it at the end.
type spool struct {
	name string // path inside the ZIP
	f    *os.File
	w    *bufio.Writer
}

// spools hands out one spool per ZIP path, in order of first use.
type spools struct {
	dir  string
	list []*spool
}

func (s *spools) get(name string) (*spool, error) {
	for _, sp := range s.list {
		if sp.name == name {
			return sp, nil
		}
	}
	f, err := os.CreateTemp(s.dir, "cubelab-export-*")
	if err != nil {
		return nil, err
	}
	sp := &spool{name: name, f: f, w: bufio.NewWriterSize(f, 256<<10)}
	s.list = append(s.list, sp)
	return sp, nil
}

// remove deletes every temporary file; it runs on success and on failure alike.
func (s *spools) remove() {
	for _, sp := range s.list {
		sp.f.Close()
		os.Remove(sp.f.Name())
	}
	s.list = nil
}

// appendTo copies the spool into its ZIP entry and returns the entry's SHA-256.
func (sp *spool) appendTo(zw *zip.Writer, modified time.Time) ([]byte, error) {
	if err := sp.w.Flush(); err != nil {
		return nil, fmt.Errorf("export: spooling %s: %w", sp.name, err)
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export: rewinding %s: %w", sp.name, err)
	}
	zf, err := zw.CreateHeader(&zip.FileHeader{Name: sp.name, Method: zip.Deflate, Modified: modified})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(zf, h), sp.f); err != nil {
		return nil, fmt.Errorf("export: appending %s: %w", sp.name, err)
	}
	return h.Sum(nil), nil
}
