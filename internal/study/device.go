package study

import "strconv"

// Device is what a participant's browser said about itself with their
// answers (issue 10, item 3): enough to tell a phone from a laptop, and how
// large the pictures could be drawn. The picture's rendered size on each
// trial is kept with each answer (Response evidence, image_px).
type Device struct {
	UserAgent string  // from the request header, cut to MaxUserAgent bytes
	ScreenW   int     // screen size in CSS pixels; 0 when unknown (no script)
	ScreenH   int     //
	ViewportW int     // the window's inner size in CSS pixels
	ViewportH int     //
	DPR       float64 // device pixel ratio; 0 when unknown
	Pointer   string  // PointerTouch, PointerMouse, PointerNone or "" (unknown)
	Scripted  bool    // the page's script measured it; false: user agent only
	Kind      string  // DeviceKinds: "desktop", "phone", "tablet"; "" unknown
}

// Pointer types, from the page's (pointer: coarse/fine/none) media query.
const (
	PointerTouch = "touch"
	PointerMouse = "mouse"
	PointerNone  = "none"
)

// MaxUserAgent bounds the stored user agent.
const MaxUserAgent = 512

// maxDeviceSide bounds a screen or viewport side, in CSS pixels.
const maxDeviceSide = 100000

// DeviceKind classifies a device for the exclusion rule (device=KIND): a
// touch screen whose shorter side is under 600 CSS pixels is a phone, a
// larger one a tablet, anything with a mouse or trackpad a desktop. Without
// the page's script the kind is unknown.
func (d Device) DeviceKind() string {
	switch {
	case !d.Scripted:
		return ""
	case d.Pointer == PointerTouch && min(d.ScreenW, d.ScreenH) > 0 && min(d.ScreenW, d.ScreenH) < 600:
		return "phone"
	case d.Pointer == PointerTouch:
		return "tablet"
	}
	return "desktop"
}

// ParseDevice reads the trial form's device fields (sw, sh, vw, vh, dpr,
// ptr); ok is false when the form carries none (no script). Values out of
// range are dropped, not refused: the device record must never cost an
// answer.
func ParseDevice(get func(string) string) (d Device, ok bool) {
	side := func(k string) int {
		n, err := strconv.Atoi(get(k))
		if err != nil || n < 0 || n > maxDeviceSide {
			return 0
		}
		return n
	}
	if get("vw") == "" && get("ptr") == "" {
		return d, false
	}
	d.Scripted = true
	d.ScreenW, d.ScreenH, d.ViewportW, d.ViewportH = side("sw"), side("sh"), side("vw"), side("vh")
	if f, err := strconv.ParseFloat(get("dpr"), 64); err == nil && f > 0 && f <= 16 {
		d.DPR = f
	}
	switch p := get("ptr"); p {
	case PointerTouch, PointerMouse, PointerNone:
		d.Pointer = p
	}
	return d, true
}
