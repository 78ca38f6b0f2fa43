package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/record"
)

// TestCleanerKeepsLastValuePerKey: for several shapes of input, a pass
// leaves exactly the last record of every key, at its original offset,
// with its timestamp, in batches of the original codec.
func TestCleanerKeepsLastValuePerKey(t *testing.T) {
	cases := []struct {
		name    string
		codec   int
		keys    int
		perBat  int
		batches int
		segSize int64
	}{
		{"one key", record.CodecNone, 1, 1, 40, 400},
		{"few keys uncompressed", record.CodecNone, 5, 3, 60, 600},
		{"many keys gzip", record.CodecGzip, 50, 7, 40, 2000},
		{"snappy", record.CodecSnappy, 8, 4, 40, 700},
		{"lz4", record.CodecLZ4, 8, 4, 40, 700},
		{"zstd big segments", record.CodecZstd, 20, 10, 30, 1 << 20},
		{"all distinct", record.CodecNone, 1000, 5, 20, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := openCleanerManager(t, t.TempDir(), nil)
			defer m.Close()
			l, err := m.Open(tp0, compactConfig(tc.segSize))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for b := 0; b < tc.batches; b++ {
				var recs []kv
				for r := 0; r < tc.perBat; r++ {
					recs = append(recs, kv{key: fmt.Sprintf("k%d", n%tc.keys), value: fmt.Sprintf("v%d", n)})
					n++
				}
				mustAppend(t, l, keyedBatch(tc.codec, 1000+int64(n), recs...))
			}
			rollAndCommit(t, l)
			before := readRecords(t, l)
			want := lastPerKey(before)
			cleanOnce(t, m)
			got := readRecords(t, l)
			sameRecords(t, "after one pass", got, want)
			// Every stored batch keeps the codec; no batch is larger than
			// the original data.
			for _, h := range readAll(t, l, l.LogStartOffset()) {
				if h.RecordCount > 0 && h.Codec() != tc.codec {
					t.Fatalf("batch at %d has codec %d, want %d", h.BaseOffset, h.Codec(), tc.codec)
				}
			}
			// A second pass finds nothing dirty.
			if cleaned, err := m.cleaner.cleanDirtiest(nil); cleaned || err != nil {
				t.Fatalf("second pass cleaned %v: %v", cleaned, err)
			}
			// And a restart reads the same.
			m.Close()
			m = openCleanerManager(t, m.Dir(), nil)
			defer m.Close()
			l, err = m.Open(tp0, compactConfig(tc.segSize))
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, "after restart", readRecords(t, l), want)
		})
	}
}

// TestCleanerCopiesSurvivingBatchesVerbatim: a batch none of whose records
// is superseded is stored byte for byte as before.
func TestCleanerCopiesSurvivingBatchesVerbatim(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(300))
	keep := mustAppend(t, l, keyedBatch(record.CodecGzip, 100, kv{key: "a", value: "1"}, kv{key: "b", value: "2"}))
	for i := 0; i < 20; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 200, kv{key: "c", value: fmt.Sprint(i)}))
	}
	rollAndCommit(t, l)
	orig := batchBytesAt(t, l, keep.BaseOffset)
	cleanOnce(t, m)
	if got := batchBytesAt(t, l, keep.BaseOffset); !bytes.Equal(got, orig) {
		t.Fatalf("surviving batch rewritten:\n%x\n%x", got, orig)
	}
	if st := m.cleaner.lastStats; st.recordsRemoved != 19 || st.batchesRebuilt != 1 {
		// 19 of the 20 "c" batches go; the last one of its group is
		// kept (empty) unless it is the one holding the last "c".
		t.Logf("stats %+v", st)
	}
}

