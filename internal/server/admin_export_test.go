package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
	"github.com/cubelab/cubelab/internal/task"
)

// answerAll answers every trial of the env's participant: Yes on odd
// positions, No on even ones.
func (e *adminEnv) answerAll(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for pos := 1; pos <= e.part.NTrials; pos++ {
		if _, err := e.store.ShowTrial(ctx, e.part, pos); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Answer(ctx, e.part.ID, pos, []string{task.No, task.Yes}[pos%2], nil); err != nil {
			t.Fatal(err)
		}
	}
}

// unzip reads every file of a ZIP held in memory.
func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a ZIP (%d bytes): %v", len(b), err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = data
	}
	return files
}

func TestAdminExport(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.answerAll(t)
	c := noRedirects()
	if _, token := e.login(t, c, adminPassword); token == "" {
		t.Fatal("login failed")
	}

	resp, page := e.get(t, c, "/admin/export")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="study" value="towers"`) ||
		!strings.Contains(page, `value="towers-set"`) {
		t.Fatalf("export page: %d\n%s", resp.StatusCode, page)
	}

	resp, body := e.get(t, c, "/admin/export/download?study=towers&source=every&format=csv&val=0&seed=3&size=2&size=3")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/zip" {
		t.Errorf("Content-Type %q", got)
	}
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename="cubelab-towers-every-csv.zip"`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	files := unzip(t, []byte(body))
	recs, err := csv.NewReader(bytes.NewReader(files["data.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// pgtest's towers t01..t04 have sizes 2, 3, 4, 2: three of the four answers.
	if len(recs) != 1+3 {
		t.Fatalf("data.csv has %d rows, want 3 answers of sizes 2 and 3:\n%s", len(recs)-1, files["data.csv"])
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, r := range recs[1:] {
		if r[col["split"]] != "train" || r[col["size"]] == "4" || r[col["participant_id"]] != e.part.PID || r[col["study"]] != "towers" {
			t.Errorf("row %v", r)
		}
		if _, ok := files[r[col["image"]]]; !ok {
			t.Errorf("image %s is not in the ZIP", r[col["image"]])
		}
	}
	if !strings.Contains(string(files["README.md"]), "3 human answers to the exported images from 1 distinct annotators") {
		t.Errorf("card:\n%s", files["README.md"])
	}

	t.Run("Refused", func(t *testing.T) {
		for _, c2 := range []struct {
			query  string
			status int
			msg    string
		}{
			{"study=towers&format=csv", http.StatusBadRequest, "Choose a label source"},
			{"source=every&format=csv", http.StatusBadRequest, "Choose at least one study"},
			{"study=towers&set=towers-set&source=truth&format=csv", http.StatusBadRequest, "not both"},
			{"set=towers-set&source=every&format=csv", http.StatusBadRequest, "ground truth"},
			{"study=towers&source=every&format=parquet", http.StatusBadRequest, "Choose a format"},
			{"study=towers&source=every&format=csv&val=1", http.StatusBadRequest, "validation share"},
			{"study=towers&source=every&format=csv&size=big", http.StatusBadRequest, "size"},
			{"study=nope&source=every&format=csv", http.StatusNotFound, `no study &#34;nope&#34;`},
			{"set=nope&source=truth&format=csv", http.StatusNotFound, "no stimulus set named"},
		} {
			resp, page := e.get(t, c, "/admin/export/download?"+c2.query)
			if resp.StatusCode != c2.status || !strings.Contains(page, c2.msg) || resp.Header.Get("Content-Disposition") != "" {
				t.Errorf("%s: %d %q, want %d with %q", c2.query, resp.StatusCode, resp.Header.Get("Content-Disposition"), c2.status, c2.msg)
				continue
			}
			// The form comes back with the choices as they were made.
			if strings.Contains(c2.query, "format=csv") && !strings.Contains(page, `value="csv" checked`) {
				t.Errorf("%s: the form lost the chosen format", c2.query)
			}
		}
	})

	t.Run("GroundTruthOfSet", func(t *testing.T) {
		resp, body := e.get(t, c, "/admin/export/download?set=towers-set&source=truth&format=imagefolder&val=0")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d\n%s", resp.StatusCode, body)
		}
		files := unzip(t, []byte(body))
		if n := strings.Count(string(files["train/metadata.jsonl"]), "\n"); n != 4 {
			t.Errorf("metadata.jsonl has %d lines, want the set's 4 items", n)
		}
	})
}

// smallBuffers is a listener whose connections have a small send buffer, so
// that a response larger than it waits for the client to read.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestAdminExportSlowClient downloads an export far larger than the socket
// buffers, slowly, from a server whose WriteTimeout passes long before the
// download ends: the download must still arrive whole, as a researcher's
// large export over a slow line must.
func TestAdminExportSlowClient(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	if _, _, err := e.store.ImportSet(context.Background(), pgtest.TowerSet("big-set", 150)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e.handler)
	srv.Config.WriteTimeout = 500 * time.Millisecond
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	slow := *e
	slow.srv = srv

	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: dialer.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if _, token := slow.login(t, c, adminPassword); token == "" {
		t.Fatal("login failed")
	}
	start := time.Now()
	resp, err := c.Get(srv.URL + "/admin/export/download?set=big-set&source=truth&format=openai&val=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	chunk := make([]byte, 4<<10)
	for {
		n, err := resp.Body.Read(chunk)
		body.Write(chunk[:n])
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("after %d bytes and %v: %v", body.Len(), time.Since(start), err)
		}
		time.Sleep(15 * time.Millisecond)
	}
	took := time.Since(start)
	if took < 2*srv.Config.WriteTimeout {
		t.Fatalf("the download took %v: too fast to outlast the WriteTimeout (%d bytes)", took, body.Len())
	}
	files := unzip(t, body.Bytes())
	if n := strings.Count(string(files["train.jsonl"]), "\n"); n != 150 {
		t.Errorf("train.jsonl has %d lines after %v, want 150", n, took)
	}
}

// TestBrowserExport logs in with Chromium, fills the export form and checks
// the ZIP the browser saves.
func TestBrowserExport(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	e.answerAll(t)
	ctx := browser(t)
	dir := t.TempDir()

	step(t, ctx, "log in",
		chromedp.Navigate(e.srv.URL+"/admin/export"),
		chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", adminEmail),
		chromedp.SendKeys("#password", adminPassword),
		chromedp.Submit("#password"),
		chromedp.WaitVisible("#export-form"))
	checkAccessibility(t, ctx, "export")

	// The events end with an error when dctx expires: a download that never
	// completes fails the test instead of hanging it.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	progress := chromedp.Events(dctx, cdpbrowser.DownloadProgress)
	allow := true
	step(t, ctx, "choose and download",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &allow,
			})
			return err
		}),
		chromedp.Click(`input[name=study][value=towers]`),
		chromedp.Click(`input[name=source][value=majority]`),
		chromedp.Click(`input[name=format][value=messages]`),
		chromedp.Click("#download"))

	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	files := unzip(t, b)
	var names []string
	lines := 0
	for name, data := range files {
		names = append(names, name)
		if strings.HasSuffix(name, ".jsonl") {
			lines += strings.Count(string(data), "\n")
		}
	}
	slices.Sort(names)
	images := 0
	for _, n := range names {
		if strings.HasPrefix(n, "images/") {
			images++
		}
	}
	// One participant: the majority of one answer is that answer, for each of the 4 towers.
	if images != 4 || lines != 4 || !slices.Contains(names, "README.md") {
		t.Errorf("downloaded ZIP: %d images, %d examples, files %v", images, lines, names)
	}
	if !strings.Contains(string(files["README.md"]), "the majority of the human answers") {
		t.Errorf("card does not name the majority source:\n%s", files["README.md"])
	}
}
