package storage

import (
	"testing"
)

func TestEpochCacheEndOffsetFor(t *testing.T) {
	c := &epochCache{}
	for _, e := range []epochEntry{{1, 0}, {3, 10}, {4, 25}} {
		c.assign(e.epoch, e.start)
	}
	const leo = 40
	tests := []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{-1, -1, -1},
		{0, 0, 0},  // older than every entry: the first entry's start
		{1, 1, 10}, // ends where epoch 3 starts
		{2, 1, 10}, // unknown in between: the floor epoch, the next start
		{3, 3, 25},
		{4, 4, leo}, // latest: the log end
		{5, -1, -1}, // newer than any
	}
	for _, tc := range tests {
		e, end := c.endOffsetFor(tc.epoch, leo)
		if e != tc.wantEpoch || end != tc.wantEnd {
			t.Errorf("endOffsetFor(%d) = (%d, %d), want (%d, %d)", tc.epoch, e, end, tc.wantEpoch, tc.wantEnd)
		}
	}
	if e, end := (&epochCache{}).endOffsetFor(3, leo); e != -1 || end != -1 {
		t.Errorf("empty cache: (%d, %d)", e, end)
	}
}

func TestEpochCacheAssignAndTruncate(t *testing.T) {
	c := &epochCache{}
	if !c.assign(2, 5) || c.assign(2, 9) || c.assign(1, 20) {
		t.Fatal("non-increasing epochs must be ignored")
	}
	c.assign(4, 10)
	c.assign(5, 10) // same start: replaces epoch 4
	if got := c.entries; len(got) != 2 || got[1] != (epochEntry{5, 10}) {
		t.Fatalf("entries %v", got)
	}
	c.assign(7, 30)
	c.truncateFromEnd(30)
	if c.latest() != 5 {
		t.Fatalf("latest %d after truncateFromEnd", c.latest())
	}
	c.truncateFromStart(12)
	if got := c.entries; len(got) != 1 || got[0] != (epochEntry{5, 12}) {
		t.Fatalf("entries %v after truncateFromStart", got)
	}
}

func TestLeaderEpochPersistedAndFromAppend(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, _ := m.Open(tp0, Config{})
	if _, err := l.Append(makeBatch(batchSpec{n: 5}), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(makeBatch(batchSpec{n: 5}), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(makeBatch(batchSpec{n: 5}), 3); err != nil {
		t.Fatal(err)
	}
	hs := readAll(t, l, 0)
	if hs[0].LeaderEpoch != 1 || hs[2].LeaderEpoch != 3 {
		t.Fatalf("stored epochs %d %d", hs[0].LeaderEpoch, hs[2].LeaderEpoch)
	}
	if e, end := l.EndOffsetForEpoch(1); e != 1 || end != 10 {
		t.Fatalf("EndOffsetForEpoch(1) = %d %d", e, end)
	}
	if e, end := l.EndOffsetForEpoch(3); e != 3 || end != 15 {
		t.Fatalf("EndOffsetForEpoch(3) = %d %d", e, end)
	}
	crash(m) // the checkpoint file is written on change, not at close
	m = openTestManager(t, dir, nil)
	defer m.Close()
	l, _ = m.Open(tp0, Config{})
	if l.LatestEpoch() != 3 {
		t.Fatalf("latest epoch %d after reopen", l.LatestEpoch())
	}
	if e, end := l.EndOffsetForEpoch(1); e != 1 || end != 10 {
		t.Fatalf("after reopen EndOffsetForEpoch(1) = %d %d", e, end)
	}
}
