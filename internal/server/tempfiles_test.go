package server_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUploadTempFiles: an upload over 8 MB waits in a temporary file while
// it is read. Every one was left behind (the form was parsed on a copy of
// the request, so net/http's cleanup never saw it). Counted in a TMPDIR of
// the test's own after uploads that succeed, fail and are cut off.
//
// Not parallel: TMPDIR is the process's.
func TestUploadTempFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	count := func() []string {
		t.Helper()
		var left []string
		err := filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				left = append(left, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return left
	}
	e := newAdminEnv(t)
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	form := map[string]string{"csrf": token}
	padding := make([]byte, 9<<20) // random: a ZIP cannot shrink it under 8 MB
	rand.Read(padding)

	// Succeeds: a set whose ZIP carries 9 MB more than its pictures.
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for name, body := range map[string][]byte{
		"padded/manifest.csv":   []byte("id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\nt1,tower,2,0,0,Yes,,,t1.png\n"),
		"padded/t1.png":         pngOf(t),
		"padded/notes/data.bin": padding,
	} {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		w.Write(body)
	}
	zw.Close()
	if status, body := e.uploadSet(t, c, form, "padded.zip", &z); status != http.StatusOK {
		t.Fatalf("padded set: %d\n%s", status, body)
	}
	if left := count(); len(left) > 0 {
		t.Errorf("after an upload that succeeded: %v", left)
	}

	// Fails: 9 MB that is no model output.
	status, _ := e.uploadModel(t, c, map[string]string{"csrf": token, "set": "towers-set"}, "junk.csv", bytes.NewReader(padding))
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
		t.Errorf("junk model file: %d, want a refusal", status)
	}
	if left := count(); len(left) > 0 {
		t.Errorf("after an upload that failed: %v", left)
	}

	// Cut off: the client says 20 MB, sends 9 and hangs up.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	mw.WriteField("csrf", token)
	mw.CreateFormFile("file", "cut.zip")
	u, _ := url.Parse(e.srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	var cookies []string
	for _, ck := range c.Jar.Cookies(u.JoinPath("/admin/")) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	fmt.Fprintf(conn, "POST /admin/sets HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nCookie: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		u.Host, e.srv.URL, strings.Join(cookies, "; "), mw.FormDataContentType(), 20<<20)
	conn.Write(head.Bytes())
	conn.Write(padding)
	conn.Close()
	e.srv.Close() // waits for every request, the cut one among them, to end
	if left := count(); len(left) > 0 {
		t.Errorf("after an upload that was cut off: %v", left)
	}
}

// uploadModel posts the models form with file as the upload.
func (e *adminEnv) uploadModel(t *testing.T, c *http.Client, fields map[string]string, name string, file io.Reader) (int, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", name)
	io.Copy(fw, file)
	mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/models", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
