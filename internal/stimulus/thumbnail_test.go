package stimulus

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func encoded(t *testing.T, w, h int, jpg bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if jpg {
		err = jpeg.Encode(&b, img, nil)
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestThumbnail(t *testing.T) {
	for _, tc := range []struct {
		name         string
		w, h         int
		jpg          bool
		wantW, wantH int
	}{
		{"square render", 512, 512, false, 160, 160},
		{"landscape photograph", 800, 600, true, 160, 120},
		{"portrait", 300, 600, false, 80, 160},
		{"small stays", 100, 50, false, 100, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Thumbnail(encoded(t, tc.w, tc.h, tc.jpg), ThumbnailSide, DefaultImageLimits)
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := image.Decode(bytes.NewReader(out))
			if err != nil || format != "png" {
				t.Fatalf("thumbnail is %q: %v", format, err)
			}
			if b := img.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Errorf("thumbnail is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.wantW, tc.wantH)
			}
		})
	}
	t.Run("ErrNotAnImage", func(t *testing.T) {
		if _, err := Thumbnail([]byte("<svg onload=alert(1)>"), ThumbnailSide, DefaultImageLimits); err == nil {
			t.Fatal("made a thumbnail of markup")
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		if _, err := Thumbnail(encoded(t, 64, 64, false), ThumbnailSide, ImageLimits{MaxBytes: 1 << 20, MaxSide: 32}); err == nil {
			t.Fatal("made a thumbnail beyond the side limit")
		}
	})
}
