package storage

// The log's view of the producer state (idempotence and sequence checks).
// The state itself, its snapshots and its rules live in producer_state.go
// and producer_snapshot.go; this file is the narrow seam the append,
// recovery and truncation paths go through.

import (
	"os"
	"time"

	"github.com/strata-io/strata/internal/record"
)

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
	// expire forgets producers idle for maxIdleMs or more as of nowMs.
	expire(nowMs, maxIdleMs int64) int
	// lastBatchOffsets sets dst[pid] to the last offset of each
	// producer's last batch.
	lastBatchOffsets(dst map[int64]int64)
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

func (p producerStates) expire(nowMs, maxIdleMs int64) int {
	return p.s.ExpireProducers(nowMs, maxIdleMs)
}

func (p producerStates) lastBatchOffsets(dst map[int64]int64) { p.s.LastBatchOffsets(dst) }

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

// ExpireProducers forgets the idempotence state of producers whose last
// batch is maxIdle or more older than now (producer.id.expiration.ms), so
// that the state does not grow with every producer id ever seen. A producer
// that comes back after that is treated as new. It returns how many went.
func (l *Log) ExpireProducers(now time.Time, maxIdle time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return 0
	}
	n := l.mu.prod.expire(now.UnixMilli(), maxIdle.Milliseconds())
	if n > 0 {
		l.mu.snapshotAt = -1 // the state changed at the same log end
	}
	return n
}

// snapshotExists reports whether dir has a producer snapshot at offset.
func snapshotExists(dir string, offset int64) bool {
	_, err := os.Stat(producerSnapshotPath(dir, offset))
	return err == nil
}
