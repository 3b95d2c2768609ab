package stimulus

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyPNG is a real 2x2 PNG.
func tinyPNG(t testing.TB) []byte { return encodePNG(t, 2, 2) }

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tinyJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(0, 0, color.RGBA{200, 0, 0, 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tinyWebP is a 1x1 lossless WebP (the smallest the format has).
var tinyWebP = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")

func TestCheckImage(t *testing.T) {
	lim := ImageLimits{MaxBytes: 1 << 20, MaxSide: 64}
	for _, c := range []struct {
		name string
		data []byte
		want string // content type, or a part of the refusal
	}{
		{"png", tinyPNG(t), "image/png"},
		{"jpeg", tinyJPEG(t), "image/jpeg"},
		{"webp", tinyWebP, "image/webp"},
		{"html", []byte("<!doctype html><script>alert(1)</script>"), "is not a PNG, JPEG or WebP image"},
		{"javascript", []byte("fetch('/admin/')"), "is not a PNG, JPEG or WebP image"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "not a PNG, JPEG or WebP"},
		{"empty", nil, "is not a PNG, JPEG or WebP image"},
		{"too wide", encodePNG(t, 65, 1), "65x1 pixels, over the limit of 64"},
		{"too tall", encodePNG(t, 1, 65), "1x65 pixels, over the limit of 64"},
	} {
		info, err := CheckImage(bytes.NewReader(c.data), int64(len(c.data)), lim)
		got := info.ContentType
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if _, err := CheckImage(bytes.NewReader(tinyPNG(t)), 2<<20, lim); err == nil || !strings.Contains(err.Error(), "2.0 MB, over the limit of 1.0 MB") {
		t.Errorf("a file over the size limit: %v", err)
	}
}

// TestLoadRefusesNonImages is the finding of the attack: a set holding
// page.html and s.js, listed like pictures, was imported and its files
// served as pages. Load must refuse each, by file, line and reason, and
// take a PNG named .jpg for the PNG it is.
func TestLoadRefusesNonImages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "evil")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		ManifestFile: []byte(head +
			"!!,tower,2,0,0,Yes,,,page.html\n" +
			"t2,tower,2,0,0,No,,,s.js\n" +
			"t3,tower,2,0,0,No,,,fake.png\n" +
			"t4,tower,2,0,0,No,,,real.jpg\n"),
		"page.html": []byte("<html><script src=s.js></script></html>"),
		"s.js":      []byte("fetch('/admin/').then(r => r.text())"),
		"fake.png":  []byte("<script>alert(1)</script>"),
		"real.jpg":  tinyPNG(t),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Load(dir)
	if err == nil {
		t.Fatal("a set of HTML and JavaScript files was accepted")
	}
	for _, want := range []string{
		`manifest.csv:2: file: "page.html" is not a PNG, JPEG or WebP image`,
		`manifest.csv:3: file: "s.js" is not a PNG, JPEG or WebP image`,
		`manifest.csv:4: file: "fake.png" is not a PNG, JPEG or WebP image`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "real.jpg") {
		t.Errorf("a PNG named .jpg is a PNG, not a problem:\n%v", err)
	}

	// Without the bad files, the .jpg is stored as what it is.
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte(head+"t4,tower,2,0,0,No,,,real.jpg\n"), 0o644)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Items[0].ContentType != "image/png" {
		t.Errorf("content type %q, want image/png from the content", s.Items[0].ContentType)
	}
}

// TestLoadRefusesHugeImage: a picture over the size or side limit is
// refused before anything is stored.
func TestLoadRefusesHugeImage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "huge")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte(head+"t1,tower,2,0,0,No,,,big.png\nt2,tower,2,0,0,No,,,wide.png\n"), 0o644)
	// A file over 20 MB (sparse: no 20 MB written) with a valid PNG header.
	f, _ := os.Create(filepath.Join(dir, "big.png"))
	f.Write(tinyPNG(t))
	f.Truncate(DefaultImageLimits.MaxBytes + 1)
	f.Close()
	os.WriteFile(filepath.Join(dir, "wide.png"), encodePNG(t, 4097, 1), 0o644)
	_, err := Load(dir)
	for _, want := range []string{
		`manifest.csv:2: file: "big.png" is 20.0 MB, over the limit of 20.0 MB`,
		`manifest.csv:3: file: "wide.png" is 4097x1 pixels, over the limit of 4096 pixels a side`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestManifestText: NUL, invalid UTF-8 and control characters in the text
// fields are refused by field, not stored (they made the database fail).
func TestManifestText(t *testing.T) {
	in := head +
		"a\x00b,tower,2,0,0,Yes,,,x.png\n" +
		"t2,tower,2,0,0,Yes,\xff\xfe,,y.png\n" +
		"t3,tower,2,0,0,Yes,,p\x07,z.png\n" +
		strings.Repeat("l", 201) + ",tower,2,0,0,Yes,,,w.png\n"
	_, err := ReadManifest(strings.NewReader(in), ManifestFile)
	for _, want := range []string{
		`manifest.csv:2: id: "a\x00b" holds a control character`,
		`manifest.csv:3: split: is not valid UTF-8 text`,
		`manifest.csv:4: pair_id: "p\a" holds a control character`,
		`manifest.csv:5: id: is 201 bytes long, over the limit of 200`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
