package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRecoveryTornTailEveryByte cuts the last batch of a log at every byte
// position and restarts without the clean marker: every complete batch must
// remain, nothing after it, and the next append continues the offsets.
func TestRecoveryTornTailEveryByte(t *testing.T) {
	src := t.TempDir()
	m := openTestManager(t, src, nil)
	l, _ := m.Open(tp0, Config{SegmentBytes: 600, IndexIntervalBytes: 100})
	var lastPos, lastSize int64
	for i := 0; i < 12; i++ {
		b := makeBatch(batchSpec{n: 2, valueSize: 30, ts: int64(100 + i)})
		lastPos = l.mu.active.size.Load()
		lastSize = int64(len(b))
		mustAppend(t, l, b)
	}
	leo := l.LogEndOffset()
	active := l.mu.active
	if lastPos == 0 {
		t.Fatal("test wants the last batch not first in its segment")
	}
	wantLEO := leo - 2
	activeName := filepath.Base(active.path(logSuffix))
	nsegs := len(l.segments())
	crash(m)

	for cut := int64(0); cut < lastSize; cut++ {
		dir := t.TempDir()
		copyDir(t, src, dir)
		part := filepath.Join(dir, "t-0")
		if err := os.Truncate(filepath.Join(part, activeName), lastPos+cut); err != nil {
			t.Fatal(err)
		}
		m2 := openTestManager(t, dir, nil)
		l2, err := m2.Open(tp0, Config{SegmentBytes: 600, IndexIntervalBytes: 100})
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if l2.LogEndOffset() != wantLEO {
			t.Fatalf("cut %d: LEO %d want %d", cut, l2.LogEndOffset(), wantLEO)
		}
		if got := len(l2.segments()); got != nsegs {
			t.Fatalf("cut %d: %d segments want %d", cut, got, nsegs)
		}
		if hs := readAll(t, l2, 0); len(hs) != 11 {
			t.Fatalf("cut %d: %d batches", cut, len(hs))
		}
		res := mustAppend(t, l2, makeBatch(batchSpec{n: 3}))
		if res.BaseOffset != wantLEO {
			t.Fatalf("cut %d: next append at %d", cut, res.BaseOffset)
		}
		if hs := readAll(t, l2, 0); len(hs) != 12 || hs[11].BaseOffset != wantLEO {
			t.Fatalf("cut %d: after append %d batches", cut, len(hs))
		}
		if err := m2.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoveryCorruptMiddle flips a byte in an early segment (before the
// recovery point nothing is checked) and in a later one (truncated there,
// later segments deleted).
func TestRecoveryCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{SegmentBytes: 500})
	for i := 0; i < 20; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 100}))
	}
	segs := l.segments()
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	victim := segs[2]
	crash(m)
	// Corrupt the second batch of segment 2 (CRC covered byte).
	f, err := os.OpenFile(victim.path(logSuffix), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := makeBatch(batchSpec{n: 1, valueSize: 100})
	f.WriteAt([]byte{0xff}, int64(len(h))+100)
	f.Close()

	m2 := openTestManager(t, dir, nil)
	defer m2.Close()
	l2, err := m2.Open(tp0, Config{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if want := victim.base + 1; l2.LogEndOffset() != want {
		t.Fatalf("LEO %d want %d", l2.LogEndOffset(), want)
	}
	if got := len(l2.segments()); got != 3 {
		t.Fatalf("%d segments after truncation", got)
	}
	readAll(t, l2, 0)
	if res := mustAppend(t, l2, makeBatch(batchSpec{n: 1})); res.BaseOffset != victim.base+1 {
		t.Fatalf("append at %d", res.BaseOffset)
	}
}

// TestCorruptIndexRebuilt damages index files in several ways and checks
// that reads still find every offset (the index is rebuilt from the .log).
func TestCorruptIndexRebuilt(t *testing.T) {
	damage := map[string]func(path string){
		"missing":          func(p string) { os.Remove(p) },
		"not whole":        func(p string) { appendBytes(p, []byte{1, 2, 3}) },
		"garbage":          func(p string) { os.WriteFile(p, []byte("0123456789abcdef01234567"), 0o644) },
		"zeroed":           func(p string) { os.WriteFile(p, make([]byte, 48), 0o644) },
		"beyond the log":   func(p string) { os.WriteFile(p, []byte{0, 0, 0, 1, 0x7f, 0, 0, 0}, 0o644) },
		"decreasing":       func(p string) { os.WriteFile(p, []byte{0, 0, 0, 5, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0, 2, 0}, 0o644) },
		"empty":            func(p string) { os.WriteFile(p, nil, 0o644) },
		"time not ordered": nil,
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			m := openTestManager(t, dir, nil)
			cfg := Config{SegmentBytes: 2000, IndexIntervalBytes: 100}
			l, _ := m.Open(tp0, cfg)
			for i := 0; i < 40; i++ {
				mustAppend(t, l, makeBatch(batchSpec{n: 3, valueSize: 20, ts: int64(i * 10)}))
			}
			segs := l.segments()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			for _, s := range segs {
				if fn != nil {
					fn(s.path(indexSuffix))
				} else {
					os.WriteFile(s.path(timeIndexSuffix), []byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2}, 0o644)
				}
			}
			m = openTestManager(t, dir, nil)
			defer m.Close()
			l, err := m.Open(tp0, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != 120 {
				t.Fatalf("LEO %d", l.LogEndOffset())
			}
			for o := int64(0); o < 120; o++ {
				r, err := l.Read(o, 1, 1<<62, true)
				if err != nil || r.Size == 0 {
					t.Fatalf("Read(%d): %v", o, err)
				}
			}
			off, _, found, err := l.OffsetForTimestamp(205)
			if err != nil || !found || off != 21*3 {
				t.Fatalf("OffsetForTimestamp: %d %v %v", off, found, err)
			}
		})
	}
}