func batchBytesAt(t testing.TB, l *Log, offset int64) []byte {
	t.Helper()
	r, err := l.Read(offset, 1, 1<<62, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := record.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return b[:h.Size()]
}

// TestCleanerTombstones: a tombstone survives the pass that first sees
// it (which stamps its batch with a delete horizon, KIP-534) and passes
// before the horizon, and goes with the first pass after it; the key's
// older values go at once.
func TestCleanerTombstones(t *testing.T) {
	clock := &testClock{now: timeAt(10_000_000)}
	m := openCleanerManager(t, t.TempDir(), clock)
	defer m.Close()
	cfg := compactConfig(400)
	cfg.DeleteRetentionMs = 60_000
	l, _ := m.Open(tp0, cfg)
	mustAppend(t, l, keyedBatch(record.CodecNone, 5000, kv{key: "gone", value: "1"}, kv{key: "stay", value: "1"}))
	mustAppend(t, l, keyedBatch(record.CodecNone, 5001, kv{key: "gone", value: "2"}))
	mustAppend(t, l, keyedBatch(record.CodecLZ4, 5002, kv{key: "gone", tomb: true}, kv{key: "other", value: "x"}))
	rollAndCommit(t, l)
	before := readRecords(t, l)
	cleanOnce(t, m)
	got := readRecords(t, l)
	sameRecords(t, "first pass", got, lastPerKey(before))
	if !got[1].tomb || got[1].ts != 5002 {
		t.Fatalf("tombstone not kept with its timestamp: %v ts %d", got[1], got[1].ts)
	}
	var horizon int64
	for _, h := range readAll(t, l, l.LogStartOffset()) {
		if h.HasDeleteHorizon() {
			horizon = h.BaseTimestamp
		}
	}
	if horizon != 10_000_000+60_000 {
		t.Fatalf("delete horizon %d, want now + delete.retention.ms", horizon)
	}

	// Before the horizon: nothing is due.
	clock.Advance(59 * time.Second)
	if cleaned, err := m.cleaner.cleanDirtiest(nil); cleaned || err != nil {
		t.Fatalf("pass before the horizon: %v %v", cleaned, err)
	}
	// A restart in between: the horizon is learnt again from the batches.
	m.Close()
	m = openCleanerManager(t, m.Dir(), clock)
	defer m.Close()
	l, _ = m.Open(tp0, cfg)
	l.SetHighWatermark(l.LogEndOffset())
	if cleaned, err := m.cleaner.cleanDirtiest(nil); cleaned || err != nil {
		t.Fatalf("pass before the horizon after a restart: %v %v", cleaned, err)
	}
	// After it: a pass is due although nothing is dirty, and the
	// tombstone goes.
	clock.Advance(2 * time.Second)
	cleanOnce(t, m)
	sameRecords(t, "after the horizon", readRecords(t, l), dropTombstones(lastPerKey(before)))
	if m.cleaner.lastStats.tombstonesRemoved != 1 {
		t.Fatalf("stats %+v", m.cleaner.lastStats)
	}
}

// TestCleanerGapsAreServed: every offset of a compacted log, including
// those that compaction removed, reads as the next surviving batch, from
// the in-memory and the on-disk indexes alike, and ListOffsets by time
// still finds records.
func TestCleanerGapsAreServed(t *testing.T) {
	dir := t.TempDir()
	m := openCleanerManager(t, dir, nil)
	l, _ := m.Open(tp0, compactConfig(500))
	for i := 0; i < 100; i++ {
		key := fmt.Sprintf("k%d", i%10)
		if i%17 == 0 {
			key = fmt.Sprintf("unique%d", i)
		}
		mustAppend(t, l, keyedBatch(record.CodecNone, int64(1000+i*10), kv{key: key, value: fmt.Sprint(i)}))
	}
	rollAndCommit(t, l)
	cleanOnce(t, m)
	check := func(l *Log) {
		t.Helper()
		surv := readRecords(t, l)
		next := func(o int64) int64 {
			for _, r := range surv {
				if r.offset >= o {
					return r.offset
				}
			}
			return -1
		}
		for o := l.LogStartOffset(); o < l.LogEndOffset()-1; o++ {
			want := next(o)
			found := firstRecordFrom(t, l, o)
			if found != want {
				t.Fatalf("Read(%d) serves %d first, want %d", o, found, want)
			}
			// ListOffsets by timestamp: record i has timestamp 1000+10i.
			off, _, ok, err := l.OffsetForTimestamp(1000 + o*10)
			if err != nil || !ok || off != want {
				t.Fatalf("OffsetForTimestamp(%d) = %d %v %v, want %d", 1000+o*10, off, ok, err, want)
			}
		}
	}
	check(l)
	m.Close()
	m = openCleanerManager(t, dir, nil)
	defer m.Close()
	l, _ = m.Open(tp0, compactConfig(500))
	check(l)
}

// firstRecordFrom is the first record a consumer fetching from o gets:
// it reads on (past empty batches) until a batch has a record at or
// after o; -1 at the log end.
func firstRecordFrom(t testing.TB, l *Log, o int64) int64 {
	t.Helper()
	for from := o; from < l.LogEndOffset(); {
		r, err := l.Read(from, 1<<20, 1<<62, false)
		if err != nil {
			t.Fatalf("Read(%d): %v", from, err)
		}
		b, _ := r.AppendTo(nil)
		it := record.NewBatches(b)
		for {
			h, raw, ok := it.Next()
			if !ok {
				break
			}
			if h.LastOffset() < from {
				t.Fatalf("Read(%d) served batch %d..%d", from, h.BaseOffset, h.LastOffset())
			}
			recs, err := record.ReadRecords(raw, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				if off := h.BaseOffset + int64(rec.OffsetDelta); off >= o {
					return off
				}
			}
		}
		if r.NextOffset <= from {
			t.Fatalf("Read(%d) does not advance", from)
		}
		from = r.NextOffset
	}
	return -1
}

// TestCleanerKeepsProducerState: the last batch of an idempotent producer
// is kept (emptied) so that after a restart the producer's next sequence
// is accepted and a retry of its last batch is still a duplicate.
func TestCleanerKeepsProducerState(t *testing.T) {
	dir := t.TempDir()
	m := openCleanerManager(t, dir, nil)
	l, _ := m.Open(tp0, compactConfig(300))
	idem := func(seq int32, key, value string) []byte {
		return record.Build(record.BatchSpec{Idempotent: true, ProducerID: 42, ProducerEpoch: 3, BaseSequence: seq,
			Records: []record.RecordSpec{{Key: []byte(key), Value: []byte(value), Timestamp: 1}}})
	}
	var last []byte
	for i := int32(0); i < 10; i++ {
		last = idem(i, "k", fmt.Sprint(i))
		mustAppend(t, l, bytes.Clone(last))
	}
	// Another key supersedes the producer's last record.
	for i := 0; i < 10; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 2, kv{key: "k", value: fmt.Sprint("late", i)}))
	}
	rollAndCommit(t, l)
	cleanOnce(t, m)
	var kept *record.Header
	for _, h := range readAll(t, l, l.LogStartOffset()) {
		if h.ProducerID == 42 {
			if h.RecordCount != 0 {
				t.Fatalf("superseded batch %d of producer 42 kept with records", h.BaseOffset)
			}
			kept = &h
		}
	}
	if kept == nil || kept.BaseOffset != 9 || kept.RecordCount != 0 || kept.BaseSequence != 9 {
		t.Fatalf("producer's last batch not kept empty: %+v", kept)
	}
	crash(m)
	m = openCleanerManager(t, dir, nil)
	defer m.Close()
	// Drop the snapshots: the state must come from the log itself.
	snaps, _ := filepath.Glob(filepath.Join(l.Dir(), "*.snapshot"))
	for _, s := range snaps {
		os.Remove(s)
	}
	l, err := m.Open(tp0, compactConfig(300))
	if err != nil {
		t.Fatal(err)
	}
	if res := mustAppend(t, l, bytes.Clone(last)); !res.Duplicate || res.BaseOffset != 9 {
		t.Fatalf("retry of the last batch: %+v", res)
	}
	if _, err := l.Append(idem(11, "k", "x"), 0); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("sequence gap after compaction: %v", err)
	}
	mustAppend(t, l, idem(10, "k", "next"))
}

