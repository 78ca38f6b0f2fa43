package storage

// Truncation removes the tail of a log (a follower diverging from its
// leader); DeleteRecordsBefore removes its head.

import (
	"fmt"
	"github.com/strata-io/strata/internal/record"
	"time"
)

// TruncateTo removes everything at and after offset. The batch holding
// offset goes whole, and the log end offset becomes that batch's base offset
// (NB: Kafka sets it to offset, leaving a gap that a restart closes again;
// replicas truncate at batch boundaries anyway). The leader epoch cache and
// the producer state follow.
func (l *Log) TruncateTo(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: truncate to %d", ErrOffsetOutOfRange, offset)
	}
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if offset >= l.leo.Load() {
		return nil
	}
	l.truncations.Add(1)
	segs := l.segments()
	delay := time.Duration(l.config().FileDeleteDelayMs) * time.Millisecond
	i := segmentFor(segs, offset)
	if i < 0 {
		return l.truncateFullyLocked(offset, delay)
	}
	s := segs[i]
	if s != l.mu.active {
		l.env.indexes.pin(s)
	}
	loc, err := s.locate(offset, true)
	if err != nil {
		return err
	}
	f, ix, pos, h, found := loc.f, loc.ix, loc.pos, loc.h, loc.found
	if !found {
		pos = loc.limit
	} else if h.BaseOffset < offset {
		offset = h.BaseOffset
	}
	// Unpublish first: readers must not see bytes that are about to go.
	l.leo.Store(offset)
	l.setSegmentsLocked(segs[:i+1])
	for _, d := range segs[i+1:] {
		d.markDeleted(delay)
	}
	s.limit.Store(1<<63 - 1)
	s.size.Store(pos)
	if err := f.Truncate(pos); err != nil {
		return err
	}
	keepOff := 0
	for n := len(ix.off.bytes()) / offsetEntrySize; keepOff < n; keepOff++ {
		if _, p := offsetEntryAt(ix.off.bytes(), keepOff); int64(p) >= pos {
			break
		}
	}
	ix.off.truncate(int64(keepOff * offsetEntrySize))
	keepTime := 0
	for n := len(ix.tim.bytes()) / timeEntrySize; keepTime < n; keepTime++ {
		if _, rel := timeEntryAt(ix.tim.bytes(), keepTime); s.base+int64(rel) >= offset {
			break
		}
	}
	ix.tim.truncate(int64(keepTime * timeEntrySize))
	if err := s.persistIndex(ix); err != nil {
		return err
	}
	if _, err := l.activateLocked(s, nil); err != nil {
		return err
	}
	l.afterTruncateLocked(offset)
	return nil
}

// truncateFullyLocked empties the log and restarts it at offset (below every
// segment).
func (l *Log) truncateFullyLocked(offset int64, delay time.Duration) error {
	segs := l.segments()
	l.leo.Store(offset)
	s, err := createSegment(l, offset)
	if err != nil {
		return err
	}
	s.idx.Store(emptySegIndex())
	l.setSegmentsLocked([]*segment{s})
	for _, d := range segs {
		d.markDeleted(delay)
	}
	l.mu.newSegs = true
	if _, err := l.activateLocked(s, nil); err != nil {
		return err
	}
	l.logStart.Store(offset)
	l.afterTruncateLocked(offset)
	return nil
}

func (l *Log) afterTruncateLocked(offset int64) {
	if offset < l.logStart.Load() {
		l.logStart.Store(offset)
	}
	if l.hw.Load() > offset {
		l.hw.Store(offset)
	}
	if l.recoveryPoint.Load() > offset {
		l.recoveryPoint.Store(offset)
	}
	if l.mu.epochs.truncateFromEnd(offset) {
		if err := l.mu.epochs.persist(); err != nil {
			l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
		}
	}
	if err := deleteProducerSnapshotsAbove(l.dir, offset); err != nil {
		l.env.logger.Warn("deleting producer snapshots", "dir", l.dir, "err", err)
	}
	l.reloadProducersLocked()
}

// reloadProducersLocked rebuilds the producer state from the newest snapshot
// at or below the log end offset, replaying the batch headers after it.
func (l *Log) reloadProducersLocked() {
	leo := l.leo.Load()
	p, snap, err := loadProducers(l.dir, leo)
	if err != nil {
		l.env.logger.Warn("loading producer snapshot", "dir", l.dir, "err", err)
	}
	l.mu.prod = p
	// The snapshot on disk is current if it is at the log end (or the log
	// is empty, when replaying it costs nothing either way).
	l.mu.snapshotAt = -1
	if err == nil && snap == leo && (leo == 0 || snapshotExists(l.dir, leo)) {
		l.mu.snapshotAt = leo
	}
	from := max(snap, l.segments()[0].base)
	if from >= leo {
		return
	}
	err = l.forEachBatchLocked(from, func(h *record.Header) bool {
		if h.BaseOffset >= leo {
			return false
		}
		if h.ProducerID >= 0 {
			p.record(h)
		}
		return true
	})
	if err != nil {
		l.env.logger.Warn("replaying producer state", "dir", l.dir, "err", err)
	}
}

// forEachBatchLocked calls fn with the header of every batch from the one
// holding offset on, until fn returns false.
func (l *Log) forEachBatchLocked(offset int64, fn func(h *record.Header) bool) error {
	segs := l.segments()
	for i := max(segmentFor(segs, offset), 0); i < len(segs); i++ {
		s := segs[i]
		loc, err := s.locate(max(offset, s.base), true)
		if err != nil {
			return err
		}
		if !loc.found {
			continue
		}
		sc := newHeaderScanner(loc.f, loc.pos, loc.limit)
		for {
			h, _, ok, err := sc.next()
			if err != nil {
				sc.release()
				return err
			}
			if !ok {
				break
			}
			if h.LastOffset() < offset {
				continue
			}
			if !fn(&h) {
				sc.release()
				return nil
			}
		}
		sc.release()
	}
	return nil
}

// DeleteRecordsBefore moves the log start offset up to offset (DeleteRecords)
// and deletes the segments entirely below it. offset may not pass the high
// watermark (ErrOffsetOutOfRange, as Kafka). The new log start offset is in
// the data directory's log-start-offset-checkpoint before this returns.
func (l *Log) DeleteRecordsBefore(offset int64) error {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return ErrClosed
	}
	if offset < 0 || offset > l.hw.Load() {
		l.mu.Unlock()
		return fmt.Errorf("%w: delete records before %d, high watermark is %d", ErrOffsetOutOfRange, offset, l.hw.Load())
	}
	if offset <= l.logStart.Load() {
		l.mu.Unlock()
		return nil
	}
	l.logStart.Store(offset)
	if l.mu.epochs.truncateFromStart(offset) {
		if err := l.mu.epochs.persist(); err != nil {
			l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
		}
	}
	l.mu.Unlock()
	if err := l.env.checkpointLogStart(); err != nil {
		return err
	}
	_, err := l.deleteSegments(false)
	return err
}
