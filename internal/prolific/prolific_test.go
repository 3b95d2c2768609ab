package prolific_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/prolific"
)

const pid = "60ffe5c8371090c7041d43f8"

func TestParseParams(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		q, _ := url.ParseQuery("PROLIFIC_PID=" + pid + "&STUDY_ID=60ffe5c8371090c7041d43f9&SESSION_ID=abc_DEF-1")
		p, err := prolific.ParseParams(q)
		if err != nil || p.PID != pid || p.StudyID != "60ffe5c8371090c7041d43f9" || p.SessionID != "abc_DEF-1" || p.Preview() {
			t.Fatalf("ParseParams = %+v, %v", p, err)
		}
	})
	t.Run("Preview", func(t *testing.T) {
		p, err := prolific.ParseParams(url.Values{})
		if err != nil || !p.Preview() {
			t.Fatalf("no PID: %+v, %v; want a preview", p, err)
		}
	})
	for name, c := range map[string]struct{ query, param string }{
		"ErrEmptyPID":     {"PROLIFIC_PID=", prolific.ParamPID},
		"ErrShortPID":     {"PROLIFIC_PID=60ffe5c8", prolific.ParamPID},
		"ErrUpperPID":     {"PROLIFIC_PID=60FFE5C8371090C7041D43F8", prolific.ParamPID},
		"ErrNonHexPID":    {"PROLIFIC_PID=60ffe5c8371090c7041d43fz", prolific.ParamPID},
		"ErrTemplatePID":  {"PROLIFIC_PID=%7B%7B%25PROLIFIC_PID%25%7D%7D", prolific.ParamPID},
		"ErrBadStudyID":   {"PROLIFIC_PID=" + pid + "&STUDY_ID=%3Cscript%3E", prolific.ParamStudyID},
		"ErrLongSession":  {"PROLIFIC_PID=" + pid + "&SESSION_ID=" + strings.Repeat("a", 65), prolific.ParamSessionID},
		"ErrSpaceSession": {"PROLIFIC_PID=" + pid + "&SESSION_ID=a%20b", prolific.ParamSessionID},
	} {
		t.Run(name, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			_, err := prolific.ParseParams(q)
			var pe *prolific.ParamError
			if !errors.As(err, &pe) || pe.Param != c.param || pe.Message == "" {
				t.Fatalf("ParseParams(%s) = %v, want a ParamError on %s", c.query, err, c.param)
			}
		})
	}
}

func TestCompletionURL(t *testing.T) {
	if got, want := prolific.CompletionURL("C1A2B3"), "https://app.prolific.com/submissions/complete?cc=C1A2B3"; got != want {
		t.Fatalf("CompletionURL = %q, want %q", got, want)
	}
	if got := prolific.CompletionURL("a&b"); got != "https://app.prolific.com/submissions/complete?cc=a%26b" {
		t.Fatalf("CompletionURL does not escape: %q", got)
	}
}

// FuzzParseParams checks that any query either fails with a ParamError or
// yields ids of the documented forms.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{"", "PROLIFIC_PID=" + pid, "PROLIFIC_PID=" + pid + "&STUDY_ID=x&SESSION_ID=y",
		"PROLIFIC_PID=", "PROLIFIC_PID=%00", "PROLIFIC_PID=a&PROLIFIC_PID=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := prolific.ParseParams(q)
		if err != nil {
			var pe *prolific.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error of the wrong type: %v", err)
			}
			return
		}
		if !p.Preview() && !prolific.ValidID(p.PID) {
			t.Fatalf("accepted PID %q", p.PID)
		}
		if len(p.StudyID) > 64 || len(p.SessionID) > 64 || strings.ContainsAny(p.StudyID+p.SessionID, " <>\"'&\x00") {
			t.Fatalf("accepted STUDY_ID %q SESSION_ID %q", p.StudyID, p.SessionID)
		}
	})
}
