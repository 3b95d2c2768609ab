package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cubelab/cubelab/internal/modelout"
	"github.com/cubelab/cubelab/internal/postgres"
	"github.com/cubelab/cubelab/internal/server"
)

// importModels stores n models m00, m01, ... on the env's set, one import
// each, m00 first (so the latest import is the last model).
func importModels(t *testing.T, e *adminEnv, n int) {
	t.Helper()
	for k := range n {
		var rows []modelout.Row
		for i := range 4 {
			rows = append(rows, modelout.Row{Model: fmt.Sprintf("m%02d", k), StimulusID: fmt.Sprintf("t%02d", i+1),
				PYes: float64((k+i)%3) / 2, Coverage: 1, Line: i + 2})
		}
		if _, err := e.store.ImportModelOutputs(context.Background(), postgres.ModelImport{Set: "towers-set", Rows: rows}); err != nil {
			t.Fatal(err)
		}
	}
}

// The finding: a report over 1,000 model runs drew and bootstrapped every
// one. Now the figures and the numbers table show the runs a reader picks
// (the 12 latest unless picked), or the table a page of every model by name,
// and only those are read and analysed: the page's CSV holds nothing else.
func TestReportRunPicker(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	e.login(t, c, adminPassword)
	e.answerAll(t)
	importModels(t, e, 30)
	base := studyPath(e.study.ID) + "/report"
	series := func(body, name string) bool { return strings.Contains(body, `<g class="series" data-name="`+name+`">`) }
	row := func(body, name string) bool { return strings.Contains(body, "<td>"+name+"</td>") }

	resp, body := e.get(t, c, base)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %d", resp.StatusCode)
	}
	for k := range 30 {
		name := fmt.Sprintf("m%02d", k)
		if want := k >= 18; series(body, name) != want {
			t.Errorf("default figures: %s drawn %v, want %v (the 12 latest: m18 to m29)", name, !want, want)
		}
		if want := k >= 18; row(body, name) != want {
			t.Errorf("default table: %s listed %v, want %v (the picked)", name, !want, want)
		}
	}
	if n := strings.Count(body, `name="run" value=`); n != 12+18 { // the 12 picked, then page 1's others
		t.Errorf("the picker lists %d runs, want 30", n)
	}
	if n := strings.Count(body, " checked"); n != 12 {
		t.Errorf("%d runs ticked, want 12", n)
	}
	for _, want := range []string{`id="run-picker"`, "The 12 most recently imported of 30 models and conditions.", "Every model by name (30, 25 a page)"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	_, body = e.get(t, c, base+"?page=1")
	if !row(body, "m00") || !row(body, "m24") || row(body, "m25") || !strings.Contains(body, "Models 1 to 25 of 30 by name (page 1 of 2)") ||
		!strings.Contains(body, `rel="next"`) || !series(body, "m29") || series(body, "m00") {
		t.Errorf("table page 1 should list m00 to m24, the figures still the picked")
	}
	_, body = e.get(t, c, base+"?page=2")
	if !row(body, "m25") || !row(body, "m29") || row(body, "m00") || !strings.Contains(body, `rel="prev"`) {
		t.Errorf("table page 2 should list m25 to m29 only")
	}

	pick := "?" + url.Values{"runs": {"picked"}, "run": {server.ReportModelKey("m03", "")}}.Encode()
	_, body = e.get(t, c, base+pick)
	if !series(body, "m03") || series(body, "m29") || !strings.Contains(body, "1 picked of 30 models and conditions.") {
		t.Errorf("picked m03: the figures should draw m03 alone")
	}
	if !strings.Contains(body, "/tower/accuracy.csv"+strings.ReplaceAll(pick, "&", "&amp;")) {
		t.Errorf("figure downloads do not carry the picks")
	}
	_, acsv := e.get(t, c, base+"/tower/accuracy.csv"+pick)
	if !strings.Contains(acsv, "\nm03,") || strings.Contains(acsv, "\nm00,") {
		t.Errorf("accuracy.csv with m03 picked:\n%s", acsv)
	}
	_, all := e.get(t, c, base+".csv"+pick)
	if !strings.Contains(all, ",m03,") || strings.Contains(all, ",m04,") {
		t.Errorf("report.csv should hold the picked run, nothing else:\n%.400s", all)
	}
	_, all = e.get(t, c, base+".csv"+pick+"&page=2")
	if !strings.Contains(all, ",m03,") || !strings.Contains(all, ",m25,") || strings.Contains(all, ",m04,") {
		t.Errorf("report.csv with table page 2 should hold the picked run and m25 to m29, nothing else:\n%.400s", all)
	}

	_, body = e.get(t, c, base+"?runs=picked")
	if strings.Contains(body, `id="tower-heatmap"`) || series(body, "m29") || !strings.Contains(body, "0 picked of 30 models and conditions.") {
		t.Errorf("nothing picked: no model in the figures, no heat map")
	}

	many := url.Values{"runs": {"picked"}}
	for k := range 25 {
		many.Add("run", server.ReportModelKey(fmt.Sprintf("m%02d", k), ""))
	}
	for query, want := range map[string]string{
		"?page=3":           "it has pages 1 to 2",
		"?page=0":           "it has pages 1 to 2",
		"?run=zz":           "is not a model run of this report",
		"?runs=all":         "is not a choice",
		"?" + many.Encode(): "the figures show at most 24",
		"?run=" + strings.Repeat("a", 16) + "&page=-1": "it has pages 1 to 2",
	} {
		resp, body := e.get(t, c, base+query)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 400 saying %q", query, resp.StatusCode, want)
		}
	}
	// A pick that names no stored model (a bookmark after a deletion) is left out, and said so.
	_, body = e.get(t, c, base+"?run="+strings.Repeat("a", 16))
	if !strings.Contains(body, "1 picked model runs are no longer stored") {
		t.Errorf("an unknown pick is not reported")
	}
}

// The finding: a 6,332-run report went on for two minutes after its client
// left. When the last request waiting for a report goes, its computation's
// context is cancelled (and with it the bootstrap, see analysis's
// TestBootstrapStopsWhenCancelled); the next request computes afresh.
func TestReportStopsWhenNobodyWaits(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	e.login(t, c, adminPassword)
	entered, stopped := make(chan struct{}), make(chan error, 1)
	var first atomic.Bool
	e.server.BeforeAnalysis(func(ctx context.Context) {
		if !first.CompareAndSwap(false, true) {
			return
		}
		close(entered)
		select {
		case <-ctx.Done():
			stopped <- ctx.Err()
		case <-time.After(time.Minute): // never cancelled: the test fails
			stopped <- nil
		}
	})
	path := studyPath(e.study.ID) + "/report"
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	<-gone
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("the computation's context after its only client left: %v, want context.Canceled", err)
	}
	if resp, _ := e.get(t, c, path); resp.StatusCode != http.StatusOK {
		t.Errorf("the next request: %d", resp.StatusCode)
	}
	if n := e.server.ReportsComputed(); n != 2 {
		t.Errorf("computed %d times, want 2 (the abandoned one, then afresh)", n)
	}
}