// TestCompactedLogRefusesNullKeys: Kafka's INVALID_RECORD for a record
// without a key on a compacted topic, compressed or not; nothing written.
func TestCompactedLogRefusesNullKeys(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(1<<20))
	for _, codec := range []int{record.CodecNone, record.CodecZstd} {
		b := record.Build(record.BatchSpec{Codec: codec, Records: []record.RecordSpec{{Key: []byte("k"), Value: []byte("v")}, {Value: []byte("no key")}}})
		if _, err := l.Append(b, 0); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("codec %d: null key accepted: %v", codec, err)
		}
	}
	if l.LogEndOffset() != 0 {
		t.Fatalf("LEO %d", l.LogEndOffset())
	}
	mustAppend(t, l, keyedBatch(record.CodecZstd, 1, kv{key: "k", value: "v"}))
	// A delete-policy log takes null keys.
	d, _ := m.Open(TopicPartition{Topic: "d", Partition: 0}, Config{})
	mustAppend(t, d, makeBatch(batchSpec{n: 2}))
}

// TestCleanerMergesSmallSegments: segments that shrank are merged up to
// segment.bytes, and a restart sees the merged layout.
func TestCleanerMergesSmallSegments(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(400))
	for i := 0; i < 60; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint("k", i%3), value: fmt.Sprint(i)}))
	}
	rollAndCommit(t, l)
	before := len(l.segments())
	cleanOnce(t, m)
	// Groups are formed by the sizes before a pass (as Kafka's): the
	// segments that shrank merge on the next pass.
	mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: "k0", value: "last"}))
	rollAndCommit(t, l)
	want := lastPerKey(readRecords(t, l))
	cleanOnce(t, m)
	if after := len(l.segments()); after >= before/2 {
		t.Fatalf("%d segments after cleaning, %d before", after, before)
	}
	sameRecords(t, "merged", readRecords(t, l), want)
	names, _ := filepath.Glob(filepath.Join(l.Dir(), "*.log"))
	if len(names) != len(l.segments()) {
		t.Fatalf("%d .log files for %d segments", len(names), len(l.segments()))
	}
}

