package storage

import (
	"fmt"
	"testing"
)

// TestOffsetMap: the last put of a key wins, absent keys are absent, the
// table grows up to the dedupe buffer and then reports it is full.
func TestOffsetMap(t *testing.T) {
	cases := []struct {
		name      string
		buffer    int64
		keys      int
		puts      int
		wantRoom  bool // room for every key
		wantSlots int  // table size after the puts
	}{
		{"few keys, small table", 1 << 20, 10, 100, true, minOffsetSlots},
		{"grows", 1 << 20, 5000, 5000, true, 8192},
		{"overwrites do not grow", 1 << 20, 100, 100000, true, minOffsetSlots},
		{"full at the buffer", 64 * offsetSlotSize, 2000, 2000, false, minOffsetSlots},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newOffsetMap(tc.buffer)
			m.reset()
			room := true
			last := map[string]int64{}
			for i := 0; i < tc.puts; i++ {
				key := fmt.Sprintf("key-%d", i%tc.keys)
				if _, ok := last[key]; !ok && !m.room(1) {
					room = false
					break
				}
				m.put([]byte(key), int64(i))
				last[key] = int64(i)
			}
			if room != tc.wantRoom || len(m.slots) != tc.wantSlots {
				t.Fatalf("room %v with %d slots, want %v and %d", room, len(m.slots), tc.wantRoom, tc.wantSlots)
			}
			for k, off := range last {
				if got, ok := m.get([]byte(k)); !ok || got != off {
					t.Fatalf("get(%s) = %d %v, want %d", k, got, ok, off)
				}
			}
			if _, ok := m.get([]byte("never put")); ok {
				t.Fatal("absent key found")
			}
			if m.n != len(last) {
				t.Fatalf("%d entries for %d keys", m.n, len(last))
			}
			// reset forgets everything and reuses the memory.
			m.reset()
			if _, ok := m.get([]byte("key-0")); ok || m.n != 0 {
				t.Fatal("reset kept entries")
			}
		})
	}
}

func BenchmarkOffsetMapPut(b *testing.B) {
	m := newOffsetMap(128 << 20)
	m.reset()
	keys := make([][]byte, 10000)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%05d", i)
	}
	m.room(len(keys))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.put(keys[i%len(keys)], int64(i))
		i++
	}
}
