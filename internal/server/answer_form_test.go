package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
	"github.com/cubelab/cubelab/internal/task"
)

// FuzzAnswerForm checks that any body either is refused as invalid or gives
// a position >= 1, exactly Yes or No, and a response time within bounds.
func FuzzAnswerForm(f *testing.F) {
	for _, s := range []string{"position=1&answer=Yes&rt=850", "position=2&answer=No", "position=0&answer=Yes",
		"position=1&answer=yes", "position=1&answer=Yes&rt=-1", "position=99999999999999999999&answer=No",
		"position=1&answer=Yes&answer=No", "%zz", "position=1&answer=No&rt=86400001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/s/x/trial", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := parseAnswerForm(r)
		if err != nil {
			if c := problem.Code(err); c != problem.EINVALID && c != problem.EINTERNAL {
				t.Fatalf("error code %q", c)
			}
			return
		}
		if form.Position < 1 || !task.ValidAnswer(form.Answer) {
			t.Fatalf("accepted %+v from %q", form, body)
		}
		if form.BrowserRTMs != nil && (*form.BrowserRTMs < 0 || *form.BrowserRTMs > maxBrowserRTMs) {
			t.Fatalf("accepted response time %d", *form.BrowserRTMs)
		}
	})
}
