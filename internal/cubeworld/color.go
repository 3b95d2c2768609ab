package cubeworld

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
)

// rgb is a colour with channels in [0, 1].
type rgb [3]float64

// parseHex reads "#rrggbb".
func parseHex(s string) (rgb, error) {
	if len(s) != 7 || s[0] != '#' {
		return rgb{}, fmt.Errorf("colour %q is not #rrggbb", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return rgb{}, fmt.Errorf("colour %q is not #rrggbb", s)
	}
	return rgb{float64(v>>16) / 255, float64(v>>8&0xff) / 255, float64(v&0xff) / 255}, nil
}

// Red is the colour of the causal task's red block; no other block uses a red.
const Red = "#d42a2a"

// palette is the block colours other than red: saturated enough to tell
// neighbours apart, none of them near red (no orange, pink or magenta).
func palette() [8]string {
	return [8]string{
		"#3a6fd8", // blue
		"#3e9e4f", // green
		"#e2c03a", // yellow
		"#8456c4", // purple
		"#2aaeb5", // teal
		"#8a8f98", // grey
		"#7fbf3f", // lime
		"#1f4f8f", // navy
	}
}

func (c rgb) scale(s float64) rgb { return rgb{c[0] * s, c[1] * s, c[2] * s} }

// color converts to 8-bit sRGB, clamping.
func (c rgb) color() color.NRGBA {
	ch := func(v float64) uint8 { return uint8(math.Round(255 * math.Max(0, math.Min(1, v)))) }
	return color.NRGBA{ch(c[0]), ch(c[1]), ch(c[2]), 255}
}
