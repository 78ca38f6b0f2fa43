package storage

import "sync/atomic"

// clockSlot is what an element of a clockRing carries: its clock bit and
// its position in the ring.
type clockSlot struct {
	// used is the clock bit: set on every use (lock-free), cleared when the
	// hand passes, so an element untouched for a whole sweep is evicted.
	used atomic.Bool
	// pos is the element's index in the ring, -1 when absent; guarded by
	// the owning cache's mutex.
	pos int
}

func newClockSlot() clockSlot { return clockSlot{pos: -1} }

// touch sets the clock bit, without a write when it is already set (the
// common case, so hot readers do not bounce the cache line).
func (c *clockSlot) touch() {
	if !c.used.Load() {
		c.used.Store(true)
	}
}

// clocked is an element of a clockRing.
type clocked interface {
	comparable
	clockSlot() *clockSlot
}

// clockRing is a set with second-chance ("clock") eviction, the
// approximation of LRU the file and index caches use: cheap to mark on the
// read path, O(1) amortized to pick a victim. Not safe for concurrent use:
// the owning cache's mutex guards it.
type clockRing[T clocked] struct {
	items []T
	hand  int
}

func (r *clockRing[T]) len() int { return len(r.items) }

// add puts v in the ring if it is not there yet.
func (r *clockRing[T]) add(v T) {
	if c := v.clockSlot(); c.pos < 0 {
		c.pos = len(r.items)
		r.items = append(r.items, v)
	}
}

// remove takes v out of the ring, if it is there.
func (r *clockRing[T]) remove(v T) {
	c := v.clockSlot()
	i := c.pos
	if i < 0 {
		return
	}
	last := len(r.items) - 1
	r.items[i] = r.items[last]
	r.items[i].clockSlot().pos = i
	var zero T
	r.items[last] = zero
	r.items = r.items[:last]
	c.pos = -1
}

// victim sweeps the hand to the first element, other than keep, not used
// since the hand last passed it; ok=false if every element is in use.
func (r *clockRing[T]) victim(keep T) (v T, ok bool) {
	n := len(r.items)
	for i := 0; i < 2*n+1; i++ {
		if r.hand >= len(r.items) {
			r.hand = 0
		}
		v = r.items[r.hand]
		r.hand++
		if v == keep {
			continue
		}
		if c := v.clockSlot(); c.used.Load() {
			c.used.Store(false)
			continue
		}
		return v, true
	}
	var zero T
	return zero, false
}
