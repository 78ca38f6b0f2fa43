package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

// TestCleanerAbortsWhenTheLogChanges: a log truncated into the group being
// cleaned, deleted or closed while a pass runs makes the pass give up
// without touching it; no cleaner file is left behind.
func TestCleanerAbortsWhenTheLogChanges(t *testing.T) {
	cases := []struct {
		name   string
		change func(m *Manager, l *Log)
	}{
		{"truncated", func(m *Manager, l *Log) {
			if err := l.TruncateTo(3); err != nil {
				t.Error(err)
			}
		}},
		{"deleted", func(m *Manager, l *Log) {
			if err := m.Delete(tp0); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := openCleanerManager(t, t.TempDir(), nil)
			defer m.Close()
			l, _ := m.Open(tp0, compactConfig(300))
			for i := 0; i < 30; i++ {
				mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint(i % 4), value: "v"}))
			}
			rollAndCommit(t, l)
			before := readRecords(t, l)
			m.cleaner.hook = func(step string, hl *Log) {
				if step == "cleaned-written" {
					m.cleaner.hook = nil
					tc.change(m, hl)
				}
			}
			cleaned, err := m.cleaner.cleanDirtiest(nil)
			if !cleaned || !errors.Is(err, errCleanAborted) {
				t.Fatalf("pass: cleaned %v, %v; want aborted", cleaned, err)
			}
			left, _ := filepath.Glob(filepath.Join(l.Dir(), "*"+cleanedSuffix))
			swaps, _ := filepath.Glob(filepath.Join(l.Dir(), "*"+swapSuffix))
			if len(left)+len(swaps) > 0 {
				t.Fatalf("left behind: %v %v", left, swaps)
			}
			if tc.name == "truncated" {
				sameRecords(t, "after the aborted pass", readRecords(t, l), before[:3])
			}
		})
	}
}

// TestCleanerSkipsALogItCannotClean: a log holding a batch whose records
// cannot be decoded (written before the topic became compacted) fails its
// pass once and is then left alone; other logs are still cleaned.
func TestCleanerSkipsALogItCannotClean(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	badTP := TopicPartition{Topic: "bad", Partition: 0}
	bad, _ := m.Open(badTP, Config{SegmentBytes: 300})
	garbled := keyedBatch(record.CodecZstd, 1, kv{key: "a", value: "1"}, kv{key: "b", value: "2"})
	for i := record.HeaderSize + 4; i < len(garbled); i++ {
		garbled[i] ^= 0x5a
	}
	binary.BigEndian.PutUint32(garbled[17:], crcOf(garbled[21:]))
	mustAppend(t, bad, garbled)
	good, _ := m.Open(tp0, compactConfig(300))
	for i := 0; i < 20; i++ {
		mustAppend(t, bad, keyedBatch(record.CodecNone, 1, kv{key: "k", value: fmt.Sprint(i)}))
		mustAppend(t, good, keyedBatch(record.CodecNone, 1, kv{key: "k", value: fmt.Sprint(i)}))
	}
	rollAndCommit(t, bad)
	rollAndCommit(t, good)
	bad.UpdateConfig(compactConfig(300))
	failures := 0
	for range 3 {
		cleaned, err := m.cleaner.cleanDirtiest(nil)
		if err != nil {
			failures++
			if !errors.Is(err, ErrCorruptBatch) {
				t.Fatalf("pass over the bad log: %v", err)
			}
		} else if !cleaned {
			break
		}
	}
	if failures != 1 || !m.cleaner.isUncleanable(badTP) {
		t.Fatalf("%d failed passes; bad log uncleanable %v", failures, m.cleaner.isUncleanable(badTP))
	}
	if got := readRecords(t, good); len(got) != 1 || got[0].value != "19" {
		t.Fatalf("good log not cleaned: %v", got)
	}
}

