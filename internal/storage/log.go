package storage

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-io/strata/internal/record"
)

// AppendResult describes a successful append.
type AppendResult struct {
	BaseOffset     int64 // offset of the first record appended (or of the duplicate's original)
	LastOffset     int64
	LogAppendTime  int64 // ms; -1 unless the log uses LogAppendTime
	LogStartOffset int64
	Duplicate      bool // a retried idempotent batch: nothing written, original offsets returned
	// SyncNeeded says (from AppendDeferSync) that flush.messages calls for
	// an fsync before the append may be acknowledged: see WaitSynced.
	SyncNeeded bool
}

// Log is one partition's log.
//
// Appends, truncation and retention serialize on mu. Reads take no lock:
// they load the published state (leo, the segment list, a segment's size and
// indexes), which the append path stores in an order that keeps every
// published offset readable (bytes, then indexes, then size, then leo).
type Log struct {
	env *storeEnv
	tp  TopicPartition
	dir string
	cfg atomic.Pointer[Config] // with defaults applied

	// Written under mu (recoveryPoint under flushMu), read lock-free.
	segs          atomic.Pointer[[]*segment] // ascending base offsets; the last is active; replaced, never modified
	leo           atomic.Int64               // log end offset: next offset to assign
	logStart      atomic.Int64               // first readable offset; logStart <= leo
	hw            atomic.Int64               // high watermark as set by the partition layer; hw <= leo
	recoveryPoint atomic.Int64               // every offset below is fsynced; recoveryPoint <= leo
	closed        atomic.Bool
	// truncations counts TruncateTo calls that removed something, so the
	// cleaner can tell that a segment it read was cut (and perhaps
	// written again to the same size) before it swaps its rewrite in.
	truncations atomic.Int64

	// flushMu serializes fsyncs, so that concurrent flushers share one
	// (group commit). Lock order: flushMu before mu.
	flushMu sync.Mutex

	mu struct {
		sync.Mutex
		active         *segment
		ix             segIndexer // the active segment's index policy state
		firstBatchSeen bool       // the active segment has a first batch...
		firstBatchTs   int64      // ...with this max timestamp (segment.ms)
		epochs         *epochCache
		// recoveredEpochs are epochs recovery found before the cache
		// was loaded (see noteRecoveredEpochsLocked).
		recoveredEpochs []epochEntry
		prod            producerTracker
		unflushedMsgs   int64     // records appended since the last flush began
		unflushedSince  time.Time // when the oldest unflushed append happened; zero if none
		newSegs         bool      // segments created since the last flush: the dir needs an fsync
		newDir          bool      // the directory was created: its entry in the data dir needs an fsync
		topicIDDirty    bool      // partition.metadata was written but not fsynced
		// snapshotAt is the offset of the producer snapshot on disk that
		// holds the current producer state, -1 if none does: a clean
		// shutdown of an idle log then writes no snapshot.
		snapshotAt int64
		hdr        record.Header // scratch for the producer state calls
	}
}

func (l *Log) config() *Config { return l.cfg.Load() }

// segments returns the current segment list (do not modify).
func (l *Log) segments() []*segment { return *l.segs.Load() }

// setSegmentsLocked publishes a new segment list.
func (l *Log) setSegmentsLocked(segs []*segment) {
	l.segs.Store(&segs)
}

// segmentFor returns the index of the segment that would hold offset: the
// last one whose base offset is <= offset, -1 if offset is below all.
func segmentFor(segs []*segment, offset int64) int {
	return sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
}

// Append validates the batches in b (CRC, magic, max.message.bytes,
// producer sequence), assigns offsets, stamps leaderEpoch and writes them.
// b is modified in place (offsets, epoch) and must not be used afterwards.
//
// All batches are written with one write call to the active segment; none
// is written if any is invalid. Records are never decoded here.
//
// When flush.messages calls for an fsync, Append returns after it (see
// flushTo): the caller may acknowledge at once.
func (l *Log) Append(b []byte, leaderEpoch int32) (AppendResult, error) {
	res, err := l.AppendDeferSync(b, leaderEpoch)
	if err != nil || !res.SyncNeeded {
		return res, err
	}
	return res, l.WaitSynced(res)
}

