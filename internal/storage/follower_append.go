package storage

// A follower appends what its leader's log holds, byte for byte: the
// offsets and leader epochs the leader assigned are kept, not reassigned.
// The checks differ from a leader append's accordingly (Kafka's
// UnifiedLog.appendAsFollower): every batch's CRC is checked, offsets must
// start at or after the log end and increase, and a batch the log cleaner
// rewrote on the leader (fewer records than lastOffsetDelta+1, even none)
// is accepted as it is. Producer sequences are not checked, only recorded:
// the leader checked them, and a follower that refused the leader's log
// would never catch up.

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/strata-io/strata/internal/record"
)

// ErrUnexpectedOffset means a follower append's first offset is below the
// log end offset (Kafka's UnexpectedAppendOffsetException): the follower's
// fetch offset and its log went out of step, and it must fetch again from
// its log end offset.
var ErrUnexpectedOffset = errors.New("storage: follower append below the log end offset")

// FollowerAppendResult describes a follower append.
type FollowerAppendResult struct {
	FirstOffset int64 // base offset of the first batch appended, -1 if none
	LastOffset  int64 // last offset appended, -1 if none
	Bytes       int   // bytes appended (a partial trailing batch is left out)
}

// AppendAsFollower appends batches fetched from the partition leader with
// their offsets and epochs unchanged. b may end with a partial batch (a
// fetch cut at its byte limit); it is ignored. The leader epoch cache
// learns every new epoch from the batches, and the producer state records
// every idempotent batch.
//
// NB: a gap before the first batch (the leader compacted offsets away, or
// its log starts later) is fine: offsets stay increasing, and the segment
// the batch goes to has a base offset at or below it.
func (l *Log) AppendAsFollower(b []byte) (FollowerAppendResult, error) {
	res := FollowerAppendResult{FirstOffset: -1, LastOffset: -1}
	cfg := l.config()
	it := record.NewBatches(b)
	prevLast := int64(-1)
	var records int64
	for {
		h, raw, ok := it.Next()
		if !ok {
			break
		}
		if _, err := record.Validate(raw); err != nil {
			return res, batchError(err)
		}
		if h.BaseOffset < 0 || h.BaseOffset <= prevLast || h.LastOffset() < h.BaseOffset {
			return res, fmt.Errorf("%w: batch offsets %d..%d after %d", ErrCorruptBatch, h.BaseOffset, h.LastOffset(), prevLast)
		}
		if int64(len(raw)) > cfg.SegmentBytes {
			return res, fmt.Errorf("%w: batch of %d bytes exceeds segment.bytes %d", ErrMessageTooLarge, len(raw), cfg.SegmentBytes)
		}
		if res.FirstOffset < 0 {
			res.FirstOffset = h.BaseOffset
		}
		prevLast = h.LastOffset()
		records += int64(h.RecordCount)
	}
	if err := it.Err(); err != nil && !errors.Is(err, record.ErrTruncated) {
		return res, batchError(err)
	}
	n := it.Pos()
	if n == 0 {
		return res, nil
	}
	b = b[:n]
	res.LastOffset, res.Bytes = prevLast, n

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return res, ErrClosed
	}
	if leo := l.leo.Load(); res.FirstOffset < leo {
		return res, fmt.Errorf("%w: first offset %d, log end offset %d", ErrUnexpectedOffset, res.FirstOffset, leo)
	}
	// One write per segment: a fetch of several batches that crosses a
	// roll boundary is split at the batch that does not fit.
	for len(b) > 0 {
		chunk, first, last, ts := followerChunk(b, cfg.SegmentBytes-l.mu.active.size.Load())
		if err := l.maybeRollLocked(cfg, int64(len(chunk)), last, ts, l.env.now()); err != nil {
			return res, err
		}
		if last-l.mu.active.base > math.MaxInt32 {
			// A gap too wide for 32-bit relative offsets: the next
			// segment starts at the batch itself.
			if err := l.rollLocked(first); err != nil {
				return res, err
			}
		}
		if err := l.writeFollowerLocked(cfg, chunk); err != nil {
			return res, err
		}
		b = b[len(chunk):]
	}
	l.mu.unflushedMsgs += records
	if l.mu.unflushedSince.IsZero() {
		l.mu.unflushedSince = l.env.now()
	}
	return res, nil
}

