package storage

// Recovery re-reads segments after the recovery point when the previous
// run did not shut down cleanly: every batch's header and CRC-32C is checked,
// the log is truncated at the first batch that is partial, corrupt or out of
// order (later segments are deleted), and the indexes are rebuilt from what
// remains. A torn tail is therefore never served, and everything that was
// completely written before a crash (all acknowledged appends, which are in
// the page cache) survives.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/strata-io/strata/internal/record"
)

// scanResult is what reading a segment's batches from the start found.
type scanResult struct {
	ix         *segIndex
	indexer    segIndexer
	validBytes int64 // bytes of good batches from position 0
	next       int64 // last good offset + 1, or the base offset if none
	firstTs    int64 // max timestamp of the first batch, -1 if none
	lastPos    int64 // position of the last good batch, -1 if none
	stop       error // why scanning stopped before size (ErrCorrupt), nil at a clean end
	// epochs are where each leader epoch first appears in the good
	// batches (increasing epochs only), for rebuilding the epoch cache.
	epochs []epochEntry
}

// scanSegment reads the batches of a segment file up to size and rebuilds
// its indexes. With checkCRC every batch is read whole and its CRC checked
// (recovery); without, only headers are read (rebuilding a lost index of
// trusted data). I/O errors are returned; corruption ends the scan and is
// reported in scanResult.stop.
func scanSegment(f *os.File, base, size, interval int64, checkCRC bool) (res scanResult, err error) {
	res = scanResult{
		ix:      emptySegIndex(),
		indexer: newSegIndexer(base, interval),
		next:    base,
		firstTs: -1,
		lastPos: -1,
	}
	accept := func(pos int64, h *record.Header) bool {
		if h.BaseOffset < res.next || h.LastOffset()-base > math.MaxInt32 || pos > math.MaxInt32 {
			res.stop = fmt.Errorf("%w: batch at position %d has offsets %d..%d, expected from %d", ErrCorrupt, pos, h.BaseOffset, h.LastOffset(), res.next)
			return false
		}
		if res.lastPos < 0 {
			res.firstTs = h.MaxTimestamp
		}
		if n := len(res.epochs); h.LeaderEpoch >= 0 && (n == 0 || h.LeaderEpoch > res.epochs[n-1].epoch) {
			res.epochs = append(res.epochs, epochEntry{epoch: h.LeaderEpoch, start: h.BaseOffset})
		}
		res.indexer.add(res.ix, pos, int64(h.Size()), h.LastOffset(), h.MaxTimestamp)
		res.validBytes = pos + int64(h.Size())
		res.next = h.LastOffset() + 1
		res.lastPos = pos
		return true
	}
	// NB: the time index gets a last entry for the max timestamp, as at a
	// roll, so a rebuilt closed segment keeps its max timestamp; an extra
	// entry on an active segment is harmless (timestamps still increase).
	// res is a named result so that the indexer returned knows about this
	// entry: with a copy returned, the active segment's indexer would add
	// it a second time and leave an invalid time index behind.
	defer func() { res.indexer.maybeTimeEntry(res.ix) }()
	if !checkCRC {
		sc := newHeaderScanner(f, 0, size)
		defer sc.release()
		for {
			h, pos, ok, err := sc.next()
			if err != nil {
				res.stop = err
				return res, nil
			}
			if !ok || !accept(pos, &h) {
				return res, nil
			}
		}
	}
	r := batchReader{f: f, size: size, buf: make([]byte, 1<<20)}
	for pos := int64(0); pos < size; {
		raw, err := r.batchAt(pos)
		if err != nil {
			if isCorrupt(err) {
				res.stop = err
				return res, nil
			}
			return res, err
		}
		h, err := record.Validate(raw)
		if err != nil {
			res.stop = fmt.Errorf("%w: batch at position %d: %v", ErrCorrupt, pos, err)
			return res, nil
		}
		if !accept(pos, &h) {
			return res, nil
		}
		pos += int64(len(raw))
	}
	return res, nil
}

func isCorrupt(err error) bool {
	return err != nil && (errors.Is(err, ErrCorrupt))
}

// batchReader reads whole batches sequentially through a large buffer.
type batchReader struct {
	f        *os.File
	size     int64
	buf      []byte
	bufStart int64
	bufLen   int
}

