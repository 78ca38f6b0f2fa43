package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

var tpFollower = TopicPartition{Topic: "f", Partition: 0}

// logBytes reads every stored batch of l from offset from.
func logBytes(t testing.TB, l *Log, from int64) []byte {
	t.Helper()
	var out []byte
	for off := from; off < l.LogEndOffset(); {
		r, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if out, err = r.AppendTo(out); err != nil {
			t.Fatal(err)
		}
		if r.NextOffset <= off {
			t.Fatalf("Read(%d) does not advance", off)
		}
		off = r.NextOffset
	}
	return out
}

// leaderLog appends batches in epochs 1, 1, 2, 2, 4 (an idempotent
// producer in the middle) and returns the log.
func leaderLog(t testing.TB, m *Manager, cfg Config) *Log {
	t.Helper()
	l, err := m.Open(tp0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	epochs := []int32{1, 1, 2, 2, 4}
	for i, e := range epochs {
		spec := batchSpec{n: 3, valueSize: 40, ts: int64(100 + i)}
		if i == 2 || i == 3 {
			spec.pid, spec.seq = 7, int32(3*(i-2))
		}
		if _, err := l.Append(makeBatch(spec), e); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// A follower fed the leader's bytes ends with the same bytes, the same log
// end offset and the same leader epoch history, across segment rolls.
func TestAppendAsFollowerCopiesLeader(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	cfg := Config{SegmentBytes: 400, IndexIntervalBytes: 100}
	ld := leaderLog(t, m, cfg)
	f, err := m.Open(tpFollower, cfg)
	if err != nil {
		t.Fatal(err)
	}
	data := logBytes(t, ld, 0)
	// Feed it in two fetches, the first cut inside a batch.
	cut := len(data)/2 + 7
	res, err := f.AppendAsFollower(data[:cut])
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstOffset != 0 || res.Bytes >= cut {
		t.Fatalf("first fetch: %+v (cut %d)", res, cut)
	}
	if _, err := f.AppendAsFollower(data[res.Bytes:]); err != nil {
		t.Fatal(err)
	}
	if f.LogEndOffset() != ld.LogEndOffset() {
		t.Fatalf("LEO %d, leader %d", f.LogEndOffset(), ld.LogEndOffset())
	}
	if !bytes.Equal(logBytes(t, f, 0), data) {
		t.Fatal("follower bytes differ from the leader's")
	}
	if len(f.segments()) < 2 {
		t.Fatalf("want the follower to roll segments, has %d", len(f.segments()))
	}
	for e := int32(0); e <= 5; e++ {
		le, lo := ld.EndOffsetForEpoch(e)
		fe, fo := f.EndOffsetForEpoch(e)
		if le != fe || lo != fo {
			t.Fatalf("epoch %d: leader (%d,%d) follower (%d,%d)", e, le, lo, fe, fo)
		}
	}
	if got := f.EpochForOffset(7); got != 2 {
		t.Fatalf("epoch of offset 7 = %d, want 2", got)
	}
	// The producer state came along: a duplicate of the producer's last
	// batch, appended on the follower as a new leader, is recognized.
	dup := makeBatch(batchSpec{n: 3, valueSize: 40, ts: 103, pid: 7, seq: 3})
	r, err := f.Append(dup, 5)
	if err != nil || !r.Duplicate || r.BaseOffset != 9 {
		t.Fatalf("duplicate after follower append: %+v, %v", r, err)
	}
}

// compactedBatch returns a batch of n records whose offset deltas are
// spread over span offsets, as the log cleaner leaves them.
func compactedBatch(base int64, n, span int, epoch int32) []byte {
	b := makeBatch(batchSpec{n: n, valueSize: 10, ts: 1})
	binary.BigEndian.PutUint64(b[0:], uint64(base))
	binary.BigEndian.PutUint32(b[12:], uint32(epoch))
	binary.BigEndian.PutUint32(b[23:], uint32(span-1)) // last offset delta
	binary.BigEndian.PutUint32(b[17:], crcOf(b[21:]))
	return b
}

func TestAppendAsFollowerChecks(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	f, err := m.Open(tpFollower, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// A compacted batch (2 records over offsets 0..4), then an emptied one,
	// then a gap: all accepted as they are.
	data := append(compactedBatch(0, 2, 5, 1), compactedBatch(5, 1, 3, 1)...)
	data = append(data, compactedBatch(20, 1, 1, 3)...)
	if _, err := f.AppendAsFollower(data); err != nil {
		t.Fatalf("compacted batches: %v", err)
	}
	if f.LogEndOffset() != 21 {
		t.Fatalf("LEO %d want 21", f.LogEndOffset())
	}
	if _, err := f.Append(compactedBatch(0, 2, 5, 1), 1); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("a leader must refuse a batch with a record count gap: %v", err)
	}

	bad := compactedBatch(21, 1, 1, 3)
	bad[len(bad)-1] ^= 1
	if _, err := f.AppendAsFollower(bad); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("bad CRC: %v", err)
	}
	if _, err := f.AppendAsFollower(compactedBatch(10, 1, 1, 3)); !errors.Is(err, ErrUnexpectedOffset) {
		t.Fatalf("below LEO: %v", err)
	}
	twice := append(compactedBatch(30, 1, 2, 3), compactedBatch(31, 1, 1, 3)...)
	if _, err := f.AppendAsFollower(twice); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("overlapping offsets: %v", err)
	}
	if f.LogEndOffset() != 21 {
		t.Fatalf("a refused append changed the log: LEO %d", f.LogEndOffset())
	}
	if e, end := f.EndOffsetForEpoch(1); e != 1 || end != 20 {
		t.Fatalf("epoch 1 ends at (%d,%d), want (1,20)", e, end)
	}
}

// A follower with a divergent tail truncates to the leader's epoch end and
// then takes the leader's batches; epochs, producer state and HW follow.
func TestFollowerTruncateDivergentTail(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	cfg := Config{SegmentBytes: 400, IndexIntervalBytes: 100}
	ld := leaderLog(t, m, cfg)
	f, _ := m.Open(tpFollower, cfg)
	data := logBytes(t, ld, 0)
	// The follower got everything up to offset 9 (epochs 1 and 2)...
	upTo := len(data)
	for it, pos := record.NewBatches(data), 0; ; {
		h, _, ok := it.Next()
		if !ok {
			break
		}
		if h.BaseOffset == 9 {
			upTo = pos
			break
		}
		pos = it.Pos()
	}
	if _, err := f.AppendAsFollower(data[:upTo]); err != nil {
		t.Fatal(err)
	}
	// ...then led in epoch 3 for a while, writing what nobody else has.
	for i := 0; i < 3; i++ {
		if _, err := f.Append(makeBatch(batchSpec{n: 2, valueSize: 40, pid: 9, seq: int32(2 * i)}), 3); err != nil {
			t.Fatal(err)
		}
	}
	f.SetHighWatermark(f.LogEndOffset())
	// The leader (epoch 4) says epoch 2 ends at 12 on its side.
	le, lend := ld.EndOffsetForEpoch(2)
	if le != 2 || lend != 12 {
		t.Fatalf("leader's epoch 2 end (%d,%d)", le, lend)
	}
	fe, fend := f.EndOffsetForEpoch(le)
	if fe != 2 {
		t.Fatalf("follower's epoch 2: %d", fe)
	}
	if err := f.TruncateTo(min(lend, fend)); err != nil {
		t.Fatal(err)
	}
	if f.LogEndOffset() != 9 || f.HighWatermark() > 9 || f.LatestEpoch() != 2 {
		t.Fatalf("after truncation LEO %d HW %d epoch %d", f.LogEndOffset(), f.HighWatermark(), f.LatestEpoch())
	}
	if _, err := f.AppendAsFollower(data[upTo:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(logBytes(t, f, 0), data) {
		t.Fatal("follower differs from leader after truncation and catch-up")
	}
	if e, end := f.EndOffsetForEpoch(3); e != 2 || end != 12 {
		t.Fatalf("epoch 3 left in the cache: (%d,%d)", e, end)
	}
	// The producer state is the leader's: the producer's next sequence is 6.
	if _, err := f.Append(makeBatch(batchSpec{n: 1, pid: 7, seq: 6}), 5); err != nil {
		t.Fatalf("producer state after truncation: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openTestManager(t, dir, nil)
	defer m.Close()
	f, _ = m.Open(tpFollower, cfg)
	if !bytes.Equal(logBytes(t, f, 0)[:len(data)], data) || f.LatestEpoch() != 5 {
		t.Fatalf("after reopen: LEO %d epoch %d", f.LogEndOffset(), f.LatestEpoch())
	}
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	f, _ := m.Open(tpFollower, Config{SegmentBytes: 300})
	for i := 0; i < 5; i++ {
		if _, err := f.Append(makeBatch(batchSpec{n: 1, valueSize: 80, pid: 3, seq: int32(i)}), 1); err != nil {
			t.Fatal(err)
		}
	}
	f.SetHighWatermark(5)
	if err := f.TruncateFullyAndStartAt(4); err != nil { // 4 is a segment's base offset too
		t.Fatal(err)
	}
	if f.LogStartOffset() != 4 || f.LogEndOffset() != 4 || f.HighWatermark() != 4 || f.LatestEpoch() != -1 {
		t.Fatalf("start %d end %d hw %d epoch %d", f.LogStartOffset(), f.LogEndOffset(), f.HighWatermark(), f.LatestEpoch())
	}
	if _, err := f.Read(2, 100, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the new start: %v", err)
	}
	if _, err := f.AppendAsFollower(compactedBatch(100, 1, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openTestManager(t, dir, nil)
	defer m.Close()
	f, _ = m.Open(tpFollower, Config{SegmentBytes: 300})
	if f.LogStartOffset() != 4 || f.LogEndOffset() != 101 {
		t.Fatalf("after reopen start %d end %d", f.LogStartOffset(), f.LogEndOffset())
	}
	if hs := readAll(t, f, 4); len(hs) != 1 || hs[0].BaseOffset != 100 {
		t.Fatalf("after reopen: %d batches", len(hs))
	}
}

// Recovery re-reads the batches after the recovery point and puts their
// epochs back into a leader epoch cache that lost them (its checkpoint
// is written without an fsync).
func TestRecoveryRebuildsLeaderEpochs(t *testing.T) {
	src := t.TempDir()
	m := openTestManager(t, src, nil)
	cfg := Config{SegmentBytes: 400, IndexIntervalBytes: 100}
	ld := leaderLog(t, m, cfg)
	want := map[int32][2]int64{}
	for e := int32(0); e <= 5; e++ {
		ee, end := ld.EndOffsetForEpoch(e)
		want[e] = [2]int64{int64(ee), end}
	}
	crash(m)
	if err := os.Remove(filepath.Join(src, "t-0", leaderEpochFile)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(src, "recovery-point-offset-checkpoint"))
	m = openTestManager(t, src, nil)
	defer m.Close()
	l, err := m.Open(tp0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for e := int32(0); e <= 5; e++ {
		ee, end := l.EndOffsetForEpoch(e)
		if got := [2]int64{int64(ee), end}; got != want[e] {
			t.Fatalf("epoch %d after recovery: %v, want %v", e, got, want[e])
		}
	}
}