// followerChunk returns the leading batches of b that fit in room bytes
// (at least one), with their first and last offsets and max timestamp.
func followerChunk(b []byte, room int64) (chunk []byte, first, last, maxTs int64) {
	it := record.NewBatches(b)
	maxTs, first = -1, -1
	for {
		h, _, ok := it.Next()
		if !ok {
			break
		}
		if first >= 0 && int64(it.Pos()) > room {
			// it.Pos() includes this batch: stop before it.
			return b[:it.Pos()-h.Size()], first, last, maxTs
		}
		if first < 0 {
			first = h.BaseOffset
		}
		last, maxTs = h.LastOffset(), max(maxTs, h.MaxTimestamp)
	}
	return b, first, last, maxTs
}

// writeFollowerLocked writes whole batches to the active segment and
// publishes them: indexes, size, then the log end offset, then the epoch
// cache and the producer state.
func (l *Log) writeFollowerLocked(cfg *Config, b []byte) error {
	seg := l.mu.active
	pos, err := l.writeAtEnd(seg, b)
	if err != nil {
		return err
	}
	ix := seg.idx.Load()
	it := record.NewBatches(b)
	bpos := pos
	next := l.leo.Load()
	epochsChanged := false
	for {
		h, _, ok := it.Next()
		if !ok {
			break
		}
		if !l.mu.firstBatchSeen {
			l.mu.firstBatchSeen, l.mu.firstBatchTs = true, h.MaxTimestamp
		}
		size := int64(h.Size())
		l.mu.ix.add(ix, bpos, size, h.LastOffset(), h.MaxTimestamp)
		bpos += size
		next = h.LastOffset() + 1
		if h.LeaderEpoch >= 0 && h.LeaderEpoch > l.mu.epochs.latest() {
			epochsChanged = l.mu.epochs.assign(h.LeaderEpoch, h.BaseOffset) || epochsChanged
		}
		if h.ProducerID >= 0 {
			hp := &l.mu.hdr
			*hp = h
			l.mu.prod.record(hp)
		}
	}
	seg.size.Store(bpos)
	l.leo.Store(next)
	if epochsChanged {
		if err := l.mu.epochs.persist(); err != nil {
			l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
		}
	}
	return nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset: a
// follower whose log end is below the leader's log start offset (the
// leader deleted what the follower still needs) starts over there.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: start at %d", ErrOffsetOutOfRange, offset)
	}
	if err := l.truncateFullyAndStartAt(offset); err != nil {
		return err
	}
	return l.env.checkpointLogStart()
}

func (l *Log) truncateFullyAndStartAt(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	l.truncations.Add(1)
	delay := time.Duration(l.config().FileDeleteDelayMs) * time.Millisecond
	// Unpublish first (log start, then end: every offset is then out of
	// range but offset itself), and rename the old segments away before
	// creating one that may have the same base offset as one of them.
	segs := l.segments()
	l.logStart.Store(offset)
	l.leo.Store(offset)
	for _, d := range segs {
		d.markDeleted(delay)
	}
	s, err := createSegment(l, offset)
	if err != nil {
		return err
	}
	s.idx.Store(emptySegIndex())
	l.setSegmentsLocked([]*segment{s})
	l.mu.newSegs = true
	if _, err := l.activateLocked(s, nil); err != nil {
		return err
	}
	l.hw.Store(offset)
	l.recoveryPoint.Store(offset)
	l.mu.epochs.entries = l.mu.epochs.entries[:0]
	if err := l.mu.epochs.persist(); err != nil {
		l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
	}
	if err := deleteProducerSnapshotsAbove(l.dir, -1); err != nil {
		l.env.logger.Warn("deleting producer snapshots", "dir", l.dir, "err", err)
	}
	l.mu.prod = producerStates{NewProducerStates()}
	l.mu.snapshotAt = -1
	return nil
}

// LatestEpochAndEnd is the newest epoch in the leader epoch cache (-1 if
// none) and the log end offset, read together: a follower's fetch sends
// both (LastFetchedEpoch, FetchOffset).
func (l *Log) LatestEpochAndEnd() (int32, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.epochs.latest(), l.leo.Load()
}

// EpochForOffset is the leader epoch of the batch holding offset as the
// epoch cache knows it (the last epoch starting at or below offset), -1
// if none does.
func (l *Log) EpochForOffset(offset int64) int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := int32(-1)
	for _, en := range l.mu.epochs.entries {
		if en.start > offset {
			break
		}
		e = en.epoch
	}
	return e
}