// ensure makes [pos, pos+n) available in the buffer; n <= size-pos.
func (r *batchReader) ensure(pos int64, n int) ([]byte, error) {
	if pos >= r.bufStart && pos+int64(n) <= r.bufStart+int64(r.bufLen) {
		off := pos - r.bufStart
		return r.buf[off : off+int64(n)], nil
	}
	if n > len(r.buf) {
		r.buf = make([]byte, n)
	}
	want := min(int64(len(r.buf)), r.size-pos)
	m, err := r.f.ReadAt(r.buf[:want], pos)
	if m < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d bytes at %d: %w", n, pos, err)
	}
	r.bufStart, r.bufLen = pos, m
	return r.buf[:n], nil
}

// batchAt returns the whole batch at pos.
func (r *batchReader) batchAt(pos int64) ([]byte, error) {
	left := r.size - pos
	if left < record.HeaderSize {
		return nil, fmt.Errorf("%w: %d bytes of partial batch at position %d", ErrCorrupt, left, pos)
	}
	hb, err := r.ensure(pos, record.HeaderSize)
	if err != nil {
		return nil, err
	}
	h, err := record.ParseHeader(hb)
	if err != nil {
		return nil, fmt.Errorf("%w: batch at position %d: %v", ErrCorrupt, pos, err)
	}
	if int64(h.Size()) > left {
		return nil, fmt.Errorf("%w: batch of %d bytes at position %d, only %d left", ErrCorrupt, h.Size(), pos, left)
	}
	return r.ensure(pos, h.Size())
}

// logMeta is what the data directory's checkpoints say about a log.
type logMeta struct {
	clean         bool  // the previous run shut down cleanly
	recoveryPoint int64 // 0 when unknown: recover everything
	logStart      int64
	hw            int64
}

// openLog opens the log in dir, creating it if needed, recovering it if the
// previous run did not shut down cleanly.
func openLog(env *storeEnv, tp TopicPartition, dir string, cfg Config, meta logMeta) (*Log, error) {
	c := cfg.withDefaults()
	l := &Log{env: env, tp: tp, dir: dir}
	l.cfg.Store(&c)
	err := os.Mkdir(dir, 0o755)
	l.mu.newDir = err == nil
	if err != nil && !errors.Is(err, fs.ErrExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		l.mu.newDir = true
	}
	if l.mu.newDir {
		// NB: a directory this call created holds nothing to list, recover
		// or load: creating 10,000 partitions at once must not pay for
		// directory scans and lookups of files that cannot exist.
		return l.openFreshLocked(meta.logStart)
	}
	segs, err := l.loadSegments(meta.logStart)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()

	var active *scanResult
	if !meta.clean {
		segs, active, err = l.recoverSegmentsLocked(segs, meta.recoveryPoint)
		if err != nil {
			return nil, err
		}
	}
	l.setSegmentsLocked(segs)
	last := segs[len(segs)-1]
	last.limit.Store(math.MaxInt64)
	next, err := l.activateLocked(last, active)
	if err != nil {
		return nil, err
	}
	l.leo.Store(next)

	logStart := min(max(meta.logStart, segs[0].base), next)
	l.logStart.Store(logStart)
	l.hw.Store(min(max(meta.hw, logStart), next))
	if meta.clean {
		l.recoveryPoint.Store(next)
	} else {
		l.recoveryPoint.Store(min(meta.recoveryPoint, next))
	}

	epochs, err := loadEpochCache(dir)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		env.logger.Warn("ignoring corrupt leader epoch checkpoint", "dir", dir, "err", err)
	}
	l.mu.epochs = epochs
	recovered := l.mu.recoveredEpochs
	l.mu.recoveredEpochs = nil
	l.noteRecoveredEpochsLocked(recovered)
	// NB: an epoch starting exactly at the log end (a leader elected after
	// the last append, e.g. every new empty partition's epoch 0 at 0) is
	// kept, not dropped as Kafka's load does: the partition would assign it
	// again at once, and rewriting the file twice per partition made
	// restarting 10,000 partitions cost 20,000 file replacements.
	if changedEnd, changedStart := epochs.truncateFromEnd(next+1), epochs.truncateFromStart(logStart); changedEnd || changedStart || err != nil {
		if perr := epochs.persist(); perr != nil {
			return nil, perr
		}
	}
	if err := deleteProducerSnapshotsAbove(dir, next); err != nil {
		return nil, err
	}
	l.reloadProducersLocked()
	return l, nil
}

