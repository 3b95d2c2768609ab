package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// page is a component that writes body in pieces of at most 1000 bytes, as
// a templ page does, then fails with err (nil: none).
func page(body string, err error) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		for s := body; s != ""; {
			n := min(len(s), 1000)
			if _, err := io.WriteString(w, s[:n]); err != nil {
				return err
			}
			s = s[n:]
		}
		return err
	})
}

// TestRenderSendsThePageWhole serves rendered pages over a real connection:
// a page is sent with its Content-Length, not chunked; a page larger than
// maxBufferedPage is streamed whole; a page that fails to render sends
// nothing, so the handler's error page is the whole response; HEAD gets the
// headers alone.
func TestRenderSendsThePageWhole(t *testing.T) {
	small := "<p>" + strings.Repeat("x", 5000) + "</p>"
	big := strings.Repeat("y", maxBufferedPage+3000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch r.URL.Path {
		case "/small":
			err = render(w, r, http.StatusCreated, page(small, nil))
		case "/big":
			err = render(w, r, http.StatusOK, page(big, nil))
		case "/fails":
			err = render(w, r, http.StatusOK, page(small, errors.New("broken")))
		}
		if err != nil {
			_ = render(w, r, http.StatusInternalServerError, page("sorry", nil))
		}
	}))
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		status       int
		body         string
		length       int64 // -1: streamed
	}{
		{"GET", "/small", http.StatusCreated, small, int64(len(small))},
		{"HEAD", "/small", http.StatusCreated, "", int64(len(small))},
		{"GET", "/big", http.StatusOK, big, -1},
		{"GET", "/fails", http.StatusInternalServerError, "sorry", 5},
	} {
		t.Run(c.method+c.path, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.status || string(b) != c.body {
				t.Errorf("status %d, body of %d bytes; want %d, %d bytes", res.StatusCode, len(b), c.status, len(c.body))
			}
			if res.ContentLength != c.length {
				t.Errorf("Content-Length %d, want %d", res.ContentLength, c.length)
			}
			if c.length >= 0 && len(res.TransferEncoding) != 0 {
				t.Errorf("Transfer-Encoding %v, want none", res.TransferEncoding)
			}
			if ct, cc := res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"); ct != "text/html; charset=utf-8" || cc != "no-store" {
				t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
			}
			if c.method == "HEAD" && res.Header.Get("Content-Length") != strconv.Itoa(len(small)) {
				t.Errorf("HEAD: Content-Length %q", res.Header.Get("Content-Length"))
			}
		})
	}
}

// TestSetHeadersIsHeaderSet: setHeaders leaves what Header.Set would, and a
// later Add to one header leaves its neighbours in the shared array alone.
func TestSetHeadersIsHeaderSet(t *testing.T) {
	h := http.Header{}
	h.Set("Cache-Control", "public")
	setHeaders(h, "Cache-Control", "no-store", "X-Frame-Options", "DENY", "Content-Length", "12")
	h.Add("Cache-Control", "private")
	want := http.Header{}
	want.Set("Cache-Control", "no-store")
	want.Add("Cache-Control", "private")
	want.Set("X-Frame-Options", "DENY")
	want.Set("Content-Length", "12")
	if !reflect.DeepEqual(h, want) {
		t.Errorf("headers %v, want %v", h, want)
	}
}
