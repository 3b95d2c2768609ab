package server

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/problem"
)

// TestCheckQueryIsParseQueryAndCheckValues: checkQuery refuses exactly the
// queries url.ParseQuery and checkValues refuse, a query that does not
// parse as unreadable whatever its text.
func TestCheckQueryIsParseQueryAndCheckValues(t *testing.T) {
	for _, q := range []string{
		"", "v=abc", "PROLIFIC_PID=x&STUDY_ID=y&SESSION_ID=z", "a=1&&b=2&", "=1", "a", "a=%41+b",
		"a=%zz", "%zz=1", "a=1;b=2", "a=%00", "%00=1", "a=%ff", "%ff=1", "a=%ff&b=%zz", "a=%00&b=%", "x=\xff",
		// url.ParseQuery's limit on parameters, 10,000: at it and past it.
		strings.Repeat("a=1&", 9999) + "a=1", strings.Repeat("&", 10000),
	} {
		var want error
		if vs, err := url.ParseQuery(q); err != nil {
			want = unreadableAddress()
		} else {
			want = checkValues(vs)
		}
		if got := checkQuery(q); (got == nil) != (want == nil) || (got != nil && problem.Message(got) != problem.Message(want)) {
			t.Errorf("checkQuery(%.40q, %d bytes) = %v, want %v", q, len(q), got, want)
		}
	}
}
