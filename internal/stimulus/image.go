package stimulus

import (
	"bufio"
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG for image.DecodeConfig
	_ "image/png"  // registers PNG
	"io"
	"os"

	_ "golang.org/x/image/webp" // registers WebP
)

// ImageLimits bound what a stimulus picture may be. Both are settings of
// the server and of `server stimuli import`.
type ImageLimits struct {
	MaxBytes int64 // the file's size
	MaxSide  int   // width and height, in pixels
}

// DefaultImageLimits are 20 MB and 4096 pixels a side: far above any
// rendered stimulus (512 px, well under 1 MB) or a photograph for a trial,
// and small enough that four people fetching the largest at once cost the
// server nothing it cannot hold (see docs/BENCHMARKS.md).
var DefaultImageLimits = ImageLimits{MaxBytes: 20 << 20, MaxSide: 4096}

// imageTypes are the formats a stimulus may have, by the name image's
// decoders register, and the content type each is stored and served with.
var imageTypes = map[string]string{"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

// ContentTypes are the content types a stored stimulus may have.
func ContentTypes() []string { return []string{"image/png", "image/jpeg", "image/webp"} }

// ImageInfo is what the header of a stimulus picture says it is.
type ImageInfo struct {
	ContentType   string // image/png, image/jpeg or image/webp
	Width, Height int
}

// CheckImage reads the header of a picture and says what it is, whatever
// its file is called: a file that is not a PNG, JPEG or WebP, or is larger
// than lim allows, is refused with a reason a researcher can act on.
func CheckImage(r io.Reader, size int64, lim ImageLimits) (ImageInfo, error) {
	if lim.MaxBytes > 0 && size > lim.MaxBytes {
		return ImageInfo{}, fmt.Errorf("is %s, over the limit of %s", megabytes(size), megabytes(lim.MaxBytes))
	}
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("is not a PNG, JPEG or WebP image (its content is checked, not its name)")
	}
	ct, ok := imageTypes[format]
	if !ok {
		return ImageInfo{}, fmt.Errorf("is a %s image; only PNG, JPEG and WebP are accepted", format)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return ImageInfo{}, fmt.Errorf("is %dx%d pixels: an image needs at least one pixel", cfg.Width, cfg.Height)
	}
	if lim.MaxSide > 0 && (cfg.Width > lim.MaxSide || cfg.Height > lim.MaxSide) {
		return ImageInfo{}, fmt.Errorf("is %dx%d pixels, over the limit of %d pixels a side", cfg.Width, cfg.Height, lim.MaxSide)
	}
	return ImageInfo{ContentType: ct, Width: cfg.Width, Height: cfg.Height}, nil
}

// CheckImageFile is CheckImage on a file.
func CheckImageFile(name string, lim ImageLimits) (ImageInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return ImageInfo{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ImageInfo{}, err
	}
	return CheckImage(bufio.NewReader(f), fi.Size(), lim)
}

func megabytes(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
