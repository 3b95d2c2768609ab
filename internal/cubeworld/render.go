package cubeworld

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"sort"

	"github.com/fogleman/gg"
)

// DefaultImageSize is the side, in pixels, of a rendered stimulus.
const DefaultImageSize = 512

// The view: the camera stands in front, looking slightly down (15 degrees),
// so the overhang shows in profile while the top faces still read as 3-D. It
// moves back or forth along that line so that the scene fills the picture,
// though never closer than for a scene about half a metre across, so small
// towers do not turn into giant blocks. Being always above every block's
// bottom, it makes "lower blocks first" a correct drawing order.
const (
	camPitchDeg = 15.0
	camFOVDeg   = 21.0 // vertical (and horizontal) field of view
	minExtent   = 0.45 // metres the picture shows at the least
	wallY       = 0.45 // the back wall, behind every block
)

// toLight points at the light: from the front left, above.
func toLight() vec3 { return vec3{-0.45, -0.8, 1.0}.unit() }

type vec3 [3]float64

func (a vec3) sub(b vec3) vec3      { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec3) dot(b vec3) float64   { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec3) scale(s float64) vec3 { return vec3{a[0] * s, a[1] * s, a[2] * s} }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec3) unit() vec3 { return a.scale(1 / math.Sqrt(a.dot(a))) }

// camera is a pinhole perspective projection onto a size x size image.
type camera struct {
	pos, right, up, fwd vec3
	focal, half         float64
}

// newCamera frames the blocks in a size x size picture.
func newCamera(size int, blocks []Block) camera {
	lo, hi, top := math.Inf(1), math.Inf(-1), 0.0
	for _, b := range blocks {
		for _, v := range b.Footprint() {
			lo, hi = math.Min(lo, v[0]), math.Max(hi, v[0])
		}
		top = math.Max(top, b.Top())
	}
	if len(blocks) == 0 {
		lo, hi = 0, 0
	}
	extent := math.Max(minExtent, math.Max(1.3*top, 1.15*(hi-lo)))
	half := float64(size) / 2
	tanHalf := math.Tan(camFOVDeg * math.Pi / 360)
	dist := extent / 2 / tanHalf
	target := vec3{(lo + hi) / 2, 0, 0.47 * top}
	sp, cp := math.Sincos(camPitchDeg * math.Pi / 180)
	pos := target.sub(vec3{0, dist * cp, -dist * sp})
	fwd := target.sub(pos).unit()
	right := fwd.cross(vec3{0, 0, 1}).unit()
	return camera{pos: pos, fwd: fwd, right: right, up: right.cross(fwd), focal: half / tanHalf, half: half}
}

// project maps a world point to image coordinates (y down).
func (c camera) project(p vec3) (x, y float64) {
	d := p.sub(c.pos)
	z := d.dot(c.fwd)
	return c.half + c.focal*d.dot(c.right)/z, c.half - c.focal*d.dot(c.up)/z
}

// Renderer draws scenes into one reusable image and encodes them as PNG. It
// is not safe for concurrent use: give each goroutine its own.
type Renderer struct {
	size int
	cam  camera // of the scene being drawn
	dc   *gg.Context
	enc  png.Encoder
	fast *fastPNG // for png.BestSpeed, instead of enc
	buf  bytes.Buffer
}

// NewRenderer makes a renderer of size x size pixels; level is the PNG
// compression: png.BestSpeed (a fast encoder of its own, for large pools),
// png.DefaultCompression or png.BestCompression (image/png, for sets that
// ship in the repository).
func NewRenderer(size int, level png.CompressionLevel) (*Renderer, error) {
	if size < 64 || size > 4096 {
		return nil, fmt.Errorf("cubeworld: image size %d is not within 64-4096", size)
	}
	r := &Renderer{size: size, dc: gg.NewContext(size, size)}
	r.enc = png.Encoder{CompressionLevel: level, BufferPool: &encoderBuffers{}}
	if level == png.BestSpeed {
		r.fast = &fastPNG{}
	}
	return r, nil
}