func appendBytes(path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	f.Write(b)
	f.Close()
}

func TestCorruptCheckpoints(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{})
	for i := 0; i < 5; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 2}))
	}
	l.SetHighWatermark(10)
	l.AssignEpochStart(1, 0)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{recoveryPointFile, logStartOffsetFile, highWatermarkFile} {
		os.WriteFile(filepath.Join(dir, name), []byte("0\n5\nt 0 x\n"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "t-0", leaderEpochFile), []byte("1\n"), 0o644)
	m = openTestManager(t, dir, nil)
	defer m.Close()
	l, err := m.Open(tp0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 10 || l.LogStartOffset() != 0 || l.HighWatermark() != 0 || l.LatestEpoch() != -1 {
		t.Fatalf("LEO %d start %d HW %d epoch %d", l.LogEndOffset(), l.LogStartOffset(), l.HighWatermark(), l.LatestEpoch())
	}
	if len(readAll(t, l, 0)) != 5 {
		t.Fatal("data lost")
	}
}

func TestUncleanWithoutCheckpointsRecoversAll(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{SegmentBytes: 300})
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 50}))
	}
	crash(m)
	m = openTestManager(t, dir, nil)
	defer m.Close()
	l, err := m.Open(tp0, Config{SegmentBytes: 300})
	if err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 30 {
		t.Fatalf("LEO %d", l.LogEndOffset())
	}
	if _, err := l.Read(31, 100, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatal(err)
	}
}

// TestRecoveredIndexesStayValid recovers a crashed log, closes it cleanly
// and checks that the index files written are valid, so that the next
// clean start loads them instead of rebuilding (a recovered segment's
// indexer once forgot its last time entry and wrote it twice).
func TestRecoveredIndexesStayValid(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{})
	mustAppend(t, l, makeBatch(batchSpec{n: 1, ts: 1000}))
	crash(m)

	for round := 0; round < 3; round++ {
		m = openTestManager(t, dir, nil)
		l, err := m.Open(tp0, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if round > 0 { // round 0 closes the recovered log untouched
			mustAppend(t, l, makeBatch(batchSpec{n: 1, ts: int64(2000 + round)}))
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		tim, err := os.ReadFile(filepath.Join(dir, "t-0", "00000000000000000000"+timeIndexSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if err := validateTimeIndex(tim, 1<<40); err != nil {
			t.Fatalf("round %d: time index written at close is invalid: %v", round, err)
		}
		if n := len(tim) / timeEntrySize; n != round+1 {
			t.Fatalf("round %d: %d time index entries, want %d (one per new max timestamp)", round, n, round+1)
		}
	}
}

// TestRecoveryStartsAtCheckpointedRecoveryPoint: after a crash only the
// segments from the checkpointed recovery point on are re-read. A byte
// flipped in an earlier segment goes unnoticed (it was never re-read),
// while one in the active segment truncates the log there.
func TestRecoveryStartsAtCheckpointedRecoveryPoint(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{SegmentBytes: 500})
	for i := 0; i < 20; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 100}))
	}
	segs := l.segments()
	active := segs[len(segs)-1]
	// Rolls flush the finished segments in the background.
	waitFor(t, "the roll flushes", func() bool { return l.recoveryPoint.Load() >= active.base })
	if err := m.writeCheckpoints(ckptRecovery); err != nil {
		t.Fatal(err)
	}
	leo := l.LogEndOffset()
	crash(m)
	flip := func(s *segment, pos int64) {
		f, err := os.OpenFile(s.path(logSuffix), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var b [1]byte
		f.ReadAt(b[:], pos)
		b[0] ^= 0xff
		f.WriteAt(b[:], pos)
	}
	h := makeBatch(batchSpec{n: 1, valueSize: 100})
	flip(segs[1], int64(len(h))+100) // before the recovery point
	m2 := openTestManager(t, dir, nil)
	l2, err := m2.Open(tp0, Config{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if l2.LogEndOffset() != leo || len(l2.segments()) != len(segs) {
		t.Fatalf("LEO %d, %d segments after recovery; want %d, %d: a segment before the recovery point was re-read", l2.LogEndOffset(), len(l2.segments()), leo, len(segs))
	}
	crash(m2)

	flip(active, int64(len(h))+100) // the second batch of the active segment
	m3 := openTestManager(t, dir, nil)
	defer m3.Close()
	l3, err := m3.Open(tp0, Config{SegmentBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if want := active.base + 1; l3.LogEndOffset() != want {
		t.Fatalf("LEO %d after a corrupt batch past the recovery point, want %d", l3.LogEndOffset(), want)
	}
}