// AppendDeferSync is Append without the wait for the fsync: when
// flush.messages calls for one, res.SyncNeeded is set and the caller must
// call WaitSynced(res) before acknowledging. A produce request to many
// partitions waits for their fsyncs together rather than one after another.
func (l *Log) AppendDeferSync(b []byte, leaderEpoch int32) (AppendResult, error) {
	cfg := l.config()
	if len(b) == 0 {
		return AppendResult{}, fmt.Errorf("%w: no record batch", ErrInvalidRecord)
	}
	// Validate before taking the lock: CRCs are the expensive part.
	var records, maxTs int64 = 0, -1
	idempotent := false
	it := record.NewBatches(b)
	for {
		h, raw, ok := it.Next()
		if !ok {
			break
		}
		if int64(len(raw)) > cfg.MaxMessageBytes {
			return AppendResult{}, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d", ErrMessageTooLarge, len(raw), cfg.MaxMessageBytes)
		}
		if _, err := record.Validate(raw); err != nil {
			return AppendResult{}, batchError(err)
		}
		if h.RecordCount <= 0 || h.RecordCount != h.LastOffsetDelta+1 {
			return AppendResult{}, fmt.Errorf("%w: batch has %d records but last offset delta %d", ErrInvalidRecord, h.RecordCount, h.LastOffsetDelta)
		}
		if cfg.compact && !h.IsControl() {
			if err := checkKeys(raw, &h); err != nil {
				return AppendResult{}, err
			}
		}
		records += int64(h.LastOffsetDelta) + 1
		maxTs = max(maxTs, h.MaxTimestamp)
		idempotent = idempotent || h.ProducerID >= 0
	}
	if err := it.Err(); err != nil {
		return AppendResult{}, batchError(err)
	}
	if int64(len(b)) > cfg.SegmentBytes {
		return AppendResult{}, fmt.Errorf("%w: %d bytes of batches exceed segment.bytes %d", ErrMessageTooLarge, len(b), cfg.SegmentBytes)
	}

	l.mu.Lock()
	res, needFlush, err := l.appendLocked(cfg, b, leaderEpoch, records, maxTs, idempotent)
	l.mu.Unlock()
	if err != nil {
		return AppendResult{}, err
	}
	res.SyncNeeded = needFlush
	return res, nil
}

// batchError maps a record package error to this package's sentinels.
func batchError(err error) error {
	if errors.Is(err, record.ErrUnsupportedMagic) {
		return fmt.Errorf("storage: %w", err)
	}
	return fmt.Errorf("%w: %w", ErrCorruptBatch, err)
}

