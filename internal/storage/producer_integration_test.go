package storage

import (
	"errors"
	"testing"
	"time"
)

func TestIdempotentAppend(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{SegmentBytes: 400})
	for seq := int32(0); seq < 30; seq += 3 {
		res, err := l.Append(makeBatch(batchSpec{n: 3, valueSize: 40, pid: 7, epoch: 1, seq: seq}), 0)
		if err != nil || res.Duplicate {
			t.Fatalf("seq %d: %+v %v", seq, res, err)
		}
	}
	// A retry of the last batch is a duplicate with the original offsets.
	res, err := l.Append(makeBatch(batchSpec{n: 3, valueSize: 40, pid: 7, epoch: 1, seq: 27}), 0)
	if err != nil || !res.Duplicate || res.BaseOffset != 27 || res.LastOffset != 29 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if l.LogEndOffset() != 30 {
		t.Fatalf("duplicate written: LEO %d", l.LogEndOffset())
	}
	// A gap is refused.
	if _, err := l.Append(makeBatch(batchSpec{n: 1, pid: 7, epoch: 1, seq: 35}), 0); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap: %v", err)
	}
	// The state survives a crash (replayed from the last roll snapshot).
	crash(m)
	m = openTestManager(t, dir, nil)
	defer m.Close()
	l, _ = m.Open(tp0, Config{SegmentBytes: 400})
	res, err = l.Append(makeBatch(batchSpec{n: 3, valueSize: 40, pid: 7, epoch: 1, seq: 27}), 0)
	if err != nil || !res.Duplicate || res.BaseOffset != 27 {
		t.Fatalf("retry after crash: %+v %v", res, err)
	}
	if res, err := l.Append(makeBatch(batchSpec{n: 1, pid: 7, epoch: 1, seq: 30}), 0); err != nil || res.BaseOffset != 30 {
		t.Fatalf("next after crash: %+v %v", res, err)
	}
	// After truncation the state is reloaded: seq 30 is gone, so it is new again.
	l.TruncateTo(30)
	if res, err := l.Append(makeBatch(batchSpec{n: 1, pid: 7, epoch: 1, seq: 30}), 0); err != nil || res.Duplicate || res.BaseOffset != 30 {
		t.Fatalf("after truncate: %+v %v", res, err)
	}
}

// TestLogExpireProducers: a producer idle for producer.id.expiration.ms is
// forgotten (a retry of its last batch is then new data, as in Kafka),
// while an active one keeps its duplicate detection.
func TestLogExpireProducers(t *testing.T) {
	clock := &testClock{now: timeAt(1_000_000)}
	m := openTestManager(t, t.TempDir(), clock)
	defer m.Close()
	l, _ := m.Open(tp0, Config{})
	idle := makeBatch(batchSpec{n: 1, pid: 1, epoch: 0, seq: 0, ts: 1_000_000})
	mustAppend(t, l, append([]byte(nil), idle...))
	clock.Advance(2 * time.Hour)
	active := makeBatch(batchSpec{n: 1, pid: 2, epoch: 0, seq: 0, ts: clock.Now().UnixMilli()})
	mustAppend(t, l, append([]byte(nil), active...))

	if n := l.ExpireProducers(clock.Now(), time.Hour); n != 1 {
		t.Fatalf("expired %d producers, want 1 (the idle one)", n)
	}
	if res := mustAppend(t, l, append([]byte(nil), active...)); !res.Duplicate {
		t.Fatal("the active producer's retry was not recognised after expiry ran")
	}
	if res := mustAppend(t, l, append([]byte(nil), idle...)); res.Duplicate || res.BaseOffset != 2 {
		t.Fatalf("expired producer's batch: %+v, want new data at offset 2", res)
	}
}
