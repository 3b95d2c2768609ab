package study

import "time"

// The participant method: what an answer's evidence says about it. An answer
// is never refused for its evidence (a slow network must not cost a
// participant their answer), only flagged, so that an analysis can exclude it.

// Flag names a reason to doubt that an answer is one the participant saw
// and meant.
type Flag string

// Answer flags, in the order Flags lists them.
const (
	// FlagNoImage: the participant's picture for the trial was never served
	// before the answer; they cannot have seen it.
	FlagNoImage Flag = "no_image"
	// FlagTooFast: the answer came faster than the study's threshold after
	// the picture was painted (or, without the page's timing, after the page
	// was served).
	FlagTooFast Flag = "too_fast"
	// FlagReloaded: the trial page was shown more than once (a reload, the
	// back button, a resume on another device).
	FlagReloaded Flag = "reloaded"
	// FlagHidden: the page was hidden or lost focus during the trial.
	FlagHidden Flag = "hidden"
)

// Flags lists every flag in its order.
func Flags() []Flag { return []Flag{FlagNoImage, FlagTooFast, FlagReloaded, FlagHidden} }

// Method defaults: the minimum viewing time after the picture is painted,
// during which input is ignored, and the too-fast threshold. Both are study
// settings; these are what a new study starts with.
const (
	DefaultMinViewMs = 300
	DefaultTooFastMs = 200
	MaxMethodMs      = 5000 // the largest either setting may be
)

// Evidence is what the server knows about an answer when it arrives.
type Evidence struct {
	ImageServed bool // the picture of the trial was served before the answer
	BrowserRTMs *int // paint-to-answer time the page measured; nil without its script
	ServerRTMs  int  // from the first serving of the trial page to the answer
	Shows       int  // how many times the trial page was served
	Hidden      bool // the page was hidden or lost focus during the trial
}

// Flags returns the flags of an answer with this evidence in a study whose
// too-fast threshold is tooFastMs. The answer statement
// (postgres.Store.Submit) computes the same in SQL; a database test holds the
// two equal.
func (e Evidence) Flags(tooFastMs int) []Flag {
	var fs []Flag
	if !e.ImageServed {
		fs = append(fs, FlagNoImage)
	}
	rt := e.ServerRTMs
	if e.BrowserRTMs != nil {
		rt = *e.BrowserRTMs
	}
	if rt < tooFastMs {
		fs = append(fs, FlagTooFast)
	}
	if e.Shows > 1 {
		fs = append(fs, FlagReloaded)
	}
	if e.Hidden {
		fs = append(fs, FlagHidden)
	}
	return fs
}

// Submission is an answer as the trial form sends it, with what the page
// measured.
type Submission struct {
	Position    int
	Answer      string
	BrowserRTMs *int  // paint-to-answer time; nil without the page's script
	Timed       bool  // the page's script ran (false: a plain form without JavaScript)
	Hidden      *bool // the page was hidden or lost focus; nil: not measured
	ImagePx     *int  // the picture's rendered size in CSS pixels; nil: not measured
	// Device is what the page's script reported about the browser, sent
	// once per tab (nil otherwise); kept per participant, not per answer.
	Device *Device
	// PictureServedAt is when the server served the picture of this
	// trial, as the picture's signed cookie says (nil: no such cookie;
	// the database may still have recorded it).
	PictureServedAt *time.Time
}
