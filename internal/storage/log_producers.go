package storage

// The log's view of the producer state (idempotence and sequence checks).
// The state itself, its snapshots and its rules live in producer_state.go;
// this file is the narrow seam the append, recovery and truncation paths go
// through.

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

// noProducerState accepts everything. TODO: replace with the adapter over
// ProducerStates once producer_state.go lands.
type noProducerState struct{}

func (noProducerState) check(*record.Header) (int64, int64, int64, bool, error) {
	return 0, 0, 0, false, nil
}
func (noProducerState) record(*record.Header)             {}
func (noProducerState) writeSnapshot(string, int64) error { return nil }

// loadProducers loads the newest snapshot at or below maxOffset; the caller
// replays batches from snapOffset.
func loadProducers(dir string, maxOffset int64) (p producerTracker, snapOffset int64, err error) {
	return noProducerState{}, maxOffset, nil
}

// deleteProducerSnapshotsAbove removes snapshots of offsets past offset.
func deleteProducerSnapshotsAbove(dir string, offset int64) error { return nil }
