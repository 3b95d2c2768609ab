package server

import (
	"encoding/base64"
	"testing"
)

// TestPictureServedAtValues: only the cookie value the server wrote, for
// that position, session and key, proves a serving; anything else, however
// malformed, is no proof and no panic.
func TestPictureServedAtValues(t *testing.T) {
	key, hash := []byte("k"), make([]byte, 32)
	mac := base64.RawURLEncoding.EncodeToString(pictureMAC(key, "s", hash, 3, 1700000000123))
	// What the code that first wrote these cookies signed (02e47b2): a
	// change of the signed bytes would refuse every cookie already out.
	if mac != "u-k2kBheXRY6VvmYwkW5bA" {
		t.Fatalf("MAC %s, want u-k2kBheXRY6VvmYwkW5bA as signed since picture cookies began", mac)
	}
	good := "3.1700000000123." + mac
	if at, ok := pictureServedAt(good, key, "s", hash, 3); !ok || at.UnixMilli() != 1700000000123 {
		t.Fatalf("the written value: %v %v", at, ok)
	}
	for _, v := range []string{
		"", ".", "..", "3", "3.1700000000123", "3.1700000000123.", good + ".", good + "A", good[:len(good)-1],
		"3.1700000000123." + mac + "AAAA", "3.1700000000124." + mac, "4.1700000000123." + mac, "3.x." + mac,
		"3.1700000000123.." + mac, "3.1700000000123.!" + mac[1:], "03.1700000000123." + mac,
	} {
		if _, ok := pictureServedAt(v, key, "s", hash, 3); ok {
			t.Errorf("%q proved a serving", v)
		}
	}
	if _, ok := pictureServedAt(good, []byte("other"), "s", hash, 3); ok {
		t.Error("another key's check passed")
	}
	if _, ok := pictureServedAt(good, nil, "s", hash, 3); ok {
		t.Error("no key, yet a proof")
	}
	if _, ok := pictureServedAt(good, key, "t", hash, 3); ok {
		t.Error("another study's check passed")
	}
}
