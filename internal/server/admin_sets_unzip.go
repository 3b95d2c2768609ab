package server

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/cubelab/cubelab/internal/stimulus"
)

// zipLimits bound what an uploaded ZIP may unpack to, whatever its headers
// claim: a few hundred bytes of deflated zeros can inflate to gigabytes.
type zipLimits struct {
	Bytes int64 // total uncompressed bytes
	Files int   // regular files
}

// zipRefusal is an upload refused for its content; the message is for the
// person who sent it.
type zipRefusal struct{ msg string }

func (e *zipRefusal) Error() string { return e.msg }

func refuseZip(format string, args ...any) error {
	return &zipRefusal{fmt.Sprintf(format, args...)}
}

// unpackSet unpacks a set's ZIP into dir, an empty folder, and returns the
// folder that holds manifest.csv: dir itself, or the ZIP's one top folder
// (whose name is then returned as top, a default name for the set). Entries
// that would land outside dir, links, and anything over the limits are
// refused before or while they are written, never after.
func unpackSet(r io.ReaderAt, size int64, dir string, lim zipLimits) (root, top string, err error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // insecure names are refused below, by name
		return "", "", refuseZip("The file is not a ZIP archive (%v).", err)
	}
	var files int
	var declared uint64
	for _, f := range zr.File {
		if skipEntry(f.Name) {
			continue
		}
		if msg := unsafeEntry(f.Name); msg != "" {
			return "", "", refuseZip("The ZIP entry %q %s; nothing was stored.", f.Name, msg)
		}
		mode := f.Mode()
		if mode.IsDir() {
			continue
		}
		if !mode.IsRegular() {
			return "", "", refuseZip("The ZIP entry %q is not a regular file (a link?); nothing was stored.", f.Name)
		}
		files++
		declared += f.UncompressedSize64
		if files > lim.Files {
			return "", "", refuseZip("The ZIP holds more than %d files; nothing was stored.", lim.Files)
		}
	}
	if declared > uint64(lim.Bytes) {
		return "", "", refuseZip("The ZIP unpacks to more than %d MB; nothing was stored.", lim.Bytes>>20)
	}
	budget := lim.Bytes
	for _, f := range zr.File {
		if skipEntry(f.Name) || f.Mode().IsDir() {
			continue
		}
		n, err := unpackFile(f, dir, budget)
		if err != nil {
			return "", "", err
		}
		budget -= n
	}
	return setRoot(dir)
}

// skipEntry leaves out what archivers add beside the files: macOS resource
// forks and Finder records.
func skipEntry(name string) bool {
	return strings.HasPrefix(name, "__MACOSX/") || path.Base(name) == ".DS_Store"
}

// unsafeEntry says why a name could write outside the folder, or "".
func unsafeEntry(name string) string {
	clean := strings.TrimSuffix(name, "/")
	switch {
	case clean == "":
		return "has no name"
	case strings.Contains(name, `\`):
		return "uses a backslash"
	case path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "":
		return "is an absolute path"
	case !filepath.IsLocal(filepath.FromSlash(clean)):
		return "leaves the folder (..)"
	}
	return ""
}

// unpackFile writes one entry, reading at most budget bytes of it, and
// returns how many it wrote.
func unpackFile(f *zip.File, dir string, budget int64) (int64, error) {
	dst := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, refuseZip("The ZIP entry %q cannot be unpacked (%v); nothing was stored.", f.Name, err)
	}
	rc, err := f.Open()
	if err != nil {
		return 0, refuseZip("The ZIP entry %q cannot be read (%v); nothing was stored.", f.Name, err)
	}
	defer rc.Close()
	// O_EXCL: an archive listing a name twice must not overwrite, and a
	// name seen as a folder before cannot be a file now.
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, refuseZip("The ZIP entry %q cannot be unpacked (%v); nothing was stored.", f.Name, err)
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case n > budget:
		return n, refuseZip("The ZIP unpacks to more than its limit; nothing was stored.")
	case err != nil:
		return n, refuseZip("The ZIP entry %q cannot be read (%v); nothing was stored.", f.Name, err)
	}
	return n, nil
}

// setRoot finds manifest.csv at the top of dir or in its one folder.
func setRoot(dir string) (root, top string, err error) {
	if _, err := os.Stat(filepath.Join(dir, stimulus.ManifestFile)); err == nil {
		return dir, "", nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("server: unpacked set: %w", err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "__MACOSX" {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) == 1 && len(entries) == 1 {
		if _, err := os.Stat(filepath.Join(dir, dirs[0], stimulus.ManifestFile)); err == nil {
			return filepath.Join(dir, dirs[0]), dirs[0], nil
		}
	}
	return "", "", refuseZip("The ZIP has no %s at its top or in its one folder; nothing was stored.", stimulus.ManifestFile)
}
