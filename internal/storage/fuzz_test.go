package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzIndexFiles opens a log whose closed segment's index files hold
// arbitrary bytes: it must never panic, and every offset must still read
// correctly (a bad index is rebuilt from the .log).
func FuzzIndexFiles(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 80}, []byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 9, 0, 0, 1, 0, 0, 0, 0, 3}, []byte{1, 2, 3})
	f.Add(bytes.Repeat([]byte{0xff}, 16), bytes.Repeat([]byte{0x7f}, 24))
	src := f.TempDir()
	cfg := Config{SegmentBytes: 700, IndexIntervalBytes: 60}
	m, err := OpenManager(src, ManagerOptions{Logger: quietLogger})
	if err != nil {
		f.Fatal(err)
	}
	l, _ := m.Open(tp0, cfg)
	for i := 0; i < 12; i++ {
		mustAppend(f, l, makeBatch(batchSpec{n: 2, valueSize: 20, ts: int64(100 * i)}))
	}
	first := l.segments()[0]
	idxName, timeName := filepath.Base(first.path(indexSuffix)), filepath.Base(first.path(timeIndexSuffix))
	if err := m.Close(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, idx, tim []byte) {
		dir := t.TempDir()
		copyDir(t, src, dir)
		part := filepath.Join(dir, "t-0")
		os.WriteFile(filepath.Join(part, idxName), idx, 0o644)
		os.WriteFile(filepath.Join(part, timeName), tim, 0o644)
		m, err := OpenManager(dir, ManagerOptions{Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		l, err := m.Open(tp0, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if hs := readAll(t, l, 0); len(hs) != 12 {
			t.Fatalf("%d batches", len(hs))
		}
		for o := int64(0); o < 24; o++ {
			r, err := l.Read(o, 1, 100, true)
			if err != nil || r.Size == 0 {
				t.Fatalf("Read(%d): %v", o, err)
			}
		}
		if off, _, found, err := l.OffsetForTimestamp(450); err != nil || !found || off != 10 {
			t.Fatalf("OffsetForTimestamp: %d %v %v", off, found, err)
		}
	})
}

// FuzzIndexEntries checks the index readers on arbitrary entries.
func FuzzIndexEntries(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 80}, int64(5), int64(3))
	f.Add([]byte{1, 2, 3}, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, target, pos int64) {
		if validateOffsetIndex(b, 1<<40, 1<<40) == nil {
			lookupOffset(b, target)
			lastEntryBelow(b, pos, target)
		}
		if validateTimeIndex(b, 1<<40) == nil {
			lookupTimestamp(b, target)
			lastTimeEntry(b)
		}
	})
}

// FuzzCheckpoint parses arbitrary checkpoint files: no panic, and what
// parses survives a write/read round trip.
func FuzzCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\norders 0 100\nmy-topic 3 7\n"))
	f.Add([]byte("0\n1\n5 100\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("1\n1\nx 0 0\n"))
	f.Add([]byte("0\n3\na 0 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseOffsetCheckpoint(b); err == nil {
			again, err := parseOffsetCheckpoint(formatOffsetCheckpoint(m))
			if err != nil || len(again) != len(m) {
				t.Fatalf("round trip: %v (%d vs %d)", err, len(again), len(m))
			}
			for k, v := range m {
				if again[k] != v {
					t.Fatalf("round trip changed %v", k)
				}
			}
		}
		if entries, err := parseEpochCheckpoint(b); err == nil {
			c := &epochCache{path: filepath.Join(t.TempDir(), leaderEpochFile), entries: entries}
			if err := c.persist(); err != nil {
				t.Fatal(err)
			}
			d, err := loadEpochCache(filepath.Dir(c.path))
			if err != nil || len(d.entries) != len(entries) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

// FuzzSwapFile opens a log whose directory holds a cleaner .swap file of
// arbitrary bytes (the commit point of a swap, see cleaner_swap.go), as a
// damaged disk could leave it: opening and reading must never panic, and
// no .swap or .cleaned file may survive the open.
func FuzzSwapFile(f *testing.F) {
	seed := keyedBatch(0, 5, kv{key: "a", value: "1"})
	f.Add(seed, int8(1))
	f.Add(append(append([]byte(nil), seed...), seed[:20]...), int8(0))
	f.Add([]byte{}, int8(2))
	f.Add(bytes.Repeat([]byte{0xff}, 80), int8(1))
	src := f.TempDir()
	cfg := compactConfig(300)
	m, err := OpenManager(src, ManagerOptions{Logger: quietLogger, DisableCleaner: true})
	if err != nil {
		f.Fatal(err)
	}
	l, _ := m.Open(tp0, cfg)
	for i := 0; i < 12; i++ {
		mustAppend(f, l, keyedBatch(0, int64(100*i), kv{key: "k", value: "v"}, kv{key: "j", value: "w"}))
	}
	var bases []int64
	for _, s := range l.segments() {
		bases = append(bases, s.base)
	}
	if err := m.Close(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, swap []byte, which int8) {
		dir := t.TempDir()
		copyDir(t, src, dir)
		part := filepath.Join(dir, "t-0")
		base := bases[int(uint8(which))%len(bases)]
		os.WriteFile(segmentPath(part, base, logSuffix+swapSuffix), swap, 0o644)
		os.WriteFile(segmentPath(part, base, indexSuffix+cleanedSuffix), swap, 0o644)
		m, err := OpenManager(dir, ManagerOptions{Logger: quietLogger, DisableCleaner: true})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		l, err := m.Open(tp0, cfg)
		if err != nil {
			return // refusing a damaged log is fine; panicking is not
		}
		for _, pattern := range []string{"*" + swapSuffix, "*" + cleanedSuffix} {
			if left, _ := filepath.Glob(filepath.Join(part, pattern)); len(left) > 0 {
				t.Fatalf("left after open: %v", left)
			}
		}
		for o := l.LogStartOffset(); o < l.LogEndOffset(); o++ {
			if r, err := l.Read(o, 1<<10, 1<<62, true); err == nil {
				r.AppendTo(nil)
			}
		}
		l.OffsetForTimestamp(450)
	})
}
