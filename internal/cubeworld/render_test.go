package cubeworld

import (
	"bytes"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"
)

func newTestRenderer(t testing.TB, size int) *Renderer {
	t.Helper()
	r, err := NewRenderer(size, png.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderDeterministic(t *testing.T) {
	s, err := Tower(rand.New(rand.NewPCG(3, 4)), 6, DefaultMargin, "")
	if err != nil {
		t.Fatal(err)
	}
	var a, b, c bytes.Buffer
	r1, r2 := newTestRenderer(t, 256), newTestRenderer(t, 256)
	if err := r1.PNG(&a, s.Blocks, nil); err != nil {
		t.Fatal(err)
	}
	// A renderer that drew something else in between, and a fresh one, give the same bytes.
	if err := r1.PNG(&bytes.Buffer{}, []Block{cube(0, 0)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r1.PNG(&b, s.Blocks, nil); err != nil {
		t.Fatal(err)
	}
	if err := r2.PNG(&c, s.Blocks, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || !bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("the same scene gave different PNG bytes")
	}
	img, err := png.Decode(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
		t.Errorf("size %v", img.Bounds())
	}
}

// near reports whether two colours are within tol per channel (8-bit).
func near(a color.Color, b color.NRGBA, tol int) bool {
	c := color.NRGBAModel.Convert(a).(color.NRGBA)
	d := func(x, y uint8) bool { return math.Abs(float64(x)-float64(y)) <= float64(tol) }
	return d(c.R, b.R) && d(c.G, b.G) && d(c.B, b.B)
}

func TestRenderShowsBlocks(t *testing.T) {
	r := newTestRenderer(t, 512)
	// A red cube under a blue one: the middle of each block's front face shows its
	// own colour (shaded), so neither hides the other and the order is right.
	red := cube(0, 0)
	red.Color = Red
	blue := cube(0.02, 0.1)
	blue.Color = "#3a6fd8"
	blocks := []Block{red, blue}
	if err := r.Draw(blocks, nil); err != nil {
		t.Fatal(err)
	}
	img := r.Image()
	for _, tc := range []struct {
		b    Block
		base string
	}{{red, Red}, {blue, "#3a6fd8"}} {
		// The front face (normal -y) is lit by 0.42 + 0.58 * (n . toLight).
		front := vec3{tc.b.Pos[0], tc.b.Pos[1] - tc.b.Size[1]/2, tc.b.Pos[2]}
		x, y := r.cam.project(front)
		c, _ := parseHex(tc.base)
		want := c.scale(0.42 + 0.58*vec3{0, -1, 0}.dot(toLight())).color()
		if got := img.At(int(x), int(y)); !near(got, want, 2) {
			t.Errorf("%s block's front face at (%.0f, %.0f) is %v, want %v", tc.base, x, y, got, want)
		}
	}
	// The top face of the upper block is seen from above.
	x, y := r.cam.project(vec3{blue.Pos[0], blue.Pos[1], blue.Top()})
	c, _ := parseHex("#3a6fd8")
	if want := c.scale(0.42 + 0.58*toLight()[2]).color(); !near(img.At(int(x), int(y)), want, 2) {
		t.Errorf("top face is %v, want %v", img.At(int(x), int(y)), want)
	}
	// A corner of the picture shows the wall, not a block.
	if got := color.NRGBAModel.Convert(img.At(5, 5)).(color.NRGBA); got.B-got.R > 4 || got.R != got.G || got.R < 180 {
		t.Errorf("top-left pixel %v is not the light grey wall", got)
	}
}

func TestRenderOrderInRow(t *testing.T) {
	// Two blocks side by side left of the camera: the one nearer the camera's
	// line of sight must be drawn last.
	r := newTestRenderer(t, 128)
	a, b := cube(-0.3, 0), cube(-0.15, 0)
	r.cam = newCamera(128, []Block{cube(0, 0)}) // straight in front of x = 0
	order := r.drawOrder([]Block{b, a, cube(-0.2, 0.1)})
	if order[0] != 1 || order[1] != 0 || order[2] != 2 {
		t.Errorf("order %v, want [1 0 2]: far, near, then the layer above", order)
	}
}

func TestNewRendererSize(t *testing.T) {
	for _, size := range []int{0, 63, 5000} {
		if _, err := NewRenderer(size, png.BestSpeed); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
}

func BenchmarkRenderTower(b *testing.B) {
	s, err := Tower(rand.New(rand.NewPCG(1, 1)), 7, DefaultMargin, "")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		level png.CompressionLevel
	}{{"draw-only", 0}, {"BestSpeed", png.BestSpeed}, {"Default", png.DefaultCompression}, {"BestCompression", png.BestCompression}} {
		b.Run(bc.name, func(b *testing.B) {
			r, _ := NewRenderer(DefaultImageSize, bc.level)
			var buf bytes.Buffer
			for b.Loop() {
				if bc.name == "draw-only" {
					r.Draw(s.Blocks, nil)
					continue
				}
				buf.Reset()
				r.PNG(&buf, s.Blocks, nil)
			}
			b.ReportMetric(float64(buf.Len()), "png-bytes")
		})
	}
}
