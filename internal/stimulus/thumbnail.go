package stimulus

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	"golang.org/x/image/draw"
)

// ThumbnailSide is the longer side of a set browser's thumbnail, in pixels.
const ThumbnailSide = 160

// Thumbnail decodes a stored picture (PNG, JPEG or WebP) and returns it
// scaled to fit a side x side square, aspect kept, as a PNG. A picture
// already that small is re-encoded at its size. It refuses what does not
// decode, or is larger than lim allows, with a reason.
func Thumbnail(data []byte, side int, lim ImageLimits) ([]byte, error) {
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("stimulus: thumbnail: the picture has %d bytes, more than %d", len(data), lim.MaxBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("stimulus: thumbnail: %w", err)
	}
	if cfg.Width > lim.MaxSide || cfg.Height > lim.MaxSide || cfg.Width < 1 || cfg.Height < 1 {
		return nil, fmt.Errorf("stimulus: thumbnail: the picture is %dx%d pixels, beyond %d a side", cfg.Width, cfg.Height, lim.MaxSide)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("stimulus: thumbnail: %w", err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > side || h > side {
		if w >= h {
			w, h = side, max(1, (h*side+w/2)/w)
		} else {
			w, h = max(1, (w*side+h/2)/h), side
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	// Catmull-Rom: a 512 px render keeps its block edges at 160 px, where
	// nearest-neighbour or bilinear sampling would alias them.
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, dst); err != nil {
		return nil, fmt.Errorf("stimulus: thumbnail: %w", err)
	}
	return out.Bytes(), nil
}
