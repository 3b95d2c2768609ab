package server

import (
	"testing"

	"github.com/google/uuid"
)

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	c := newLRU[string](80, func(b []byte) int { return len(b) })
	c.put("a", []byte("aaaaaaaaaa"))
	c.put("b", []byte("bbbbbbbbbb"))
	if _, ok := c.get("a"); !ok { // a is now the most recently used
		t.Fatal("a not kept")
	}
	for i := range 7 { // 70 more: the total passes 80, b (least recent) goes first
		c.put(string(rune('c'+i)), make([]byte, 10))
	}
	if _, ok := c.get("b"); ok {
		t.Error("b kept past the bound, though least recently used")
	}
	if v, ok := c.get("a"); !ok || v[0] != 'a' {
		t.Error("a dropped, though recently used")
	}
	if c.total > c.max || c.total != 80 {
		t.Errorf("total %d, want 80 (the bound)", c.total)
	}
	c.put("big", make([]byte, 11)) // over max/8: not kept
	if _, ok := c.get("big"); ok {
		t.Error("a value over an eighth of the bound was kept")
	}
}

func TestGrantKeyNeedsAFullHash(t *testing.T) {
	if _, ok := newGrantKey("s", make([]byte, 31), 1); ok {
		t.Error("a 31-byte hash made a key")
	}
	a, _ := newGrantKey("s", make([]byte, 32), 1)
	b, _ := newGrantKey("s", make([]byte, 32), 2)
	c := newGrantCache()
	id := uuid.New()
	c.put(a, id)
	if got, ok := c.get(a); !ok || got != id {
		t.Error("grant not kept")
	}
	if _, ok := c.get(b); ok {
		t.Error("a grant for position 1 answered for position 2")
	}
}
