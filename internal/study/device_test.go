package study_test

import (
	"net/url"
	"testing"

	"github.com/cubelab/cubelab/internal/study"
)

func TestDevice(t *testing.T) {
	for _, c := range []struct {
		form string
		ok   bool
		want study.Device
		kind string
	}{
		{"", false, study.Device{}, ""},
		{"sw=390&sh=844&vw=390&vh=664&dpr=3&ptr=touch", true, study.Device{ScreenW: 390, ScreenH: 844, ViewportW: 390, ViewportH: 664, DPR: 3, Pointer: "touch", Scripted: true}, "phone"},
		{"sw=844&sh=390&vw=844&vh=300&dpr=3&ptr=touch", true, study.Device{ScreenW: 844, ScreenH: 390, ViewportW: 844, ViewportH: 300, DPR: 3, Pointer: "touch", Scripted: true}, "phone"},
		{"sw=820&sh=1180&vw=820&vh=1000&dpr=2&ptr=touch", true, study.Device{ScreenW: 820, ScreenH: 1180, ViewportW: 820, ViewportH: 1000, DPR: 2, Pointer: "touch", Scripted: true}, "tablet"},
		{"sw=1366&sh=768&vw=1366&vh=657&dpr=1&ptr=mouse", true, study.Device{ScreenW: 1366, ScreenH: 768, ViewportW: 1366, ViewportH: 657, DPR: 1, Pointer: "mouse", Scripted: true}, "desktop"},
		// Nonsense is dropped, never refused.
		{"sw=-1&sh=x&vw=99999999&vh=1e3&dpr=NaN&ptr=<b>", true, study.Device{Scripted: true}, "desktop"},
	} {
		q, _ := url.ParseQuery(c.form)
		d, ok := study.ParseDevice(q.Get)
		if ok != c.ok || d != c.want {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v, %v", c.form, d, ok, c.want, c.ok)
		}
		if k := d.DeviceKind(); k != c.kind {
			t.Errorf("%q: kind %q, want %q", c.form, k, c.kind)
		}
	}
}
