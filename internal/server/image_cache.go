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

// pictureGrants bounds the remembered grants (about 100 bytes each): two per
// trial page shown, so a thousand participants at once need a few thousand.
const pictureGrants = 1 << 16

// picture is a stimulus picture as served.
type picture struct {
	img         []byte
	contentType string
}

// grantKey names a picture a participant may see: the study, the hash of
// their session token, and the position in their list.
type grantKey struct {
	slug string
	hash [32]byte
	pos  int
}

// newGrantKey makes the key of the picture at pos for the session whose
// token hashes to hash; ok is false for a hash of another length.
func newGrantKey(slug string, hash []byte, pos int) (k grantKey, ok bool) {
	if len(hash) != len(k.hash) {
		return k, false
	}
	copy(k.hash[:], hash)
	return grantKey{slug: slug, hash: k.hash, pos: pos}, true
}

// lru keeps values by key, least recently used out first, up to a total
// cost: the server's one cache (pictures, picture grants, reports). It is
// safe for concurrent use.
type lru[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	total int
	cost  func(V) int
	order *list.List // of *lruEntry[K, V], most recently used first
	byKey map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
}

func newLRU[K comparable, V any](maxCost int, cost func(V) int) *lru[K, V] {
	return &lru[K, V]{max: maxCost, cost: cost, order: list.New(), byKey: make(map[K]*list.Element)}
}

// get returns the value of key if it is kept. A value holding a slice shares
// it: callers must not change it.
func (c *lru[K, V]) get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).val, true
}

// maxCachedPicture is the largest picture the cache keeps; larger ones are
// streamed from the database on every request.
const maxCachedPicture = imageCacheBytes/8 - 64 // the content type counts too

// put keeps val under key (in place of what it held), dropping the least
// recently used values until the total fits. A value costing over an eighth
// of the bound is not kept, so that one odd upload cannot flush the rest.
func (c *lru[K, V]) put(key K, val V) {
	n := c.cost(val)
	if n > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		kept := e.Value.(*lruEntry[K, V])
		c.total += n - c.cost(kept.val)
		kept.val = val
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&lruEntry[K, V]{key: key, val: val})
	c.total += n
	for c.total > c.max {
		last := c.order.Back()
		e := last.Value.(*lruEntry[K, V])
		c.order.Remove(last)
		delete(c.byKey, e.key)
		c.total -= c.cost(e.val)
	}
}

// newImageCache keeps stimulus pictures by id. A stimulus's picture never
// changes under its id, so a kept one is never stale, and each process reads
// it from the database once instead of once per request; processes share
// nothing (each has its own cache).
func newImageCache() *lru[uuid.UUID, picture] {
	return newLRU[uuid.UUID](imageCacheBytes, func(p picture) int { return len(p.img) + len(p.contentType) })
}

// newGrantCache remembers which stimulus is at a position of a session's
// list once the database said so (showing a trial grants its picture and
// the next, the preload). A grant never lapses: the database's rule (the
// session's participant has consented and the position is at most one past
// the current trial) stays true as answers only move on, and a session is
// never withdrawn. A request that finds no grant here (another process, a
// grant dropped) asks the database.
func newGrantCache() *lru[grantKey, uuid.UUID] {
	return newLRU[grantKey](pictureGrants, func(uuid.UUID) int { return 1 })
}
