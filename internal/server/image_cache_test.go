package server

import (
	"bytes"
	"testing"

	"github.com/google/uuid"
)

func TestImageCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newImageCache(80)
	a, b, d := uuid.New(), uuid.New(), uuid.New()
	c.put(a, bytes.Repeat([]byte{'a'}, 10))
	c.put(b, bytes.Repeat([]byte{'b'}, 10))
	if _, ok := c.get(a); !ok { // a is now the most recently used
		t.Fatal("a not cached")
	}
	for range 7 { // 70 more bytes: the total passes 80, b (least recent) goes first
		c.put(uuid.New(), make([]byte, 10))
	}
	if _, ok := c.get(b); ok {
		t.Error("b kept past the bound, though least recently used")
	}
	if img, ok := c.get(a); !ok || img[0] != 'a' {
		t.Error("a evicted, though recently used")
	}
	if c.size > c.max {
		t.Errorf("size %d over the bound %d", c.size, c.max)
	}
	c.put(d, make([]byte, 11)) // over max/8: not kept
	if _, ok := c.get(d); ok {
		t.Error("a picture over an eighth of the bound was cached")
	}
}
