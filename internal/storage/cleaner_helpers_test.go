package storage

import (
	"fmt"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

// kv is one record for the cleaner tests; a nil value is a tombstone.
type kv struct {
	key, value string
	tomb       bool
}

// keyedBatch builds a batch of keyed records (tombstones where tomb).
func keyedBatch(codec int, ts int64, recs ...kv) []byte {
	spec := record.BatchSpec{Codec: codec, BaseTimestamp: ts}
	for i, r := range recs {
		rs := record.RecordSpec{Key: []byte(r.key), Value: []byte(r.value), Timestamp: ts + int64(i)}
		if r.tomb {
			rs.Value = nil
		}
		spec.Records = append(spec.Records, rs)
	}
	return record.Build(spec)
}

// storedRecord is a record read back from a log.
type storedRecord struct {
	offset int64
	key    string
	value  string
	tomb   bool
	ts     int64
}

func (r storedRecord) String() string {
	if r.tomb {
		return fmt.Sprintf("%d:%s=∅", r.offset, r.key)
	}
	return fmt.Sprintf("%d:%s=%s", r.offset, r.key, r.value)
}

// readRecords reads every record of l from the log start offset, checking
// that offsets increase and every batch is valid.
func readRecords(t testing.TB, l *Log) []storedRecord {
	t.Helper()
	var out []storedRecord
	off := l.LogStartOffset()
	last := int64(-1)
	for off < l.LogEndOffset() {
		r, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if r.Size == 0 {
			// Only right if compaction removed everything from off to
			// the end (Kafka's consumers then wait there, caught up).
			if !noBatchFrom(t, l, off) {
				t.Fatalf("Read(%d) empty before LEO %d", off, l.LogEndOffset())
			}
			break
		}
		buf, err := r.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		it := record.NewBatches(buf)
		for {
			h, raw, ok := it.Next()
			if !ok {
				break
			}
			if h.LastOffset() < off {
				t.Fatalf("Read(%d) returned batch %d..%d before it", off, h.BaseOffset, h.LastOffset())
			}
			recs, err := record.ReadRecords(raw, 1<<24)
			if err != nil {
				t.Fatalf("batch at %d: %v", h.BaseOffset, err)
			}
			for _, rec := range recs {
				o := h.BaseOffset + int64(rec.OffsetDelta)
				if o <= last {
					t.Fatalf("offset %d after %d", o, last)
				}
				last = o
				out = append(out, storedRecord{offset: o, key: string(rec.Key), value: string(rec.Value), tomb: rec.Value == nil, ts: h.BaseTimestamp + rec.TimestampDelta})
			}
		}
		off = r.NextOffset
	}
	return out
}

// noBatchFrom reports whether no stored batch ends at or after off.
func noBatchFrom(t testing.TB, l *Log, off int64) bool {
	t.Helper()
	for _, s := range l.segments() {
		f, err := s.open()
		if err != nil {
			t.Fatal(err)
		}
		sc := newHeaderScanner(f, 0, s.size.Load())
		for {
			h, _, ok, err := sc.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if h.LastOffset() >= off {
				sc.release()
				return false
			}
		}
		sc.release()
	}
	return true
}

// lastPerKey is what compaction must leave of recs: each key's last
// record, tombstones included (before their horizon).
func lastPerKey(recs []storedRecord) []storedRecord {
	last := map[string]int64{}
	for _, r := range recs {
		last[r.key] = r.offset
	}
	var out []storedRecord
	for _, r := range recs {
		if last[r.key] == r.offset {
			out = append(out, r)
		}
	}
	return out
}

func dropTombstones(recs []storedRecord) []storedRecord {
	var out []storedRecord
	for _, r := range recs {
		if !r.tomb {
			out = append(out, r)
		}
	}
	return out
}

func sameRecords(t testing.TB, what string, got, want []storedRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.offset != w.offset || g.key != w.key || g.value != w.value || g.tomb != w.tomb || g.ts != w.ts {
			t.Fatalf("%s: record %d is %v (ts %d), want %v (ts %d)", what, i, g, g.ts, w, w.ts)
		}
	}
}

// compactConfig is a compacted log with small segments that cleans at
// any dirty ratio.
func compactConfig(segmentBytes int64) Config {
	return Config{SegmentBytes: segmentBytes, CleanupPolicy: "compact", MinCleanableRatio: 0.0001, IndexIntervalBytes: 1, FileDeleteDelayMs: 1}
}

// openCleanerManager opens a Manager whose cleaner runs only when a test
// calls it.
func openCleanerManager(t testing.TB, dir string, clock *testClock) *Manager {
	t.Helper()
	opts := ManagerOptions{Logger: quietLogger, DisableCleaner: true}
	if clock != nil {
		opts.Now = clock.Now
	}
	m, err := OpenManager(dir, opts)
	if err != nil {
		t.Fatalf("OpenManager: %v", err)
	}
	return m
}

// cleanOnce runs one cleaner pass and fails the test unless it cleaned.
func cleanOnce(t testing.TB, m *Manager) {
	t.Helper()
	cleaned, err := m.cleaner.cleanDirtiest(nil)
	if err != nil || !cleaned {
		t.Fatalf("cleanDirtiest: cleaned %v, %v", cleaned, err)
	}
}

// rollAndCommit rolls the active segment and moves the HW to the end, so
// that everything appended is cleanable.
func rollAndCommit(t testing.TB, l *Log) {
	t.Helper()
	l.mu.Lock()
	err := l.rollLocked(l.leo.Load())
	l.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	l.SetHighWatermark(l.LogEndOffset())
}
