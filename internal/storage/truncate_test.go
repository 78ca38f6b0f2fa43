package storage

import (
	"errors"
	"testing"
)

func TestTruncateTo(t *testing.T) {
	tests := []struct {
		name    string
		target  int64
		wantLEO int64
	}{
		{"no-op at LEO", 100, 100},
		{"inside active", 95, 94},
		{"batch boundary in old segment", 40, 40},
		{"inside a batch", 41, 40},
		{"segment base", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := openTestManager(t, dir, nil)
			cfg := Config{SegmentBytes: 800, IndexIntervalBytes: 100}
			l, _ := m.Open(tp0, cfg)
			for i := 0; i < 50; i++ {
				epoch := int32(1 + i/10)
				if _, err := l.Append(makeBatch(batchSpec{n: 2, valueSize: 20, ts: int64(i)}), epoch); err != nil {
					t.Fatal(err)
				}
			}
			l.SetHighWatermark(100)
			if err := l.TruncateTo(tc.target); err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != tc.wantLEO {
				t.Fatalf("LEO %d want %d", l.LogEndOffset(), tc.wantLEO)
			}
			if l.HighWatermark() > tc.wantLEO {
				t.Fatalf("HW %d above LEO", l.HighWatermark())
			}
			// Batches are 2 offsets wide: a cut inside one removes it whole.
			wantBatches := int(tc.wantLEO / 2)
			if hs := readAll(t, l, 0); len(hs) != wantBatches {
				t.Fatalf("%d batches want %d", len(hs), wantBatches)
			}
			if _, end := l.EndOffsetForEpoch(l.LatestEpoch()); l.LatestEpoch() >= 0 && end != tc.wantLEO {
				t.Fatalf("epoch end %d", end)
			}
			if l.LatestEpoch() >= 0 {
				if _, end := l.EndOffsetForEpoch(l.LatestEpoch() - 1); end > tc.wantLEO {
					t.Fatalf("epoch cache not truncated: %d", end)
				}
			}
			res := mustAppend(t, l, makeBatch(batchSpec{n: 1}))
			if res.BaseOffset != tc.wantLEO {
				t.Fatalf("append after truncate at %d", res.BaseOffset)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m = openTestManager(t, dir, nil)
			defer m.Close()
			l, _ = m.Open(tp0, cfg)
			if hs := readAll(t, l, 0); len(hs) != wantBatches+1 {
				t.Fatalf("after reopen %d batches", len(hs))
			}
		})
	}
}

func TestTruncateFullyBelowLogStart(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 300})
	for i := 0; i < 20; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 80}))
	}
	l.SetHighWatermark(20)
	if err := l.DeleteRecordsBefore(10); err != nil {
		t.Fatal(err)
	}
	first := l.segments()[0].base
	if first == 0 {
		t.Fatal("expected head segments deleted")
	}
	if err := l.TruncateTo(first - 1); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != first-1 || l.LogStartOffset() != first-1 || len(l.segments()) != 1 {
		t.Fatalf("LEO %d start %d segs %d", l.LogEndOffset(), l.LogStartOffset(), len(l.segments()))
	}
	if res := mustAppend(t, l, makeBatch(batchSpec{n: 1})); res.BaseOffset != first-1 {
		t.Fatalf("append at %d", res.BaseOffset)
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{SegmentBytes: 500})
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 2, valueSize: 60}))
	}
	if err := l.DeleteRecordsBefore(10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past HW: %v", err)
	}
	l.SetHighWatermark(60)
	nsegs := len(l.segments())
	if err := l.DeleteRecordsBefore(25); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 25 {
		t.Fatalf("log start %d", l.LogStartOffset())
	}
	if len(l.segments()) >= nsegs || l.segments()[0].base > 25 {
		t.Fatalf("segments not deleted (or too many): first base %d", l.segments()[0].base)
	}
	if _, err := l.Read(24, 100, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	r, err := l.Read(25, 1000, 100, true)
	if err != nil || r.Size == 0 {
		t.Fatalf("read at start: %v", err)
	}
	if err := l.DeleteRecordsBefore(3); err != nil { // lower: no-op
		t.Fatal(err)
	}
	// Persisted before return: survives a crash.
	crash(m)
	m = openTestManager(t, dir, nil)
	defer m.Close()
	l, _ = m.Open(tp0, Config{SegmentBytes: 500})
	if l.LogStartOffset() != 25 {
		t.Fatalf("log start after crash %d", l.LogStartOffset())
	}
}