func (l *Log) appendLocked(cfg *Config, b []byte, leaderEpoch int32, records, maxTs int64, idempotent bool) (AppendResult, bool, error) {
	if l.closed.Load() {
		return AppendResult{}, false, ErrClosed
	}
	now := l.env.now()
	nowMs := now.UnixMilli()
	leo := l.leo.Load()
	if cfg.LogAppendTime {
		maxTs = nowMs
	}
	if err := l.maybeRollLocked(cfg, int64(len(b)), leo+records-1, maxTs, now); err != nil {
		return AppendResult{}, false, err
	}

	// Producer checks, offsets, epoch, timestamps.
	recorded := false
	undo := func() {
		if recorded {
			l.reloadProducersLocked()
		}
	}
	off := leo
	it := record.NewBatches(b)
	for {
		h, raw, ok := it.Next()
		if !ok {
			break
		}
		// NB: through l.mu.hdr, not &h: a pointer to a local passed to an
		// interface method escapes, costing an allocation per batch.
		hp := &l.mu.hdr
		*hp = h
		if h.ProducerID >= 0 {
			first, last, ts, dup, err := l.mu.prod.check(hp)
			if err != nil {
				undo()
				return AppendResult{}, false, err
			}
			if dup {
				undo()
				return AppendResult{BaseOffset: first, LastOffset: last, LogAppendTime: dupAppendTime(cfg, ts),
					LogStartOffset: l.logStart.Load(), Duplicate: true}, false, nil
			}
		}
		record.SetBaseOffset(raw, off)
		record.SetLeaderEpoch(raw, leaderEpoch)
		if cfg.LogAppendTime {
			record.SetLogAppendTime(raw, nowMs)
		}
		if h.ProducerID >= 0 {
			hp.BaseOffset = off
			hp.LeaderEpoch = leaderEpoch
			if cfg.LogAppendTime {
				hp.MaxTimestamp = nowMs
			}
			l.mu.prod.record(hp)
			recorded = true
		}
		off += int64(h.LastOffsetDelta) + 1
	}

	seg := l.mu.active
	pos, err := l.writeAtEnd(seg, b)
	if err != nil {
		undo()
		return AppendResult{}, false, err
	}

	ix := seg.idx.Load()
	it = record.NewBatches(b)
	bpos := pos
	for {
		h, _, ok := it.Next()
		if !ok {
			break
		}
		ts := h.MaxTimestamp
		if cfg.LogAppendTime {
			ts = nowMs
		}
		if !l.mu.firstBatchSeen {
			l.mu.firstBatchSeen, l.mu.firstBatchTs = true, ts
		}
		size := int64(h.Size())
		l.mu.ix.add(ix, bpos, size, h.BaseOffset+int64(h.LastOffsetDelta), ts)
		bpos += size
	}
	seg.size.Store(bpos)
	l.leo.Store(off)

	if leaderEpoch >= 0 && leaderEpoch > l.mu.epochs.latest() {
		l.mu.epochs.assign(leaderEpoch, leo)
		if err := l.mu.epochs.persist(); err != nil {
			l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
		}
	}

	l.mu.unflushedMsgs += records
	if l.mu.unflushedSince.IsZero() {
		l.mu.unflushedSince = now
	}
	appendTime := int64(-1)
	if cfg.LogAppendTime {
		appendTime = nowMs
	}
	res := AppendResult{BaseOffset: leo, LastOffset: off - 1, LogAppendTime: appendTime, LogStartOffset: l.logStart.Load()}
	return res, l.mu.unflushedMsgs >= cfg.FlushMessages, nil
}

func dupAppendTime(cfg *Config, ts int64) int64 {
	if cfg.LogAppendTime {
		return ts
	}
	return -1
}

// maybeRollLocked starts a new active segment if the append of size bytes
// ending at lastOffset with max timestamp maxTs would not fit the current
// one, as Kafka's LogSegment.shouldRoll: segment.bytes, segment.ms (from the
// first batch's timestamp, or the segment's creation), a full index, or a
// relative offset that overflows 32 bits.
func (l *Log) maybeRollLocked(cfg *Config, size, lastOffset, maxTs int64, now time.Time) error {
	seg := l.mu.active
	cur := seg.size.Load()
	roll := false
	if cur > 0 {
		roll = cur+size > cfg.SegmentBytes
		var waited int64
		if l.mu.firstBatchSeen && l.mu.firstBatchTs >= 0 {
			waited = maxTs - l.mu.firstBatchTs
		} else {
			waited = now.Sub(seg.created).Milliseconds()
		}
		roll = roll || waited > cfg.maxSegmentMs()
		ix := seg.idx.Load()
		roll = roll || int64(len(ix.off.bytes()))+offsetEntrySize > cfg.SegmentIndexBytes ||
			int64(len(ix.tim.bytes()))+timeEntrySize > cfg.SegmentIndexBytes
		roll = roll || lastOffset-seg.base > math.MaxInt32
	}
	if !roll {
		return nil
	}
	return l.rollLocked(l.leo.Load())
}

