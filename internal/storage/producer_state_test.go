package storage

import (
	"errors"
	"math"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

// step is one produce attempt in a sequence test: a batch of n records
// from producer pid at epoch with base sequence seq. The harness checks it
// with Check and, when accepted and not a duplicate, appends it at the
// next offset and records it.
type step struct {
	pid     int64
	epoch   int16
	seq     int32
	n       int32
	control bool

	wantErr error
	wantDup *BatchRef // non-nil: must be a duplicate of this batch
}

// producerLog drives a ProducerStates the way the log does.
type producerLog struct {
	s    *ProducerStates
	next int64 // log end offset
	ts   int64 // timestamp of the next batch, ms
}

func newProducerLog() *producerLog { return &producerLog{s: NewProducerStates(), ts: 1000} }

func (l *producerLog) header(st step) record.Header {
	h := record.Header{
		BaseOffset:      l.next,
		LastOffsetDelta: st.n - 1,
		RecordCount:     st.n,
		ProducerID:      st.pid,
		ProducerEpoch:   st.epoch,
		BaseSequence:    st.seq,
		MaxTimestamp:    l.ts,
	}
	if st.control {
		h.Attributes = record.AttrControl | record.AttrTransactional
		h.BaseSequence = -1
		h.LastOffsetDelta, h.RecordCount = 0, 1
	}
	return h
}

// try runs one step and reports what happened.
func (l *producerLog) try(st step) (ref BatchRef, dup bool, err error) {
	h := l.header(st)
	ref, dup, err = l.s.Check(&h)
	if err == nil && !dup {
		l.s.Record(&h)
		l.next = h.LastOffset() + 1
		l.ts++
	}
	return ref, dup, err
}

func runSteps(t *testing.T, l *producerLog, steps []step) {
	t.Helper()
	for i, st := range steps {
		ref, dup, err := l.try(st)
		switch {
		case st.wantErr != nil:
			if !errors.Is(err, st.wantErr) {
				t.Fatalf("step %d %+v: err = %v, want %v", i, st, err, st.wantErr)
			}
		case err != nil:
			t.Fatalf("step %d %+v: unexpected error %v", i, st, err)
		case st.wantDup != nil:
			if !dup || ref != *st.wantDup {
				t.Fatalf("step %d %+v: dup = %v ref = %+v, want duplicate of %+v", i, st, dup, ref, *st.wantDup)
			}
		case dup:
			t.Fatalf("step %d %+v: unexpected duplicate of %+v", i, st, ref)
		}
	}
}

func TestProducerStateSequences(t *testing.T) {
	const maxSeq = math.MaxInt32
	tests := []struct {
		name  string
		steps []step
	}{
		{"non-idempotent batches always pass", []step{
			{pid: -1, epoch: -1, seq: -1, n: 3},
			{pid: -1, epoch: -1, seq: -1, n: 3},
		}},
		{"in order", []step{
			{pid: 1, seq: 0, n: 3},
			{pid: 1, seq: 3, n: 1},
			{pid: 1, seq: 4, n: 10},
		}},
		{"unknown producer starts anywhere (KIP-360)", []step{
			{pid: 1, epoch: 4, seq: 1234, n: 2},
			{pid: 1, epoch: 4, seq: 1236, n: 1},
		}},
		{"gap", []step{
			{pid: 1, seq: 0, n: 3},
			{pid: 1, seq: 4, n: 1, wantErr: ErrOutOfOrderSequence},
			{pid: 1, seq: 3, n: 1}, // the state did not move
		}},
		{"repeat that is not a retained batch", []step{
			{pid: 1, seq: 0, n: 3},
			{pid: 1, seq: 1, n: 2, wantErr: ErrOutOfOrderSequence},
			{pid: 1, seq: 0, n: 2, wantErr: ErrOutOfOrderSequence}, // same base, other last
		}},
		{"duplicates of each of the last 5 batches", []step{
			{pid: 1, seq: 0, n: 2},  // offsets 0-1
			{pid: 1, seq: 2, n: 2},  // 2-3
			{pid: 1, seq: 4, n: 2},  // 4-5
			{pid: 1, seq: 6, n: 2},  // 6-7
			{pid: 1, seq: 8, n: 2},  // 8-9
			{pid: 1, seq: 10, n: 2}, // 10-11; batch 0-1 falls out
			{pid: 1, seq: 2, n: 2, wantDup: &BatchRef{2, 3, 1001}},
			{pid: 1, seq: 10, n: 2, wantDup: &BatchRef{10, 11, 1005}},
			{pid: 1, seq: 6, n: 2, wantDup: &BatchRef{6, 7, 1003}},
			{pid: 1, seq: 0, n: 2, wantErr: ErrOutOfOrderSequence}, // too old to tell
			{pid: 1, seq: 12, n: 1},
		}},
		{"duplicate only at the same epoch", []step{
			{pid: 1, epoch: 0, seq: 0, n: 1},
			{pid: 1, epoch: 1, seq: 0, n: 1}, // bumped: a new batch, not a dup
			{pid: 1, epoch: 1, seq: 0, n: 1, wantDup: &BatchRef{1, 1, 1001}},
		}},
		{"epoch bump must restart at 0", []step{
			{pid: 1, epoch: 0, seq: 0, n: 5},
			{pid: 1, epoch: 1, seq: 5, n: 1, wantErr: ErrOutOfOrderSequence},
			{pid: 1, epoch: 1, seq: 0, n: 1},
			{pid: 1, epoch: 1, seq: 1, n: 1},
		}},
		{"old epoch fenced", []step{
			{pid: 1, epoch: 3, seq: 0, n: 1},
			{pid: 1, epoch: 2, seq: 1, n: 1, wantErr: ErrInvalidProducerEpoch},
			{pid: 1, epoch: 2, seq: 0, n: 1, wantErr: ErrInvalidProducerEpoch},
			{pid: 1, epoch: 3, seq: 1, n: 1},
		}},
		{"sequence wraps from MaxInt32 to 0", []step{
			{pid: 1, seq: maxSeq - 2, n: 3}, // unknown producer: accepted; last seq MaxInt32
			{pid: 1, seq: 0, n: 2},
			{pid: 1, seq: 2, n: 1},
		}},
		{"a batch spanning the wrap", []step{
			{pid: 1, seq: maxSeq - 1, n: 1},
			{pid: 1, seq: maxSeq, n: 3}, // last sequence 1
			{pid: 1, seq: maxSeq, n: 3, wantDup: &BatchRef{1, 3, 1001}},
			{pid: 1, seq: 2, n: 1},
		}},
		{"no wrap to 0 from below MaxInt32", []step{
			{pid: 1, seq: maxSeq - 5, n: 1},
			{pid: 1, seq: 0, n: 1, wantErr: ErrOutOfOrderSequence},
		}},
		{"producers are independent", []step{
			{pid: 1, seq: 0, n: 2},
			{pid: 2, seq: 0, n: 2},
			{pid: 1, seq: 2, n: 1},
			{pid: 2, seq: 3, n: 1, wantErr: ErrOutOfOrderSequence},
			{pid: 2, seq: 2, n: 1},
			{pid: 2, seq: 0, n: 2, wantDup: &BatchRef{2, 3, 1001}},
		}},
		{"producer id without a sequence", []step{
			{pid: 1, seq: -1, n: 1, wantErr: ErrInvalidRecord},
		}},
		{"marker of an older epoch fenced", []step{
			{pid: 1, epoch: 5, seq: 0, n: 1},
			{pid: 1, epoch: 4, control: true, wantErr: ErrInvalidProducerEpoch},
			{pid: 1, epoch: 5, control: true},
			{pid: 1, epoch: 5, seq: 1, n: 1}, // markers leave the sequence alone
		}},
		{"marker with a bumped epoch resets the sequence", []step{
			{pid: 1, epoch: 5, seq: 0, n: 3},
			{pid: 1, epoch: 6, control: true},
			{pid: 1, epoch: 6, seq: 3, n: 1, wantErr: ErrOutOfOrderSequence},
			{pid: 1, epoch: 6, seq: 0, n: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, newProducerLog(), tt.steps)
		})
	}
}

func TestProducerStateRetainsFiveBatches(t *testing.T) {
	l := newProducerLog()
	for i := range int32(20) {
		if _, _, err := l.try(step{pid: 9, seq: i, n: 1}); err != nil {
			t.Fatal(err)
		}
	}
	e := l.s.producers[9]
	if e.n != 5 || e.batches[0].firstSeq != 15 || e.batches[4].firstSeq != 19 {
		t.Fatalf("retained %d batches: %+v", e.n, e.batches)
	}
}

func TestExpireProducers(t *testing.T) {
	l := newProducerLog()
	runSteps(t, l, []step{{pid: 1, seq: 0, n: 1}, {pid: 2, seq: 0, n: 1}, {pid: 3, seq: 0, n: 1}})
	// Timestamps 1000, 1001, 1002: an hour-long window at 1001+1h drops 1 and 2.
	if n := l.s.ExpireProducers(1001+3_600_000, 3_600_000); n != 2 || l.s.Len() != 1 {
		t.Fatalf("expired %d, %d left", n, l.s.Len())
	}
	// An expired producer is unknown again: any sequence goes.
	runSteps(t, l, []step{{pid: 1, seq: 77, n: 1}, {pid: 3, seq: 5, n: 1, wantErr: ErrOutOfOrderSequence}})
}
