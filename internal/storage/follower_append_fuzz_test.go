package storage

import (
	"math"
	"testing"
)

// FuzzAppendAsFollower feeds a follower log arbitrary bytes as if a
// leader had sent them: it must never panic, a refused append must leave
// the log as it was, and an accepted one must keep offsets increasing and
// every batch readable.
func FuzzAppendAsFollower(f *testing.F) {
	good := makeBatch(batchSpec{n: 3, valueSize: 10})
	f.Add(good)
	f.Add(append(compactedBatch(0, 2, 5, 1), compactedBatch(5, 1, 1, 2)...))
	f.Add(good[:len(good)-3])
	f.Add([]byte{})
	f.Add(compactedBatch(math.MaxInt64-1, 1, 5, 1)) // the last offset overflows
	f.Add(compactedBatch(1<<40, 1, 1, 1))           // a gap wider than 32-bit relative offsets
	f.Fuzz(func(t *testing.T, data []byte) {
		m := openTestManager(t, t.TempDir(), nil)
		defer m.Close()
		l, err := m.Open(tpFollower, Config{SegmentBytes: 1 << 12})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.AppendAsFollower(compactedBatch(0, 1, 1, 0)); err != nil {
			t.Fatal(err)
		}
		before := l.LogEndOffset()
		res, err := l.AppendAsFollower(data)
		if err != nil || res.Bytes == 0 {
			if l.LogEndOffset() != before {
				t.Fatalf("a refused or empty append moved the log end from %d to %d", before, l.LogEndOffset())
			}
			return
		}
		if l.LogEndOffset() != res.LastOffset+1 || res.FirstOffset < before || l.LogEndOffset() <= before {
			t.Fatalf("append %+v: log end %d (was %d)", res, l.LogEndOffset(), before)
		}
		hs := readAll(t, l, 0)
		for i := 1; i < len(hs); i++ {
			if hs[i].BaseOffset <= hs[i-1].LastOffset() {
				t.Fatalf("offsets not increasing: %d after %d", hs[i].BaseOffset, hs[i-1].LastOffset())
			}
		}
	})
}