// encoderBuffers keeps one encoder state for the renderer's own reuse.
type encoderBuffers struct{ b *png.EncoderBuffer }

func (p *encoderBuffers) Get() *png.EncoderBuffer  { return p.b }
func (p *encoderBuffers) Put(b *png.EncoderBuffer) { p.b = b }

// Image is the last drawing; it is overwritten by the next Draw.
func (r *Renderer) Image() image.Image { return r.dc.Image() }

// PNG draws the blocks, framed as Draw does, and writes the picture as PNG.
func (r *Renderer) PNG(w io.Writer, blocks, frame []Block) error {
	if err := r.Draw(blocks, frame); err != nil {
		return err
	}
	r.buf.Reset()
	var err error
	if r.fast != nil {
		err = r.fast.encode(&r.buf, r.dc.Image().(*image.RGBA))
	} else {
		err = r.enc.Encode(&r.buf, r.dc.Image())
	}
	if err != nil {
		return fmt.Errorf("cubeworld: encode png: %w", err)
	}
	_, err = w.Write(r.buf.Bytes())
	return err
}

// Draw paints the room and the blocks, with the camera framing the blocks of
// frame (nil: the blocks themselves). A pyramid with its red block removed is
// framed by the whole pyramid, so the twins of a pair show the same view.
func (r *Renderer) Draw(blocks, frame []Block) error {
	colors := make([]rgb, len(blocks))
	for i, b := range blocks {
		c, err := parseHex(b.Color)
		if err != nil {
			return fmt.Errorf("cubeworld: block %d: %w", i, err)
		}
		colors[i] = c
	}
	px := float64(r.size) / DefaultImageSize // line widths were chosen at 512 pixels
	if frame == nil {
		frame = blocks
	}
	r.cam = newCamera(r.size, frame)
	r.drawRoom()
	r.drawContactShadows(blocks)
	for _, i := range r.drawOrder(blocks) {
		r.drawBlock(blocks[i], colors[i], px)
	}
	return nil
}

// drawRoom paints the back wall and the floor, each with a gentle vertical
// gradient so that the floor reads as a receding plane. It writes the pixel
// rows directly: every row is one colour, and gg's gradient fill would cost
// more than all the blocks together.
func (r *Renderer) drawRoom() {
	img := r.dc.Image().(*image.RGBA)
	s := float64(r.size)
	_, horizon := r.cam.project(vec3{0, wallY, 0})
	wallTop, wallBottom := rgb{0.86, 0.86, 0.87}, rgb{0.76, 0.76, 0.77}
	floorBack, floorFront := rgb{0.66, 0.66, 0.67}, rgb{0.55, 0.55, 0.56}
	for y := 0; y < r.size; y++ {
		mid := float64(y) + 0.5
		var c rgb
		switch {
		case mid < horizon:
			c = mix(wallTop, wallBottom, mid/math.Max(horizon, 1))
		default:
			c = mix(floorBack, floorFront, (mid-horizon)/math.Max(s-horizon, 1))
		}
		// The row the horizon crosses gets the two colours in proportion.
		if f := horizon - float64(y); f > 0 && f < 1 {
			c = mix(floorBack, wallBottom, f)
		}
		px := c.color()
		row := img.Pix[y*img.Stride : y*img.Stride+4*r.size]
		for x := 0; x < len(row); x += 4 {
			row[x], row[x+1], row[x+2], row[x+3] = px.R, px.G, px.B, 255
		}
	}
	// The corner between wall and floor.
	r.dc.SetRGBA(0, 0, 0, 0.18)
	r.dc.SetLineWidth(1.2 * s / DefaultImageSize)
	r.dc.DrawLine(0, horizon, s, horizon)
	r.dc.Stroke()
}

