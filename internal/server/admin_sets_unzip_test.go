package server

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zipOf builds a ZIP of name -> content, in the order given.
func zipOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		w, err := zw.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func unpack(t *testing.T, z []byte, lim zipLimits) (dir, root, top string, err error) {
	t.Helper()
	dir = t.TempDir()
	root, top, err = unpackSet(bytes.NewReader(z), int64(len(z)), dir, lim)
	return dir, root, top, err
}

var roomy = zipLimits{Bytes: 1 << 20, Files: 100}

func TestUnpackSet(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		dir, root, top, err := unpack(t, zipOf(t, "manifest.csv", "m", "images/a.png", "png"), roomy)
		if err != nil || root != dir || top != "" {
			t.Fatalf("root %q top %q err %v", root, top, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "images", "a.png")); string(b) != "png" {
			t.Errorf("images/a.png holds %q", b)
		}
	})
	t.Run("OneFolder", func(t *testing.T) {
		dir, root, top, err := unpack(t, zipOf(t, "lab-set/", "", "lab-set/manifest.csv", "m", "__MACOSX/lab-set/._manifest.csv", "fork", "lab-set/.DS_Store", "x"), roomy)
		if err != nil || root != filepath.Join(dir, "lab-set") || top != "lab-set" {
			t.Fatalf("root %q top %q err %v", root, top, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "__MACOSX")); err == nil {
			t.Error("macOS resource forks were unpacked")
		}
	})
	refused := func(t *testing.T, err error, want string) {
		t.Helper()
		r, ok := err.(*zipRefusal)
		if !ok || !strings.Contains(r.msg, want) {
			t.Fatalf("got %v, want a refusal saying %q", err, want)
		}
	}
	t.Run("ErrNoManifest", func(t *testing.T) {
		_, _, _, err := unpack(t, zipOf(t, "a/manifest.csv", "m", "b/x.png", "x"), roomy)
		refused(t, err, "no manifest.csv")
	})
	t.Run("ErrNotZip", func(t *testing.T) {
		_, _, _, err := unpack(t, []byte("id,domain\n"), roomy)
		refused(t, err, "not a ZIP")
	})
	t.Run("ErrZipSlip", func(t *testing.T) {
		for name, want := range map[string]string{
			"../evil.png":             "leaves the folder",
			"images/../../evil.png":   "leaves the folder",
			"/etc/cron.d/evil":        "absolute",
			`images\..\..\evil.png`:   "backslash",
			"C:/windows/evil.png":     "", // a plain relative name on Linux: allowed, stays inside
			"images/ok/../../../evil": "leaves the folder",
		} {
			dir := t.TempDir()
			z := zipOf(t, "manifest.csv", "m", name, "evil")
			_, _, err := unpackSet(bytes.NewReader(z), int64(len(z)), filepath.Join(dir, "set"), roomy)
			if want == "" {
				if err != nil {
					t.Errorf("%q: %v", name, err)
				}
				continue
			}
			refused(t, err, want)
			// Nothing at all was written, inside or out.
			n := 0
			filepath.WalkDir(dir, func(string, fs.DirEntry, error) error { n++; return nil })
			if n != 1 {
				t.Errorf("%q: %d paths written before the refusal", name, n-1)
			}
		}
	})
	t.Run("ErrLink", func(t *testing.T) {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		h := &zip.FileHeader{Name: "images/a.png"}
		h.SetMode(fs.ModeSymlink | 0o777)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte("/etc/passwd"))
		zw.Close()
		_, _, _, err := unpack(t, b.Bytes(), roomy)
		refused(t, err, "not a regular file")
	})
	t.Run("ErrTooManyFiles", func(t *testing.T) {
		var files []string
		for i := range 4 {
			files = append(files, "images/"+string(rune('a'+i))+".png", "x")
		}
		_, _, _, err := unpack(t, zipOf(t, files...), zipLimits{Bytes: 1 << 20, Files: 3})
		refused(t, err, "more than 3 files")
	})
	t.Run("ErrBomb", func(t *testing.T) {
		// Honest headers: refused before anything is written.
		big := strings.Repeat("0", 2<<20)
		_, _, _, err := unpack(t, zipOf(t, "manifest.csv", big), roomy)
		refused(t, err, "more than 1 MB")
		// Lying headers (100 bytes claimed, 8 MB of deflated zeros inside):
		// archive/zip stops at the claimed size, the copy at the limit.
		var raw bytes.Buffer
		fw, _ := flate.NewWriter(&raw, flate.BestCompression)
		zeros := make([]byte, 8<<20)
		fw.Write(zeros)
		fw.Close()
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "manifest.csv", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(zeros),
			CompressedSize64: uint64(raw.Len()), UncompressedSize64: 100})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
		zw.Close()
		dir, _, _, err := unpack(t, b.Bytes(), roomy)
		refused(t, err, "nothing was stored")
		if fi, err := os.Stat(filepath.Join(dir, "manifest.csv")); err == nil && fi.Size() > roomy.Bytes+1 {
			t.Errorf("%d bytes written, over the limit", fi.Size())
		}
	})
	t.Run("ErrTwice", func(t *testing.T) {
		_, _, _, err := unpack(t, zipOf(t, "manifest.csv", "m", "manifest.csv", "other"), roomy)
		refused(t, err, "cannot be unpacked")
	})
}
