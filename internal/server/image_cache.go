package server

import (
	"container/list"
	"sync"

	"github.com/google/uuid"
)

// imageCacheBytes bounds the pictures a server process keeps in memory. A
// study's set of 512x512 PNGs is a few megabytes, so this holds the sets of
// every running study while staying small beside the process's other memory.
const imageCacheBytes = 64 << 20

// imageCache keeps stimulus pictures by id, least recently used out first,
// up to a total size. A stimulus's picture never changes under its id, so a
// cached one is never stale and each process reads it from the database
// once instead of once per request; processes share nothing (each has its
// own cache).
type imageCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *imageEntry, most recently used first
	byID  map[uuid.UUID]*list.Element
}

type imageEntry struct {
	id  uuid.UUID
	img []byte
}

func newImageCache(maxBytes int) *imageCache {
	return &imageCache{max: maxBytes, order: list.New(), byID: make(map[uuid.UUID]*list.Element)}
}

// get returns the picture of id if it is cached. The slice is shared: callers
// must not change it.
func (c *imageCache) get(id uuid.UUID) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*imageEntry).img, true
}

// put caches img as the picture of id, dropping the least recently used
// pictures until the total fits. A picture larger than an eighth of the
// bound is not kept, so that one odd upload cannot flush the rest.
func (c *imageCache) put(id uuid.UUID, img []byte) {
	if len(img) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byID[id]; ok {
		return
	}
	c.byID[id] = c.order.PushFront(&imageEntry{id: id, img: img})
	c.size += len(img)
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*imageEntry)
		c.order.Remove(last)
		delete(c.byID, e.id)
		c.size -= len(e.img)
	}
}
