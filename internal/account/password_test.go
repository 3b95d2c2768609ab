package account

import (
	"errors"
	"strings"
	"testing"
)

// fast keeps the tests quick; the format and the check do not depend on cost.
var fast = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashCheck(t *testing.T) {
	h, err := Hash("correct horse battery", fast)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with its parameters", h)
	}
	if err := Check("correct horse battery", h); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := Check("correct horse batterY", h); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: got %v, want ErrMismatch", err)
	}
	h2, _ := Hash("correct horse battery", fast)
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestHashRefusesShortPassword(t *testing.T) {
	if _, err := Hash("short", fast); err == nil {
		t.Error("a 5-character password was accepted")
	}
}

// A hash of RFC 9106's reference parameters made elsewhere must check here.
func TestCheckDefaultParams(t *testing.T) {
	h, err := Hash("another long password", DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=65536,t=3,p=2$") {
		t.Errorf("hash %q does not carry the default parameters", h)
	}
	if err := Check("another long password", h); err != nil {
		t.Error(err)
	}
}

func TestCheckMalformed(t *testing.T) {
	for _, h := range []string{
		"", "$2a$10$abc", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$a2V5",
		"$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$",
	} {
		if err := Check("whatever password", h); err == nil || errors.Is(err, ErrMismatch) {
			t.Errorf("Check(%q) = %v, want a format error", h, err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got, err := NormalizeEmail("  Ada@Example.ORG "); err != nil || got != "ada@example.org" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "ada", "@x.org", "ada@", "a@b@c", "a b@c.org"} {
		if _, err := NormalizeEmail(bad); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
}