// TestCleanerRespectsBounds: the active segment, what is above the high
// watermark and what is younger than min.compaction.lag.ms stay as they
// are; max.compaction.lag.ms forces a pass below the dirty ratio.
func TestCleanerRespectsBounds(t *testing.T) {
	clock := &testClock{now: timeAt(1_000_000)}
	m := openCleanerManager(t, t.TempDir(), clock)
	defer m.Close()
	cfg := compactConfig(300)
	cfg.MinCompactionLagMs = 10_000
	cfg.MinCleanableRatio = 0.99
	cfg.MaxCompactionLagMs = 50_000
	l, _ := m.Open(tp0, cfg)
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 995_000, kv{key: "k", value: fmt.Sprint(i)}))
	}
	l.SetHighWatermark(l.LogEndOffset())
	all := readRecords(t, l)
	// Records are 5 s old: within min.compaction.lag.ms.
	if cleaned, err := m.cleaner.cleanDirtiest(nil); cleaned || err != nil {
		t.Fatalf("cleaned within the min lag: %v %v", cleaned, err)
	}
	clock.Advance(10 * time.Second) // 15 s old, but ratio 0.99 not reached... it is: all dirty
	l.SetHighWatermark(10)
	cleanOnce(t, m)
	got := readRecords(t, l)
	// Only segments wholly below offset 10 were cleaned; the rest is intact.
	for _, r := range all {
		if r.offset >= 10 || l.segments()[segmentFor(l.segments(), r.offset)].limit.Load() > 10 {
			found := false
			for _, g := range got {
				found = found || g.offset == r.offset
			}
			if !found {
				t.Fatalf("record %v above the cleanable range removed", r)
			}
		}
	}
	if got[len(got)-1].offset != 29 {
		t.Fatalf("active segment's last record gone: %v", got)
	}
	l.SetHighWatermark(l.LogEndOffset())
	// Now the dirty part is below the 0.99 ratio...
	if cleaned, _ := m.cleaner.cleanDirtiest(nil); cleaned {
		t.Fatal("cleaned below min.cleanable.dirty.ratio")
	}
	// ...until max.compaction.lag.ms forces it.
	clock.Advance(60 * time.Second)
	cleanOnce(t, m)
}

// TestCleanerDeletePolicies: retention.ms deletes segments of a
// compact,delete log but not of a compact-only one.
func TestCleanerDeletePolicies(t *testing.T) {
	clock := &testClock{now: timeAt(1_000_000)}
	m := openCleanerManager(t, t.TempDir(), clock)
	defer m.Close()
	for _, policy := range []string{"compact", "compact,delete", "delete,compact"} {
		cfg := compactConfig(300)
		cfg.CleanupPolicy = policy
		cfg.RetentionMs = 1000
		l, _ := m.Open(TopicPartition{Topic: "p", Partition: int32(len(policy))}, cfg)
		for i := 0; i < 20; i++ {
			mustAppend(t, l, keyedBatch(record.CodecNone, 1_000_000, kv{key: fmt.Sprint(i), value: "v"}))
		}
		l.SetHighWatermark(l.LogEndOffset())
		clock.Advance(time.Minute)
		n, err := l.ApplyRetention()
		if err != nil {
			t.Fatal(err)
		}
		if (n > 0) != (policy != "compact") {
			t.Fatalf("policy %s: retention deleted %d segments", policy, n)
		}
	}
}

