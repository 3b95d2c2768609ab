package cubeworld

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"io"
)

// fastPNG writes opaque pictures as 8-bit RGB PNG, every row with the Sub
// filter and deflated at zlib.BestSpeed. image/png tries all five filters on
// every row and first scans the picture for transparency; for these pictures
// (flat faces, rows of one colour) that doubles the cost of a large pool for
// files about the same size. Its state is reused from picture to picture, so
// it is not safe for concurrent use.
type fastPNG struct {
	raw  []byte // one filtered row
	data bytes.Buffer
	zw   *zlib.Writer
	hdr  [8]byte
}

const pngSignature = "\x89PNG\r\n\x1a\n"

func (f *fastPNG) encode(w io.Writer, img *image.RGBA) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	f.data.Reset()
	if f.zw == nil {
		zw, err := zlib.NewWriterLevel(&f.data, zlib.BestSpeed)
		if err != nil {
			return err
		}
		f.zw = zw
	} else {
		f.zw.Reset(&f.data)
	}
	if n := 1 + 3*width; cap(f.raw) < n {
		f.raw = make([]byte, n)
	}
	raw := f.raw[:1+3*width]
	raw[0] = 1 // filter type Sub: each byte minus the same channel of the pixel to its left
	for y := range height {
		row := img.Pix[(y)*img.Stride : y*img.Stride+4*width]
		var pr, pg, pb byte
		for x := range width {
			r, g, bl := row[4*x], row[4*x+1], row[4*x+2]
			raw[1+3*x], raw[2+3*x], raw[3+3*x] = r-pr, g-pg, bl-pb
			pr, pg, pb = r, g, bl
		}
		if _, err := f.zw.Write(raw); err != nil {
			return err
		}
	}
	if err := f.zw.Close(); err != nil {
		return err
	}
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 2 // 8 bits per channel, truecolour; compression, filter, interlace 0
	if _, err := io.WriteString(w, pngSignature); err != nil {
		return err
	}
	for _, c := range []struct {
		typ  string
		data []byte
	}{{"IHDR", ihdr[:]}, {"IDAT", f.data.Bytes()}, {"IEND", nil}} {
		if err := f.chunk(w, c.typ, c.data); err != nil {
			return fmt.Errorf("cubeworld: write png: %w", err)
		}
	}
	return nil
}

func (f *fastPNG) chunk(w io.Writer, typ string, data []byte) error {
	binary.BigEndian.PutUint32(f.hdr[:4], uint32(len(data)))
	copy(f.hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(f.hdr[4:8])
	crc.Write(data)
	if _, err := w.Write(f.hdr[:]); err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	_, err := w.Write(sum[:])
	return err
}
