package storage

import (
	"errors"
	"testing"
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
