package main

import (
	"io"
	"strings"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080/", "https://127.0.0.2"} {
		if err := loopback(ok); err != nil {
			t.Errorf("loopback(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "http://192.0.2.1", "ftp://127.0.0.1", "127.0.0.1:8080", "http://"} {
		if err := loopback(bad); err == nil {
			t.Errorf("loopback(%q) accepted", bad)
		}
	}
	getenv := func(string) string { return "" }
	if _, err := parse([]string{"-url", "http://127.0.0.1:1,http://10.1.2.3:1", "-study", "x"}, getenv, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "loopback") {
		t.Errorf("a second, remote target was accepted: %v", err)
	}
	if _, err := parse([]string{"-url", "http://127.0.0.1:1"}, getenv, io.Discard); err == nil {
		t.Error("no study and no database accepted")
	}
}