// rollLocked closes the active segment and starts a new one at newBase (the
// log end offset).
func (l *Log) rollLocked(newBase int64) error {
	old := l.mu.active
	oldIx := old.idx.Load()
	l.mu.ix.maybeTimeEntry(oldIx)
	if err := old.persistIndex(oldIx); err != nil {
		return fmt.Errorf("storage: finishing segment %s: %w", old.path(logSuffix), err)
	}
	seg, err := createSegment(l, newBase)
	if err != nil {
		return fmt.Errorf("storage: rolling %s: %w", l.dir, err)
	}
	seg.idx.Store(emptySegIndex())
	l.env.indexes.pin(seg)

	old.limit.Store(newBase)
	old.closedMax.Store(&tsOffset{ts: l.mu.ix.maxTs, offset: l.mu.ix.maxTsOff})
	segs := l.segments()
	next := make([]*segment, len(segs), len(segs)+1)
	copy(next, segs)
	l.setSegmentsLocked(append(next, seg))
	l.mu.active = seg
	l.mu.ix = newSegIndexer(newBase, l.config().IndexIntervalBytes)
	l.mu.firstBatchSeen, l.mu.firstBatchTs = false, -1
	l.mu.newSegs = true
	l.env.indexes.unpin(old)

	if err := l.mu.prod.writeSnapshot(l.dir, newBase); err != nil {
		l.env.logger.Warn("writing producer snapshot", "dir", l.dir, "err", err)
		l.mu.snapshotAt = -1
	} else {
		l.mu.snapshotAt = newBase
	}
	// As Kafka does on roll: flush the finished segment in the background,
	// which moves the recovery point to newBase.
	l.env.requestFlush(l)
	return nil
}

// Flush fsyncs everything written so far.
func (l *Log) Flush() error {
	if l.closed.Load() {
		return ErrClosed
	}
	_, err := l.flushTo(l.leo.Load())
	return err
}

// flushTo makes every offset below target durable and moves the recovery
// point past them; synced says whether this call did the fsyncs. It is a group commit: the first caller to get flushMu
// fsyncs everything appended so far (the log end offset when it starts,
// not just target), while appends go on under mu; callers that queued on
// flushMu meanwhile find their offsets below the new recovery point and
// return without an fsync of their own, or start the next one that covers
// them and whatever queued behind them. mu is never held during an fsync.
//
// The leader epoch checkpoint and partition.metadata, written without an
// fsync, are fsynced here before the recovery point moves.
func (l *Log) flushTo(target int64) (synced bool, err error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	rp := l.recoveryPoint.Load()
	l.mu.Lock()
	metaDirty := l.mu.epochs != nil && l.mu.epochs.dirty || l.mu.topicIDDirty
	if target <= rp && !metaDirty {
		l.mu.Unlock()
		return false, nil
	}
	target = l.leo.Load()
	segs := l.segments()
	active := l.mu.active
	var sync []*segment
	for i, s := range segs {
		end := int64(math.MaxInt64)
		if i+1 < len(segs) {
			end = segs[i+1].base
		}
		if end > rp && s.base < target {
			sync = append(sync, s)
		}
	}
	// The active segment's index goes to the file (not fsynced: an index
	// is rebuilt by recovery if it is lost, and validated when loaded).
	err = active.persistIndex(active.idx.Load())
	var metaFiles []string
	if l.mu.epochs != nil && l.mu.epochs.dirty {
		metaFiles = append(metaFiles, l.mu.epochs.path)
		l.mu.epochs.dirty = false
	}
	if l.mu.topicIDDirty {
		metaFiles = append(metaFiles, filepath.Join(l.dir, partitionMetadataFile))
		l.mu.topicIDDirty = false
	}
	dirDirty := l.mu.newSegs || len(metaFiles) > 0
	l.mu.newSegs = false
	parentDirty := l.mu.newDir
	l.mu.newDir = false
	l.mu.unflushedMsgs = 0
	l.mu.unflushedSince = time.Time{}
	l.mu.Unlock()
	if err != nil {
		return false, err
	}
	for _, s := range sync {
		if s.deleted.Load() {
			continue
		}
		f, err := s.open()
		if err != nil {
			return false, err
		}
		err = l.env.syncFile(f)
		for attempt := 0; err != nil && attempt < maxReopens; attempt++ {
			// Closing an evicted file wrote nothing back: its dirty pages
			// stay in the page cache, and an fsync of the file reopened
			// makes them durable just the same.
			g := reopenAfterClose(err, s.file, l.env.files)
			if g == nil {
				break
			}
			err = l.env.syncFile(g)
		}
		if err != nil {
			return false, fmt.Errorf("storage: fsync %s: %w", s.path(logSuffix), err)
		}
		if s != active {
			if err := s.syncIndexFiles(); err != nil {
				return false, err
			}
		}
	}
	for _, p := range metaFiles {
		if err := syncPath(p); err != nil {
			return false, fmt.Errorf("storage: fsync %s: %w", p, err)
		}
	}
	if dirDirty {
		if err := syncDir(l.dir); err != nil {
			return false, err
		}
	}
	if parentDirty {
		if err := l.env.dataDir.sync(filepath.Dir(l.dir)); err != nil {
			return false, err
		}
	}
	if target > l.recoveryPoint.Load() {
		l.recoveryPoint.Store(target)
	}
	return true, nil
}

