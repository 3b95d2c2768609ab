package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/task"
)

// TestAnswerEvidence: an answer is never refused for its evidence, but
// stored with it and flagged. A client that never fetches the picture (curl)
// gets its answer flagged no_image; a reload, a page hidden and a fast answer
// are flagged too; the plain form is stored as untimed.
func TestAnswerEvidence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	c := e.client(t)
	e.join(t, c, 1)

	// Trial 1: the page, no picture, the plain form.
	pos := e.trial(t, c)
	if p := e.do(t, c, "POST", "/s/towers/trial", url.Values{"position": {strconv.Itoa(pos)}, "answer": {task.Yes}}); p.status != http.StatusSeeOther {
		t.Fatalf("answer without a picture = %d, want it stored (303):\n%s", p.status, p.body)
	}

	// Trial 2: the page twice, the picture, then a fast answer from a page
	// that was hidden, as the script sends it.
	pos = e.trial(t, c)
	pos = e.trial(t, c)
	if p := e.do(t, c, "GET", "/s/towers/image/"+strconv.Itoa(pos), nil); p.status != 200 {
		t.Fatalf("picture = %d", p.status)
	}
	if p := e.do(t, c, "POST", "/s/towers/trial", url.Values{"position": {strconv.Itoa(pos)}, "answer": {task.Yes},
		"rt": {"90"}, "timing": {"script"}, "hidden": {"1"}, "px": {"512"}}); p.status != http.StatusSeeOther {
		t.Fatalf("fast answer = %d, want it stored (303)", p.status)
	}

	// Trial 3: as meant.
	pos = e.trial(t, c)
	e.do(t, c, "GET", "/s/towers/image/"+strconv.Itoa(pos), nil)
	if p := e.do(t, c, "POST", "/s/towers/trial", url.Values{"position": {strconv.Itoa(pos)}, "answer": {task.Yes},
		"rt": {"1200"}, "timing": {"script"}, "hidden": {"0"}, "px": {"480"}}); p.status != http.StatusSeeOther {
		t.Fatalf("answer = %d", p.status)
	}

	rows, err := e.pool.Query(context.Background(), `SELECT position, array_to_string(flags, ' '), timed, image_ms IS NOT NULL,
		shows, COALESCE(page_hidden::text, ''), COALESCE(image_px, 0) FROM responses ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var pos, shows, px int
		var flags, hidden string
		var timed, served bool
		if err := rows.Scan(&pos, &flags, &timed, &served, &shows, &hidden, &px); err != nil {
			t.Fatal(err)
		}
		if pos == 1 {
			// The plain form's time is the server's, from the page to the
			// answer: too_fast or not depends on the machine's speed.
			flags = strings.TrimSpace(strings.ReplaceAll(flags, "too_fast", ""))
			flags = strings.ReplaceAll(flags, "  ", " ")
		}
		got = append(got, strings.Join([]string{strconv.Itoa(pos), flags, strconv.FormatBool(timed), strconv.FormatBool(served),
			strconv.Itoa(shows), hidden, strconv.Itoa(px)}, "|"))
	}
	want := []string{
		"1|no_image|false|false|1||0",
		"2|too_fast reloaded hidden|true|true|2|true|512",
		"3||true|true|1|false|480",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stored evidence:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := e.count(t, `SELECT n_flagged FROM participants`); n != 2 {
		t.Errorf("participant has %d flagged answers, want 2", n)
	}
	if n := e.count(t, `SELECT longest_run FROM participants`); n != 3 {
		t.Errorf("longest run %d, want 3", n)
	}
}
