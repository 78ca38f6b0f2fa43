package storage

// The log's view of the producer state (idempotence and sequence checks).
// The state itself, its snapshots and its rules live in producer_state.go
// and producer_snapshot.go; this file is the narrow seam the append,
// recovery and truncation paths go through.

import "github.com/strata-io/strata/internal/record"

// producerTracker is what the log needs from the producer state. It is owned
// by the log's mutex.
type producerTracker interface {
	// check validates an idempotent batch before append; dup reports a retry
	// of a recent batch, with the original's offsets and timestamp.
	check(h *record.Header) (first, last, ts int64, dup bool, err error)
	// record notes an appended batch (h.BaseOffset is assigned).
	record(h *record.Header)
	// writeSnapshot persists the state as of offset (the log end offset).
	writeSnapshot(dir string, offset int64) error
}

// producerStates adapts *ProducerStates.
type producerStates struct{ s *ProducerStates }

func (p producerStates) check(h *record.Header) (int64, int64, int64, bool, error) {
	ref, dup, err := p.s.Check(h)
	return ref.FirstOffset, ref.LastOffset, ref.Timestamp, dup, err
}

func (p producerStates) record(h *record.Header) { p.s.Record(h) }

func (p producerStates) writeSnapshot(dir string, offset int64) error {
	return p.s.WriteSnapshot(dir, offset)
}

// loadProducers loads the newest snapshot at or below maxOffset; the caller
// replays batches from snapOffset. On an I/O error the state is empty and
// the whole log is replayed.
func loadProducers(dir string, maxOffset int64) (p producerTracker, snapOffset int64, err error) {
	s, off, err := LoadProducerSnapshot(dir, maxOffset)
	if err != nil {
		return producerStates{NewProducerStates()}, 0, err
	}
	return producerStates{s}, off, nil
}

// deleteProducerSnapshotsAbove removes snapshots of offsets past offset.
func deleteProducerSnapshotsAbove(dir string, offset int64) error {
	return DeleteProducerSnapshotsAbove(dir, offset)
}