// TestReadsDuringASwap: at every step of a swap, a read through the log
// sees every record (the new segment list is published before the old
// segments go), and a read still holding the old list that meets a
// deleted segment is told to start over rather than answer
// OFFSET_OUT_OF_RANGE.
func TestReadsDuringASwap(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(300))
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint(i % 4), value: fmt.Sprint(i)}, kv{key: fmt.Sprint("u", i), value: "x"}))
	}
	rollAndCommit(t, l)
	before := readRecords(t, l)
	evict := func() {
		segs := l.segments()
		for _, s := range segs[:len(segs)-1] { // not the active segment's: it is pinned
			m.env.indexes.mu.Lock()
			m.env.indexes.removeLocked(s)
			m.env.indexes.mu.Unlock()
			s.idx.Store(nil)
		}
	}
	var stale *[]*segment
	staleChecked := false
	steps := 0
	m.cleaner.hook = func(step string, hl *Log) {
		switch step {
		case "cleaned-written":
			stale = hl.segs.Load()
			evict()
		case "swap-renamed", "old-deleted", "swap-done":
			steps++
			sameView(t, "read during "+step, readRecords(t, hl), before)
			if step != "old-deleted" || staleChecked {
				return
			}
			// The first old segment has just been deleted.
			old := (*stale)[0]
			old.idx.Store(nil)
			_, _, err := old.read(old.base, 1<<20, 1<<62, true)
			if !errors.Is(err, ErrOffsetOutOfRange) || !hl.replacedUnder(stale, err) {
				t.Errorf("read of a deleted segment through the old list: %v (start over: %v)", err, hl.replacedUnder(stale, err))
			}
			staleChecked = true
		}
	}
	cleanOnce(t, m)
	if steps < 3 || !staleChecked {
		t.Fatalf("hook saw %d swap steps, stale read checked %v", steps, staleChecked)
	}
}

// TestMaxCompactionLagRollsTheActiveSegment: a compacted log rolls its
// active segment once it is max.compaction.lag.ms old (KIP-354), so that
// the cleaner can reach its records; a delete-policy log does not.
func TestMaxCompactionLagRollsTheActiveSegment(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	for _, policy := range []string{"compact", "delete"} {
		cfg := compactConfig(1 << 20)
		cfg.CleanupPolicy = policy
		cfg.MaxCompactionLagMs = 1000
		l, _ := m.Open(TopicPartition{Topic: policy, Partition: 0}, cfg)
		mustAppend(t, l, keyedBatch(record.CodecNone, 10_000, kv{key: "k", value: "1"}))
		mustAppend(t, l, keyedBatch(record.CodecNone, 12_000, kv{key: "k", value: "2"}))
		if n, want := len(l.segments()), map[string]int{"compact": 2, "delete": 1}[policy]; n != want {
			t.Fatalf("%s: %d segments, want %d", policy, n, want)
		}
	}
}

// TestCleanerDoesNotSpin: a log that stays due although a pass made no
// progress is cleaned once per round, not over and over.
func TestCleanerDoesNotSpin(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(300))
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint(i % 4), value: "v"}))
	}
	rollAndCommit(t, l)
	passes := 0
	m.cleaner.hook = func(step string, hl *Log) {
		switch step {
		case "begin":
			passes++
		case "checkpointed":
			// As if the pass had got nowhere: the log stays all dirty.
			m.cleaner.mu.Lock()
			m.cleaner.mu.firstDirty[hl.tp] = hl.LogStartOffset()
			m.cleaner.mu.Unlock()
		}
	}
	m.cleaner.runPasses()
	if passes != 1 {
		t.Fatalf("%d passes in one round", passes)
	}
	m.cleaner.runPasses() // the next round tries again
	if passes != 2 {
		t.Fatalf("%d passes after two rounds", passes)
	}
}

// TestCleanerLeavesUnchangedSegments: a segment that loses nothing in a
// pass is not rewritten: the same segment (and file) stays in the log.
func TestCleanerLeavesUnchangedSegments(t *testing.T) {
	m := openCleanerManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, compactConfig(300))
	for i := 0; i < 30; i++ {
		mustAppend(t, l, keyedBatch(record.CodecNone, 1, kv{key: fmt.Sprint("unique", i), value: "v"}))
	}
	rollAndCommit(t, l)
	before := append([]*segment(nil), l.segments()...)
	cleanOnce(t, m)
	after := l.segments()
	if len(after) != len(before) {
		t.Fatalf("%d segments, was %d", len(after), len(before))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Fatalf("segment %d was rewritten though nothing in it changed", before[i].base)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(l.Dir(), "*"+cleanedSuffix)); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	if st := m.cleaner.lastStats; st.bytesAfter != st.bytesBefore || st.bytesBefore == 0 {
		t.Fatalf("stats %+v", st)
	}
}
