package storage

// Indexes of closed segments are read into memory on first use and kept in
// a cache bounded by bytes, shared by all logs of a Manager, so memory is
// proportional to what is being read rather than to what is on disk. The
// active segment's indexes are pinned: they are being appended to and are
// never evicted. Readers that hold an evicted index keep using it: it is an
// immutable slice, freed by the garbage collector when the last reader is
// done, so eviction needs no reference counting.

import "sync"

// defaultIndexCacheBytes bounds the memory held by loaded closed-segment
// indexes (a 1 GiB segment with the default index.interval.bytes has about
// 2 MiB of offset index and 3 MiB of time index at most).
const defaultIndexCacheBytes = 64 << 20

type indexCache struct {
	budget int64

	mu struct {
		sync.Mutex
		segs  clockRing[*segment]
		bytes int64
	}
}

// Per segment state guarded by indexCache.mu lives in segment.cache.
type indexCacheSlot struct {
	clock  clockSlot // place in indexCache.mu.segs; its clock bit is set lock-free on use
	bytes  int64     // accounted size
	pinned bool      // active segment: never cached nor evicted
	dead   bool      // deleted segment: never cached again
}

func newIndexCache(budget int64) *indexCache {
	return &indexCache{budget: budget}
}

// add accounts a freshly loaded index of a closed segment, evicting others
// over the budget.
func (c *indexCache) add(s *segment, ix *segIndex) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.cache.pinned || s.cache.dead || s.idx.Load() != ix {
		return
	}
	c.mu.segs.add(s)
	c.mu.bytes -= s.cache.bytes
	s.cache.bytes = ix.bytes()
	c.mu.bytes += s.cache.bytes
	for c.mu.bytes > c.budget && c.mu.segs.len() > 1 {
		v, ok := c.mu.segs.victim(s)
		if !ok {
			break
		}
		c.removeLocked(v)
		v.idx.Store(nil)
	}
}

func (c *indexCache) removeLocked(s *segment) {
	if s.cache.clock.pos < 0 {
		return
	}
	c.mu.segs.remove(s)
	c.mu.bytes -= s.cache.bytes
	s.cache.bytes = 0
}

// pin takes s out of the cache for good (it becomes the active segment).
func (c *indexCache) pin(s *segment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(s)
	s.cache.pinned = true
}

// unpin makes the index of a segment that stopped being active evictable.
func (c *indexCache) unpin(s *segment) {
	c.mu.Lock()
	s.cache.pinned = false
	c.mu.Unlock()
	if ix := s.idx.Load(); ix != nil {
		c.add(s, ix)
	}
}

// drop forgets a deleted segment's index.
func (c *indexCache) drop(s *segment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(s)
	s.cache.dead = true
	s.idx.Store(nil)
}

// usedBytes is the accounted size of cached indexes (for tests).
func (c *indexCache) usedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.bytes
}

func (s *segment) clockSlot() *clockSlot { return &s.cache.clock }