// openFreshLocked sets up a log in the empty directory openLog just
// created: one empty segment at logStart, no epochs, no producers.
func (l *Log) openFreshLocked(logStart int64) (*Log, error) {
	base := max(logStart, 0)
	s := newSegment(l, base)
	f, err := os.OpenFile(s.file.path(), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.newSegs = true
	l.setSegmentsLocked([]*segment{s})
	l.env.indexes.pin(s)
	s.idx.Store(emptySegIndex())
	l.mu.active = s
	l.mu.ix = newSegIndexer(base, l.config().IndexIntervalBytes)
	l.mu.firstBatchSeen, l.mu.firstBatchTs = false, -1
	l.leo.Store(base)
	l.logStart.Store(base)
	l.hw.Store(base)
	l.recoveryPoint.Store(base)
	l.mu.epochs = &epochCache{path: filepath.Join(l.dir, leaderEpochFile)}
	l.mu.prod = producerStates{NewProducerStates()}
	l.mu.snapshotAt = base
	return l, nil
}

// loadSegments lists the segment files of l.dir, removing leftovers of
// interrupted deletions and index files without a .log. An empty directory
// gets a first segment at logStart.
func (l *Log) loadSegments(logStart int64) ([]*segment, error) {
	if err := recoverCleanerFiles(l.dir, l.env.logger); err != nil {
		return nil, fmt.Errorf("storage: finishing an interrupted cleaning of %s: %w", l.dir, err)
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	hasLog := map[int64]bool{}
	var indexFiles []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, checkpointTmpSuffix):
			os.Remove(filepath.Join(l.dir, name))
		case strings.HasSuffix(name, logSuffix):
			base, ok := parseSegmentName(name, logSuffix)
			if ok {
				bases = append(bases, base)
				hasLog[base] = true
			}
		case strings.HasSuffix(name, indexSuffix), strings.HasSuffix(name, timeIndexSuffix):
			indexFiles = append(indexFiles, name)
		}
	}
	for _, name := range indexFiles {
		base, ok := parseSegmentName(name, filepath.Ext(name))
		if ok && !hasLog[base] {
			os.Remove(filepath.Join(l.dir, name))
		}
	}
	slices.Sort(bases)
	segs := make([]*segment, 0, max(len(bases), 1))
	for _, base := range bases {
		s := newSegment(l, base)
		st, err := os.Stat(s.path(logSuffix))
		if err != nil {
			return nil, err
		}
		s.size.Store(st.Size())
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		s, err := createSegment(l, max(logStart, 0))
		if err != nil {
			return nil, err
		}
		l.mu.newSegs = true
		segs = append(segs, s)
	}
	for i := 0; i+1 < len(segs); i++ {
		segs[i].limit.Store(segs[i+1].base)
	}
	return segs, nil
}

func parseSegmentName(name, suffix string) (int64, bool) {
	digits := strings.TrimSuffix(name, suffix)
	if len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseInt(digits, 10, 64)
	return base, err == nil && base >= 0
}

// recoverSegmentsLocked validates every batch from the segment holding the
// recovery point on, truncating at the first bad one and deleting every
// later segment. It returns the remaining segments and, for the last one,
// what the scan found.
func (l *Log) recoverSegmentsLocked(segs []*segment, recoveryPoint int64) ([]*segment, *scanResult, error) {
	start := max(segmentFor(segs, recoveryPoint), 0)
	interval := l.config().IndexIntervalBytes
	var last *scanResult
	began := time.Now()
	var scanned int64
	defer func() {
		if scanned > 0 {
			l.env.logger.Info("recovered log", "dir", l.dir, "recovery_point", recoveryPoint,
				"segments_checked", len(segs)-start, "segments_skipped", start, "bytes_checked", scanned,
				"duration", time.Since(began).Round(time.Millisecond))
		}
	}()
	for i := start; i < len(segs); i++ {
		s := segs[i]
		f, err := s.open()
		if err != nil {
			return nil, nil, err
		}
		size := s.size.Load()
		scanned += size
		res, err := scanSegment(f, s.base, size, interval, true)
		if err != nil {
			return nil, nil, err
		}
		if res.validBytes < size {
			l.env.logger.Warn("truncating corrupt or partial log tail", "segment", s.path(logSuffix),
				"position", res.validBytes, "size", size, "reason", res.stop)
			if err := f.Truncate(res.validBytes); err != nil {
				return nil, nil, err
			}
			s.size.Store(res.validBytes)
			for _, later := range segs[i+1:] {
				l.env.logger.Warn("deleting segment after corrupt tail", "segment", later.path(logSuffix))
				later.markDeleted(0)
			}
			segs = segs[:i+1]
		}
		if err := s.persistIndex(res.ix); err != nil {
			return nil, nil, err
		}
		l.noteRecoveredEpochsLocked(res.epochs)
		if i == len(segs)-1 {
			last = &res
		}
	}
	return segs, last, nil
}