// flushDue reports whether flush.ms has passed since the oldest unflushed
// append.
func (l *Log) flushDue(now time.Time) bool {
	cfg := l.config()
	if cfg.FlushMs == math.MaxInt64 {
		return false
	}
	l.mu.Lock()
	since := l.mu.unflushedSince
	l.mu.Unlock()
	return !since.IsZero() && now.Sub(since).Milliseconds() >= cfg.FlushMs
}

// RecoveryPoint is the offset below which everything is fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// LogStartOffset is the first offset still readable.
func (l *Log) LogStartOffset() int64 { return l.logStart.Load() }

// LogEndOffset is the next offset to be assigned.
func (l *Log) LogEndOffset() int64 { return l.leo.Load() }

// HighWatermark is the checkpointed HW loaded at open, or the last set one.
func (l *Log) HighWatermark() int64 { return l.hw.Load() }

// SetHighWatermark records the partition's HW for the checkpoint file. It is
// clamped to [log start offset, log end offset].
func (l *Log) SetHighWatermark(hw int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hw.Store(min(max(hw, l.logStart.Load()), l.leo.Load()))
}

// Size is the log's total bytes on disk (of the .log files).
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.segments() {
		n += s.size.Load()
	}
	return n
}

// UpdateConfig applies new settings to the log. Segment sizes and intervals
// apply from the next append on.
func (l *Log) UpdateConfig(cfg Config) {
	c := cfg.withDefaults()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg.Store(&c)
	l.mu.ix.interval = c.IndexIntervalBytes
}

// Dir is the partition's directory.
func (l *Log) Dir() string { return l.dir }

// AssignEpochStart records that leader epoch epoch starts at startOffset.
// An epoch not newer than the latest one is ignored.
func (l *Log) AssignEpochStart(epoch int32, startOffset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if !l.mu.epochs.assign(epoch, startOffset) {
		return nil
	}
	return l.mu.epochs.persist()
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch (see epochCache.endOffsetFor).
func (l *Log) EndOffsetForEpoch(epoch int32) (leaderEpoch int32, endOffset int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.epochs.endOffsetFor(epoch, l.leo.Load())
}

// LatestEpoch is the newest leader epoch in the cache, -1 if none.
func (l *Log) LatestEpoch() int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.epochs.latest()
}

// writeAtEnd writes b at the end of seg's file (not yet published: the
// segment's size and the log end do not move) and returns where it
// starts. On failure it cuts whatever part reached the file.
func (l *Log) writeAtEnd(seg *segment, b []byte) (int64, error) {
	f, err := seg.open()
	if err != nil {
		return 0, err
	}
	pos := seg.size.Load()
	_, err = f.WriteAt(b, pos)
	for attempt := 0; err != nil && attempt < maxReopens; attempt++ {
		g := reopenAfterClose(err, seg.file, l.env.files)
		if g == nil {
			break
		}
		f = g
		_, err = f.WriteAt(b, pos)
	}
	if err != nil {
		f.Truncate(pos)
		return 0, fmt.Errorf("storage: appending to %s: %w", seg.path(logSuffix), err)
	}
	return pos, nil
}
