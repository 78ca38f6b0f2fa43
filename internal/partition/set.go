package partition

import "sync"

// Key names a partition.
type Key struct {
	Topic string
	Index int32
}

// Set is the broker's replicas by topic and partition, safe for concurrent
// use. Reads are frequent (every produce and fetch), writes rare (topic
// create/delete), hence the RWMutex.
type Set struct {
	mu sync.RWMutex
	m  map[Key]*Partition
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{m: map[Key]*Partition{}} }

// Get returns the replica of topic/index, nil if this broker has none.
func (s *Set) Get(topic string, index int32) *Partition {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[Key{topic, index}]
}

// Put adds or replaces a replica.
func (s *Set) Put(p *Partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[Key{p.Topic, p.Index}] = p
}

// Remove drops a replica from the set and returns it (nil if absent).
func (s *Set) Remove(k Key) *Partition {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.m[k]
	delete(s.m, k)
	return p
}

// Keys lists every replica's key.
func (s *Set) Keys() []Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Key, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	return out
}