// TestCleanerCheckpoint: the first dirty offset survives a restart in
// cleaner-offset-checkpoint, so a clean log is not cleaned again.
func TestCleanerCheckpoint(t *testing.T) {
	dir := t.TempDir()
	m := openCleanerManager(t, dir, nil)
	l, _ := m.Open(tp0, compactConfig(300))
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint(i % 4), value: "v"}))
	}
	rollAndCommit(t, l)
	cleanOnce(t, m)
	m.Close()
	cp, err := readOffsetCheckpoint(filepath.Join(dir, cleanerCheckpointFile))
	if err != nil || cp[tp0] != 30 {
		t.Fatalf("checkpoint %v %v", cp, err)
	}
	m = openCleanerManager(t, dir, nil)
	defer m.Close()
	l, _ = m.Open(tp0, compactConfig(300))
	l.SetHighWatermark(l.LogEndOffset())
	if cleaned, err := m.cleaner.cleanDirtiest(nil); cleaned || err != nil {
		t.Fatalf("clean log cleaned again after restart: %v %v", cleaned, err)
	}
	// Deleting the partition forgets it.
	if err := m.Delete(tp0); err != nil {
		t.Fatal(err)
	}
	cp, _ = readOffsetCheckpoint(filepath.Join(dir, cleanerCheckpointFile))
	if _, ok := cp[tp0]; ok {
		t.Fatalf("deleted partition still in the checkpoint: %v", cp)
	}
}

// TestCleanerSmallOffsetMap: with a dedupe buffer too small for the dirty
// keys, a pass cleans a prefix and later passes finish the job.
func TestCleanerSmallOffsetMap(t *testing.T) {
	for _, tombstones := range []bool{false, true} {
		t.Run(fmt.Sprint("tombstones=", tombstones), func(t *testing.T) {
			clock := &testClock{now: timeAt(1_000_000)}
			m, err := OpenManager(t.TempDir(), ManagerOptions{Logger: quietLogger, DisableCleaner: true, DedupeBufferSize: 1, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			cfg := compactConfig(4000)
			cfg.DeleteRetentionMs = 1000
			l, _ := m.Open(tp0, cfg)
			for i := 0; i < 3000; i++ {
				r := kv{key: fmt.Sprint(i % 1500), value: fmt.Sprint(i)}
				// Tombstones in the first half, overwritten by values in
				// the second, and tombstones that stay last in the second.
				r.tomb = tombstones && i%7 == 3
				mustAppend(t, l, keyedBatch(record.CodecNone, 1, r))
			}
			rollAndCommit(t, l)
			before := readRecords(t, l)
			want := lastPerKey(before)
			if tombstones {
				want = dropTombstones(want)
			}
			passes := 0
			for ; passes < 20; passes++ {
				cleaned, err := m.cleaner.cleanDirtiest(nil)
				if err != nil {
					t.Fatal(err)
				}
				if !cleaned {
					break
				}
				// Every pass keeps every key's view (a removed tombstone
				// must not bring back an older value).
				sameView(t, fmt.Sprint("pass ", passes), readRecords(t, l), before)
				clock.Advance(2 * time.Second) // past the horizons stamped so far
			}
			if passes < 3 {
				t.Fatalf("%d passes: the map was not the limit", passes)
			}
			sameRecords(t, "after the passes", readRecords(t, l), want)
		})
	}
}

// TestCleanerAppendsDuringCleaning: the pass holds no lock while it
// rewrites: an append from inside it (the hook) goes through.
func TestCleanerAppendsDuringCleaning(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(300))
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint(i % 4), value: "v"}))
	}
	rollAndCommit(t, l)
	appended := 0
	m.cleaner.hook = func(step string, hl *Log) {
		if step == "cleaned-written" || step == "begin" {
			mustAppend(t, hl, keyedBatch(record.CodecNone, 1, kv{key: "during", value: step}))
			appended++
		}
	}
	cleanOnce(t, m)
	if appended < 2 || l.LogEndOffset() != 30+int64(appended) {
		t.Fatalf("appended %d, LEO %d", appended, l.LogEndOffset())
	}
}
