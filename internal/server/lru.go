package server

import (
	"container/list"
	"sync"
)

// lru keeps values by key, least recently used out first, up to a total
// cost: the server's one cache type, for pictures, picture grants, reports
// and Prolific's answers to entry checks. It is safe for concurrent use.
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