// activateLocked makes s the active segment: its indexes pinned in memory
// and the append state rebuilt. scanned, if not nil, is a full scan of s
// done by recovery. It returns the log end offset.
func (l *Log) activateLocked(s *segment, scanned *scanResult) (int64, error) {
	l.env.indexes.pin(s)
	s.closedMax.Store(nil)
	interval := l.config().IndexIntervalBytes
	l.mu.active = s
	if scanned != nil {
		s.idx.Store(scanned.ix)
		l.mu.ix = scanned.indexer
		l.mu.firstBatchSeen, l.mu.firstBatchTs = scanned.lastPos >= 0, scanned.firstTs
		return scanned.next, nil
	}
	ix := s.idx.Load()
	if ix == nil {
		var err error
		ix, err = s.loadIndexFiles()
		if err != nil {
			l.env.logger.Warn("rebuilding indexes of the active segment", "segment", s.path(logSuffix), "reason", err)
			return l.recoverActiveLocked(s)
		}
		s.idx.Store(ix)
	}
	f, err := s.open()
	if err != nil {
		return 0, err
	}
	size := s.size.Load()
	x := newSegIndexer(s.base, interval)
	start := int64(0)
	if n := len(ix.off.bytes()) / offsetEntrySize; n > 0 {
		_, p := offsetEntryAt(ix.off.bytes(), n-1)
		start = int64(p)
	}
	if ts, rel, ok := lastTimeEntry(ix.tim.bytes()); ok {
		x.maxTs, x.maxTsOff, x.lastTimeTs = ts, s.base+int64(rel), ts
	}
	next := s.base
	sc := newHeaderScanner(f, start, size)
	defer sc.release()
	for {
		h, pos, ok, err := sc.next()
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				return 0, err
			}
			l.env.logger.Warn("active segment tail does not parse, recovering it", "segment", s.path(logSuffix), "reason", err)
			return l.recoverActiveLocked(s)
		}
		if !ok {
			break
		}
		x.add(ix, pos, int64(h.Size()), h.LastOffset(), h.MaxTimestamp)
		next = h.LastOffset() + 1
	}
	l.mu.ix = x
	l.mu.firstBatchSeen, l.mu.firstBatchTs = false, -1
	if size > 0 {
		sc := newHeaderScanner(f, 0, size)
		defer sc.release()
		h, _, ok, err := sc.next()
		if err != nil {
			return 0, err
		}
		l.mu.firstBatchSeen, l.mu.firstBatchTs = ok, h.MaxTimestamp
	}
	return next, nil
}

// recoverActiveLocked fully recovers the active segment s (CRC checks,
// truncation of a bad tail, index rebuild).
func (l *Log) recoverActiveLocked(s *segment) (int64, error) {
	segs := l.segments()
	var res *scanResult
	var err error
	segs, res, err = l.recoverSegmentsLocked(segs[:segmentFor(segs, s.base)+1], s.base)
	if err != nil {
		return 0, err
	}
	_ = segs
	return l.activateLocked(s, res)
}

// noteRecoveredEpochsLocked adds the epochs recovery found in re-read
// batches to the leader epoch cache (as Kafka's recovery does): the
// checkpoint is written without an fsync, so after a power failure it may
// miss epochs the log holds, and a follower truncating by epochs would
// then cut at the wrong offset. Before the cache is loaded they are kept
// for openLog.
func (l *Log) noteRecoveredEpochsLocked(entries []epochEntry) {
	if l.mu.epochs == nil {
		l.mu.recoveredEpochs = append(l.mu.recoveredEpochs, entries...)
		return
	}
	changed := false
	for _, e := range entries {
		changed = l.mu.epochs.assign(e.epoch, e.start) || changed
	}
	if changed {
		if err := l.mu.epochs.persist(); err != nil {
			l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
		}
	}
}
