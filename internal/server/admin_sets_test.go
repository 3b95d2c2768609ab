package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// setZip is a ZIP of a set folder named dir ("" for none) of n towers whose
// manifest row for t02 has the answer answer2.
func setZip(t *testing.T, dir string, n int, answer2 string, extra ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	add := func(name string, body []byte) {
		if dir != "" {
			name = dir + "/" + name
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	var m strings.Builder
	m.WriteString("id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\n")
	for i := range n {
		answer := "No"
		if i == 1 {
			answer = answer2
		}
		fmt.Fprintf(&m, "t%02d,tower,%d,0,0,%s,test,,images/t%02d.png\n", i+1, 2+i%3, answer, i+1)
		add(fmt.Sprintf("images/t%02d.png", i+1), pgtest.PNG(i))
	}
	add("manifest.csv", []byte(m.String()))
	for i := 0; i < len(extra); i += 2 {
		w, _ := zw.Create(extra[i])
		w.Write([]byte(extra[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadSet posts the set form with body as the file, streamed.
func (e *adminEnv) uploadSet(t *testing.T, c *http.Client, fields map[string]string, name string, file io.Reader) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			mw.WriteField(k, v)
		}
		fw, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = io.Copy(fw, file)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/sets", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *adminEnv) setCount(t *testing.T) (sets, items int) {
	t.Helper()
	err := e.store.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM stimulus_sets), (SELECT count(*) FROM stimuli)`).Scan(&sets, &items)
	if err != nil {
		t.Fatal(err)
	}
	return sets, items
}

func TestAdminSetUpload(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t) // holds the set "towers-set" of 4 towers, used by a study
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	form := map[string]string{"csrf": token}
	sets0, items0 := e.setCount(t)

	t.Run("ErrLineAndField", func(t *testing.T) {
		status, body := e.uploadSet(t, c, form, "lab.zip", bytes.NewReader(setZip(t, "lab-towers", 3, "maybe")))
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Set lab-towers was not imported: nothing was stored") ||
			!strings.Contains(body, "manifest.csv:3: answer: &#34;maybe&#34; is not Yes or No") {
			t.Errorf("%d, want 422 naming manifest.csv line 3, field answer:\n%s", status, body)
		}
	})
	t.Run("ErrZipSlip", func(t *testing.T) {
		status, body := e.uploadSet(t, c, form, "slip.zip", bytes.NewReader(setZip(t, "", 3, "Yes", "../../escaped.png", "x")))
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "leaves the folder") {
			t.Errorf("%d, want 422 for a ../ entry:\n%s", status, body)
		}
	})
	t.Run("ErrNoFile", func(t *testing.T) {
		status, body := e.uploadSet(t, c, form, "", strings.NewReader(""))
		if status != http.StatusBadRequest || !strings.Contains(body, "Choose a ZIP") {
			t.Errorf("%d:\n%s", status, body)
		}
	})
	t.Run("ErrName", func(t *testing.T) {
		status, body := e.uploadSet(t, c, map[string]string{"csrf": token, "name": "my set"}, "lab.zip", bytes.NewReader(setZip(t, "", 3, "Yes")))
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot name a set") {
			t.Errorf("%d:\n%s", status, body)
		}
	})
	if sets, items := e.setCount(t); sets != sets0 || items != items0 {
		t.Fatalf("refused uploads stored something: %d sets, %d items", sets, items)
	}

	t.Run("OK", func(t *testing.T) {
		status, body := e.uploadSet(t, c, form, "lab.zip", bytes.NewReader(setZip(t, "lab-towers", 3, "Yes")))
		if status != http.StatusOK || !strings.Contains(body, "Imported set lab-towers: 3 items.") {
			t.Fatalf("%d:\n%s", status, body)
		}
		if !strings.Contains(body, `<td><a href="/admin/sets/lab-towers">lab-towers</a></td><td class="num">3</td><td class="num">3</td><td class="num">0</td>`) ||
			!strings.Contains(body, `href="/admin/sets/lab-towers/report"`) {
			t.Errorf("the set is not listed with its items per domain and report:\n%s", body)
		}
		// Without a folder in the ZIP the file's name names the set.
		status, body = e.uploadSet(t, c, form, `C:\data\flat-towers.zip`, bytes.NewReader(setZip(t, "", 2, "Yes")))
		if status != http.StatusOK || !strings.Contains(body, "Imported set flat-towers: 2 items.") {
			t.Fatalf("%d:\n%s", status, body)
		}
		status, body = e.uploadSet(t, c, form, "lab.zip", bytes.NewReader(setZip(t, "lab-towers", 3, "Yes")))
		if status != http.StatusOK || !strings.Contains(body, "already imported with the same content") {
			t.Errorf("again: %d:\n%s", status, body)
		}
		if sets, items := e.setCount(t); sets != sets0+2 || items != items0+5 {
			t.Errorf("%d sets, %d items, want %d and %d", sets, items, sets0+2, items0+5)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		status, body := e.uploadSet(t, c, form, "lab.zip", bytes.NewReader(setZip(t, "lab-towers", 3, "No")))
		if status != http.StatusConflict || !strings.Contains(body, "a different stimulus set named") {
			t.Errorf("%d, want 409:\n%s", status, body)
		}
		replace := map[string]string{"csrf": token, "replace": "1"}
		status, body = e.uploadSet(t, c, replace, "lab.zip", bytes.NewReader(setZip(t, "lab-towers", 3, "No")))
		if status != http.StatusOK || !strings.Contains(body, "in place of the set of that name stored before") {
			t.Errorf("%d with replace:\n%s", status, body)
		}
		// The study's set is never replaced.
		replace["name"] = "towers-set"
		status, body = e.uploadSet(t, c, replace, "lab.zip", bytes.NewReader(setZip(t, "", 4, "No")))
		if status != http.StatusConflict || !strings.Contains(body, "used by 1 stud") {
			t.Errorf("%d replacing a study's set:\n%s", status, body)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		// Streamed, so the test holds no half gigabyte.
		huge := io.LimitReader(zeroReader{}, 512<<20+1)
		status, _ := e.uploadSet(t, c, form, "huge.zip", huge)
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("%d, want 413", status)
		}
	})
	t.Run("Page", func(t *testing.T) {
		resp, body := e.get(t, c, "/admin/sets")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/admin/sets" aria-current`) ||
			!strings.Contains(body, `<td><a href="/admin/sets/towers-set">towers-set</a></td><td class="num">4</td>`) || !strings.Contains(body, "at most 512 MB") {
			t.Errorf("%d:\n%s", resp.StatusCode, body)
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