// mix is a + (b - a) t.
func mix(a, b rgb, t float64) rgb {
	t = math.Max(0, math.Min(1, t))
	return rgb{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

// drawContactShadows darkens the floor around every block standing on it,
// in layers that fade outward: soft enough not to look like a second block.
func (r *Renderer) drawContactShadows(blocks []Block) {
	dc := r.dc
	const layers = 7
	for _, b := range blocks {
		if math.Abs(b.Bottom()) > contactTol {
			continue
		}
		foot := b.Footprint()
		for k := layers; k >= 1; k-- {
			p := foot.Offset(-0.0045 * float64(k))
			for j, v := range p {
				x, y := r.cam.project(vec3{v[0], v[1], 0})
				if j == 0 {
					dc.MoveTo(x, y)
				} else {
					dc.LineTo(x, y)
				}
			}
			dc.ClosePath()
			dc.SetRGBA(0, 0, 0, 0.075)
			dc.Fill()
		}
	}
}

// drawOrder is a painter's order: lower layers first (the camera is above
// every contact plane, so nothing lower can hide anything higher), and within
// a layer the blocks farther from the camera first, which orders neighbours
// in a pyramid row.
func (r *Renderer) drawOrder(blocks []Block) []int {
	idx := make([]int, len(blocks))
	dist := make([]float64, len(blocks))
	for i, b := range blocks {
		idx[i] = i
		d := vec3(b.Pos).sub(r.cam.pos)
		dist[i] = d.dot(d)
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		za, zb := blocks[ia].Bottom(), blocks[ib].Bottom()
		if math.Abs(za-zb) > contactTol {
			return za < zb
		}
		return dist[ia] > dist[ib]
	})
	return idx
}

// drawBlock fills the block's faces that face the camera, shaded by a
// directional light, with a thin same-colour stroke that closes the
// antialiasing seams between faces and a dark outline that separates
// neighbours of the same colour.
func (r *Renderer) drawBlock(b Block, base rgb, px float64) {
	dc := r.dc
	s, c := math.Sincos(b.YawDeg * math.Pi / 180)
	ax := vec3{c, s, 0}  // the block's own x axis
	ay := vec3{-s, c, 0} // and y axis
	az := vec3{0, 0, 1}
	h := vec3{b.Size[0] / 2, b.Size[1] / 2, b.Size[2] / 2}
	centre := vec3(b.Pos)
	corner := func(i, j, k float64) vec3 {
		return centre.sub(ax.scale(-i * h[0])).sub(ay.scale(-j * h[1])).sub(az.scale(-k * h[2]))
	}
	type face struct {
		n       vec3
		corners [4][3]float64 // signs along the block's axes, counter-clockwise seen from outside
	}
	// The bottom face is left out: the camera is above every block's bottom.
	faces := [...]face{
		{az, [4][3]float64{{-1, -1, 1}, {1, -1, 1}, {1, 1, 1}, {-1, 1, 1}}},
		{ay.scale(-1), [4][3]float64{{-1, -1, -1}, {1, -1, -1}, {1, -1, 1}, {-1, -1, 1}}},
		{ay, [4][3]float64{{1, 1, -1}, {-1, 1, -1}, {-1, 1, 1}, {1, 1, 1}}},
		{ax, [4][3]float64{{1, -1, -1}, {1, 1, -1}, {1, 1, 1}, {1, -1, 1}}},
		{ax.scale(-1), [4][3]float64{{-1, 1, -1}, {-1, -1, -1}, {-1, -1, 1}, {-1, 1, 1}}},
	}
	edge := base.scale(0.45)
	light := toLight()
	for _, f := range faces {
		onFace := corner(f.corners[0][0], f.corners[0][1], f.corners[0][2])
		if onFace.sub(r.cam.pos).dot(f.n) >= 0 {
			continue // faces away from the camera
		}
		shade := 0.42 + 0.58*math.Max(0, f.n.dot(light))
		for j, sg := range f.corners {
			x, y := r.cam.project(corner(sg[0], sg[1], sg[2]))
			if j == 0 {
				dc.MoveTo(x, y)
			} else {
				dc.LineTo(x, y)
			}
		}
		dc.ClosePath()
		col := base.scale(shade).color()
		dc.SetColor(col)
		dc.FillPreserve()
		dc.SetLineWidth(0.8 * px)
		dc.StrokePreserve()
		dc.SetColor(edge.color())
		dc.SetLineWidth(1.1 * px)
		dc.SetLineJoinRound()
		dc.Stroke()
	}
}
