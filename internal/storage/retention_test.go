package storage

import (
	"errors"
	"testing"
	"time"
)

func TestRetentionByTime(t *testing.T) {
	clock := &testClock{now: timeAt(1_000_000)}
	m := openTestManager(t, t.TempDir(), clock)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 400, RetentionMs: 10_000, FileDeleteDelayMs: 1})
	// Timestamps 1_000_000 + i*1000: one batch per second.
	for i := 0; i < 30; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 100, ts: 1_000_000 + int64(i)*1000}))
	}
	nsegs := len(l.segments())
	clock.Advance(30 * time.Second) // now = 1_030_000: everything older than 1_020_000 expires
	if n, _ := l.ApplyRetention(); n != 0 {
		t.Fatalf("deleted %d segments above the HW", n)
	}
	l.SetHighWatermark(30)
	n, err := l.ApplyRetention()
	if err != nil || n == 0 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	for _, s := range l.segments()[:len(l.segments())-1] {
		if ts, _ := s.largestTimestamp(); clock.Now().UnixMilli()-ts > 10_000 {
			t.Fatalf("segment %d with max ts %d kept", s.base, ts)
		}
	}
	if len(l.segments()) != nsegs-n || l.LogStartOffset() != l.segments()[0].base {
		t.Fatalf("start %d first %d", l.LogStartOffset(), l.segments()[0].base)
	}
	// Far future: everything goes, the active segment too (rolled first,
	// as Kafka does); the log keeps its end offset and carries on there.
	clock.Advance(time.Hour)
	l.ApplyRetention()
	if len(l.segments()) != 1 || l.segments()[0].size.Load() != 0 {
		t.Fatalf("%d segments left, the last of %d bytes", len(l.segments()), l.segments()[len(l.segments())-1].size.Load())
	}
	if l.LogStartOffset() != 30 || l.LogEndOffset() != 30 {
		t.Fatalf("log start %d end %d, want 30 and 30", l.LogStartOffset(), l.LogEndOffset())
	}
	if _, err := l.Read(29, 1<<20, 30, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read of an expired offset: %v", err)
	}
	if res := mustAppend(t, l, makeBatch(batchSpec{n: 1, ts: clock.Now().UnixMilli()})); res.BaseOffset != 30 {
		t.Fatalf("append after expiry at %d, want 30", res.BaseOffset)
	}
}

// TestRetentionActiveSegmentAboveHW: an expired active segment whose data
// is not all below the high watermark is kept.
func TestRetentionActiveSegmentAboveHW(t *testing.T) {
	clock := &testClock{now: timeAt(1_000_000)}
	m := openTestManager(t, t.TempDir(), clock)
	defer m.Close()
	l, _ := m.Open(tp0, Config{RetentionMs: 1000, FileDeleteDelayMs: 1})
	for i := 0; i < 3; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, ts: 1_000_000}))
	}
	l.SetHighWatermark(2)
	clock.Advance(time.Hour)
	if n, err := l.ApplyRetention(); n != 0 || err != nil {
		t.Fatalf("deleted %d segments (%v) holding offsets above the HW", n, err)
	}
	if l.LogStartOffset() != 0 || len(l.segments()) != 1 {
		t.Fatalf("log start %d, %d segments", l.LogStartOffset(), len(l.segments()))
	}
	l.SetHighWatermark(3)
	if n, _ := l.ApplyRetention(); n != 1 || l.LogStartOffset() != 3 {
		t.Fatalf("with the HW at the end: deleted %d, log start %d", n, l.LogStartOffset())
	}
}

func TestRetentionBySize(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 1000, RetentionBytes: 2500})
	for i := 0; i < 40; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 150}))
	}
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.ApplyRetention(); err != nil {
		t.Fatal(err)
	}
	if l.Size() > 2500 {
		t.Fatalf("size %d over retention.bytes", l.Size())
	}
	// One more segment deleted would go below the limit only if it fit.
	if first := l.segments()[0]; l.Size()-first.size.Load() >= 2500 {
		t.Fatal("deleted too little")
	}
	readAll(t, l, l.LogStartOffset())
}

func TestBackgroundRetentionAndDeleteDelay(t *testing.T) {
	clock := &testClock{now: timeAt(1_000_000)}
	m, err := OpenManager(t.TempDir(), ManagerOptions{Logger: quietLogger, Now: clock.Now, RetentionCheckInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 300, RetentionMs: 1000, FileDeleteDelayMs: 60_000})
	for i := 0; i < 10; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 100, ts: 1_000_000}))
	}
	// A read handed out before the deletion stays readable.
	r, err := l.Read(0, 1000, 100, true)
	if err != nil {
		t.Fatal(err)
	}
	l.SetHighWatermark(10)
	clock.Advance(time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for l.LogStartOffset() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("background retention did not run")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := r.AppendTo(nil); err != nil {
		t.Fatalf("in-flight read after deletion: %v", err)
	}
}
