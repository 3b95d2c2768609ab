package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/task"
)

// TestDeviceRecord: the device a participant answers on is kept with the
// participant (user agent alone from a plain form, the script's measures
// when it sends them, replaced only by a different device the script
// measured) and closes every row of the answers download.
func TestDeviceRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	c := e.client(t)
	e.join(t, c, 1)
	device := func() string {
		t.Helper()
		var s string
		err := e.pool.QueryRow(context.Background(), `SELECT concat_ws('|', kind, COALESCE(screen_w::text, ''), COALESCE(screen_h::text, ''),
			COALESCE(viewport_w::text, ''), COALESCE(viewport_h::text, ''), COALESCE(dpr::text, ''),
			pointer, scripted::text, changes, (user_agent LIKE 'Go-http-client%')::text) FROM participant_devices`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	answer := func(extra url.Values) {
		t.Helper()
		pos := e.trial(t, c)
		form := url.Values{"position": {strconv.Itoa(pos)}, "answer": {task.Yes}}
		for k, v := range extra {
			form[k] = v
		}
		if p := e.do(t, c, "POST", "/s/towers/trial", form); p.status != http.StatusSeeOther {
			t.Fatalf("answer %d = %d:\n%s", pos, p.status, p.body)
		}
	}
	// A plain form: the user agent alone.
	answer(nil)
	if got, want := device(), "|||||||false|0|true"; got != want {
		t.Errorf("device after a plain answer = %q, want %q", got, want)
	}
	// The script's first answer from a phone replaces it.
	phone := url.Values{"rt": {"900"}, "timing": {"script"}, "px": {"350"},
		"sw": {"390"}, "sh": {"844"}, "vw": {"390"}, "vh": {"664"}, "dpr": {"3"}, "ptr": {"touch"}}
	answer(phone)
	if got, want := device(), "phone|390|844|390|664|3|touch|true|1|true"; got != want {
		t.Errorf("device after the script's answer = %q, want %q", got, want)
	}
	// An answer without the fields (the script sends them once per tab)
	// changes nothing.
	answer(url.Values{"rt": {"800"}, "timing": {"script"}, "px": {"350"}})
	if got, want := device(), "phone|390|844|390|664|3|touch|true|1|true"; got != want {
		t.Errorf("device after an answer without fields = %q, want %q", got, want)
	}

	var buf bytes.Buffer
	if err := e.store.WriteAnswersCSV(context.Background(), e.study.ID, &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("answers CSV: %d records, %v", len(recs), err)
	}
	head := postgres.AnswersHeader()
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, r := range recs[1:] {
		got := strings.Join([]string{r[col["device"]], r[col["screen"]], r[col["viewport"]], r[col["dpr"]], r[col["pointer"]],
			strconv.FormatBool(strings.HasPrefix(r[col["user_agent"]], "Go-http-client"))}, "|")
		if want := "phone|390x844|390x664|3|touch|true"; got != want {
			t.Errorf("answers CSV row %s device = %q, want %q", r[col["position"]], got, want)
		}
	}
	if recs[2][col["image_px"]] != "350" {
		t.Errorf("answers CSV image_px = %q, want 350", recs[2][col["image_px"]])
	}
}
