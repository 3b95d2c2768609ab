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

// The report cache's use of lru: each entry costs 1, a second put of a key
// replaces its value, and the least recently used goes when full.
func TestLRUCountBoundAndReplace(t *testing.T) {
	c := newLRU[string](8, func(int) int { return 1 })
	for i, k := range []string{"a", "b", "c", "d", "f", "g", "h", "i"} {
		c.put(k, i)
	}
	c.put("a", 10) // replaces, and makes a the most recently used
	if v, ok := c.get("a"); !ok || v != 10 {
		t.Fatalf("a = %d, %v; want the replaced value 10", v, ok)
	}
	c.put("e", 4) // full: b, the least recently used, goes
	if _, ok := c.get("b"); ok {
		t.Error("b kept past the bound")
	}
	for _, k := range []string{"a", "c", "d", "e", "f", "g", "h", "i"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s dropped", k)
		}
	}
	if c.total != 8 {
		t.Errorf("total cost %d, want 8", c.total)
	}
}
