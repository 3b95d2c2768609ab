package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cubelab/cubelab/internal/postgres/pgtest"
)

// checkPictureHeaders: a picture opened on its own address runs nothing.
func checkPictureHeaders(t *testing.T, what string, r response) {
	t.Helper()
	if r.header.Get("X-Content-Type-Options") != "nosniff" ||
		r.header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
		!strings.HasPrefix(r.header.Get("Cache-Control"), "private") {
		t.Errorf("%s: headers %v", what, r.header)
	}
}

// The attack's set: page.html and s.js listed in manifest.csv like
// pictures. It was imported and served same-origin; now it is refused by
// file and line, and nothing is stored.
func TestSetOfPagesRefused(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	c := noRedirects()
	_, token := e.login(t, c, adminPassword)
	sets0, items0 := e.setCount(t)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range map[string]string{
		"evil/manifest.csv": "id,domain,n_blocks,n_rows,red_row,answer,split,pair_id,file\n" +
			"!!,tower,2,0,0,Yes,,,page.html\nt2,tower,2,0,0,No,,,s.js\nt3,tower,2,0,0,No,,,x.png\n",
		"evil/page.html": `<html><script src="s.js"></script></html>`,
		"evil/s.js":      `fetch("/admin/").then(r => r.text()).then(t => fetch("/admin/studies/x/status", {method: "POST"}))`,
		"evil/x.png":     `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`,
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	status, body := e.uploadSet(t, c, map[string]string{"csrf": token}, "evil.zip", &b)
	if status != http.StatusUnprocessableEntity {
		t.Errorf("status %d, want 422", status)
	}
	for _, want := range []string{
		"manifest.csv:2: file: &#34;page.html&#34; is not a PNG, JPEG or WebP image",
		"manifest.csv:3: file: &#34;s.js&#34; is not a PNG, JPEG or WebP image",
		"manifest.csv:4: file: &#34;x.png&#34; is not a PNG, JPEG or WebP image",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if sets, items := e.setCount(t); sets != sets0 || items != items0 {
		t.Errorf("the refused set stored something: %d sets, %d items", sets, items)
	}
}

// The attack's `!!` id: the example picture was the lowest id of any set
// of the task, so one upload set every tower study's example. Now it comes
// from the study's own set, with the picture headers.
func TestExampleFromOwnSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	ctx := context.Background()
	other := pgtest.TowerSet("someone-elses", 1)
	other.Items[0].ExtID, other.Items[0].Image = "!!", pgtest.PNG(50)
	if _, _, err := e.store.ImportSet(ctx, other); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, e.client(t), "GET", "/s/towers/example", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("example: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if r.body == string(pgtest.PNG(50)) {
		t.Fatal("the example is the `!!` item of another set")
	}
	own := false
	for i := range 4 {
		own = own || r.body == string(pgtest.PNG(i))
	}
	if !own {
		t.Error("the example is not a picture of the study's own set")
	}
	checkPictureHeaders(t, "example", r)
	checkPictureHeaders(t, "preview", e.do(t, e.client(t), "GET", "/s/towers/preview/image/1", nil))
}

// A picture stored before imports decoded them, which is not an image, is
// not served (it would be a page on this site), whatever its stored type.
func TestStoredNonImageNotServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `UPDATE stimuli SET content_type = 'text/html', image = '<script>alert(1)</script>'::bytea
		WHERE set_id = $1`, e.study.SetID); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/s/towers/example", "/s/towers/preview/image/1"} {
		r := e.do(t, e.client(t), "GET", path, nil)
		if r.status != http.StatusGone || strings.Contains(r.body, "<script>alert") || !strings.Contains(r.body, "did not pass the image check") {
			t.Errorf("%s: %d %s\n%s", path, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}

// A picture larger than the cache keeps is streamed in pieces, whole.
func TestLargePictureStreamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	// A valid PNG head and 9 MB of padding: over the cache's 8 MB per picture.
	big := append(pgtest.PNG(1), bytes.Repeat([]byte{0x5a}, 9<<20)...)
	if _, err := e.pool.Exec(ctx, `UPDATE stimuli SET image = $2 WHERE set_id = $1`, e.study.SetID, big); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, e.client(t), "GET", "/s/towers/preview/image/1", nil)
	if r.status != http.StatusOK || r.body != string(big) || r.header.Get("Content-Length") != strconv.Itoa(len(big)) {
		t.Errorf("%d, %d bytes of %d", r.status, len(r.body), len(big))
	}
	checkPictureHeaders(t, "large picture", r)
}

// pngOf is a real small PNG.
func pngOf(t *testing.T) []byte { t.Helper(); return pgtest.PNG(7) }
