package server

import (
	"net/http/httptest"
	"testing"
)

// Behind a proxy that rewrites Host, the browser's Origin is BASE_URL's,
// not the request's Host: the check compares against BASE_URL when set.
func TestSameOriginBaseURL(t *testing.T) {
	for _, c := range []struct {
		base, host, origin string
		want               bool
	}{
		{"", "lab.example.org", "https://lab.example.org", true},
		{"", "lab.example.org", "https://evil.example", false},
		{"https://lab.example.org", "127.0.0.1:8080", "https://lab.example.org", true},
		{"https://lab.example.org/", "127.0.0.1:8080", "https://LAB.example.org", true},
		{"https://lab.example.org", "127.0.0.1:8080", "http://lab.example.org", false},
		{"https://lab.example.org", "127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"https://lab.example.org", "lab.example.org", "https://evil.example", false},
		{"https://lab.example.org", "lab.example.org", "", false},
	} {
		s := New(Config{BaseURL: c.base})
		r := httptest.NewRequest("POST", "/admin/logout", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := s.sameOrigin(r); got != c.want {
			t.Errorf("BASE_URL %q, Host %q, Origin %q: %v, want %v", c.base, c.host, c.origin, got, c.want)
		}
	}
}
