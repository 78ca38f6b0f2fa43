package storage

// The cleaner's offset map, after Kafka's SkimpyOffsetMap: key hash →
// the largest offset holding that key in the dirty part of a log. It is an
// open-addressing table of fixed-size slots (a 128-bit key hash and an
// offset, 24 bytes), so its memory is bounded by
// log.cleaner.dedupe.buffer.size however many keys a log has, and a put
// allocates nothing. It starts small and doubles up to that bound, so a
// small log does not cost the whole buffer.
//
// NB: two keys with the same 128-bit hash would be taken for one key (the
// older record of the pair dropped). Kafka accepts the same risk with MD5;
// with random seeds per map it is about n²/2^129 for n keys.

import (
	"hash/maphash"
)

const (
	offsetSlotSize = 24
	// offsetMapLoad is how full the table may get (Kafka's
	// log.cleaner.io.buffer.load.factor).
	offsetMapLoad  = 0.9
	minOffsetSlots = 1024
)

type offsetSlot struct {
	h0, h1 uint64 // h0 == 0 marks an empty slot (a real h0 has its low bit set)
	off    int64
}

type offsetMap struct {
	seed0, seed1 maphash.Seed
	maxSlots     int          // from the dedupe buffer size; a power of two
	backing      []offsetSlot // reused across logs; slots is a prefix
	slots        []offsetSlot // len is a power of two
	n            int
}

func newOffsetMap(bufferBytes int64) *offsetMap {
	maxSlots := minOffsetSlots
	for int64(maxSlots)*2*offsetSlotSize <= bufferBytes {
		maxSlots *= 2
	}
	return &offsetMap{maxSlots: maxSlots}
}

// reset empties the map for a new log, with fresh hash seeds.
func (m *offsetMap) reset() {
	m.seed0, m.seed1 = maphash.MakeSeed(), maphash.MakeSeed()
	m.n = 0
	m.resize(minOffsetSlots)
}

func (m *offsetMap) resize(size int) {
	if cap(m.backing) < size {
		m.backing = make([]offsetSlot, size)
	}
	m.slots = m.backing[:size]
	clear(m.slots)
}

// room reports whether n more keys are sure to fit, growing the table if
// needed. false means the map is full: the caller stops before the batch
// that would overfill it.
func (m *offsetMap) room(n int) bool {
	for float64(m.n+n) > offsetMapLoad*float64(len(m.slots)) {
		if len(m.slots) >= m.maxSlots {
			return false
		}
		m.grow()
	}
	return true
}

// grow doubles the table, rehashing every entry.
func (m *offsetMap) grow() {
	old := make([]offsetSlot, 0, m.n)
	for _, s := range m.slots {
		if s.h0 != 0 {
			old = append(old, s)
		}
	}
	m.resize(2 * len(m.slots))
	for _, s := range old {
		m.slots[m.find(s.h0, s.h1)] = s
	}
}

func (m *offsetMap) hash(key []byte) (uint64, uint64) {
	return maphash.Bytes(m.seed0, key) | 1, maphash.Bytes(m.seed1, key)
}

// find returns the slot holding (h0, h1), or the empty slot where it goes.
func (m *offsetMap) find(h0, h1 uint64) int {
	mask := len(m.slots) - 1
	for i := int(h0>>1) & mask; ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.h0 == 0 || (s.h0 == h0 && s.h1 == h1) {
			return i
		}
	}
}

// put records that key is at offset (offsets come in increasing order, so
// the last put wins). The caller made room.
func (m *offsetMap) put(key []byte, offset int64) {
	h0, h1 := m.hash(key)
	s := &m.slots[m.find(h0, h1)]
	if s.h0 == 0 {
		m.n++
		s.h0, s.h1 = h0, h1
	}
	s.off = offset
}

// get returns the latest offset of key, ok=false if the key is not there.
func (m *offsetMap) get(key []byte) (int64, bool) {
	h0, h1 := m.hash(key)
	s := &m.slots[m.find(h0, h1)]
	return s.off, s.h0 != 0
}
