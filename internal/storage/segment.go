package storage

// A segment is one .log file of whole record batches plus its two indexes,
// named by its base offset. Only the last segment of a log (the active one)
// is appended to; the others are immutable until deleted.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-io/strata/internal/record"
)

const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted"
)

func segmentPath(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// segIndex is a segment's offset and time index in memory.
type segIndex struct {
	off *indexBuf
	tim *indexBuf
}

func (ix *segIndex) bytes() int64 {
	return int64(len(ix.off.bytes()) + len(ix.tim.bytes()))
}

func emptySegIndex() *segIndex {
	return &segIndex{off: newIndexBuf(nil), tim: newIndexBuf(nil)}
}

// tsOffset is a timestamp (ms) and the offset of the batch that carries it.
type tsOffset struct {
	ts     int64
	offset int64
}

type segment struct {
	env   *storeEnv
	owner *Log
	dir   string
	base  int64 // offset of the first batch; the file name
	file  *segFile

	// size is the bytes of whole batches in the .log file. The append path
	// (under the log's mutex) stores it after the bytes are written; readers
	// load it lock-free and never read past it.
	size atomic.Int64
	// limit is, for a closed segment, the next segment's base offset: no
	// batch here reaches it. MaxInt64 while active.
	limit atomic.Int64
	// created is when this process opened or created the segment; segment.ms
	// counts from it when batches carry no timestamps.
	created time.Time

	// idx is the segment's indexes: pinned while active, else loaded on
	// demand (loadMu) and evictable by the Manager's index cache.
	idx    atomic.Pointer[segIndex]
	loadMu sync.Mutex
	cache  indexCacheSlot // guarded by indexCache.mu, but for its clock bit

	// closedMax is a closed segment's largest timestamp (from its time
	// index's last entry), loaded on demand.
	closedMax atomic.Pointer[tsOffset]

	deleted atomic.Bool
}

func newSegment(owner *Log, base int64) *segment {
	env, dir := owner.env, owner.dir
	s := &segment{
		env:     env,
		owner:   owner,
		dir:     dir,
		base:    base,
		file:    newSegFile(segmentPath(dir, base, logSuffix)),
		created: env.now(),
		cache:   indexCacheSlot{clock: newClockSlot()},
	}
	s.limit.Store(1<<63 - 1)
	return s
}

// createSegment creates an empty segment's .log file and removes stale
// index files of the same name.
func createSegment(owner *Log, base int64) (*segment, error) {
	dir := owner.dir
	s := newSegment(owner, base)
	f, err := os.OpenFile(s.file.path(), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		if err := os.Remove(segmentPath(dir, base, suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return s, nil
}

func (s *segment) path(suffix string) string { return segmentPath(s.dir, s.base, suffix) }

// open returns the segment's .log file from the Manager's file cache.
func (s *segment) open() (*os.File, error) { return s.env.files.get(s.file) }

// rel converts an offset of this segment to a relative one.
func (s *segment) rel(offset int64) int64 { return offset - s.base }

// indexes returns the segment's indexes, loading (or rebuilding) them if
// needed.
func (s *segment) indexes() (*segIndex, error) {
	if ix := s.idx.Load(); ix != nil {
		s.cache.clock.touch()
		return ix, nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if ix := s.idx.Load(); ix != nil {
		return ix, nil
	}
	if s.deleted.Load() {
		return nil, fmt.Errorf("%w: segment %d was deleted", ErrOffsetOutOfRange, s.base)
	}
	ix, err := s.loadIndexFiles()
	if err != nil {
		s.env.logger.Warn("rebuilding segment indexes", "segment", s.path(logSuffix), "reason", err)
		f, oerr := s.open()
		if oerr != nil {
			return nil, oerr
		}
		res, serr := scanSegment(f, s.base, s.size.Load(), s.owner.config().IndexIntervalBytes, false)
		if serr != nil {
			return nil, serr
		}
		ix = res.ix
		if !s.deleted.Load() {
			if perr := s.persistIndex(ix); perr != nil {
				s.env.logger.Warn("writing rebuilt index", "segment", s.path(logSuffix), "err", perr)
			}
		}
	}
	s.idx.Store(ix)
	s.cache.clock.used.Store(true)
	s.env.indexes.add(s, ix)
	return ix, nil
}

// loadIndexFiles reads and validates both index files of a closed segment.
func (s *segment) loadIndexFiles() (*segIndex, error) {
	relEnd := s.limit.Load() - s.base
	if s.size.Load() == 0 {
		return emptySegIndex(), nil
	}
	off, err := readIndexFile(s.path(indexSuffix))
	if err != nil {
		return nil, err
	}
	if err := validateOffsetIndex(off, relEnd, s.size.Load()); err != nil {
		return nil, err
	}
	tim, err := readIndexFile(s.path(timeIndexSuffix))
	if err != nil {
		return nil, err
	}
	if err := validateTimeIndex(tim, relEnd); err != nil {
		return nil, err
	}
	if err := s.checkTail(off, tim); err != nil {
		return nil, err
	}
	return &segIndex{off: newIndexBuf(off), tim: newIndexBuf(tim)}, nil
}

// readIndexFile reads an index file. A missing file is an empty index:
// persist writes no file until the index has an entry, which a segment
// smaller than index.interval.bytes never gets. checkTail still catches an
// index file lost from a larger segment.
func readIndexFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// checkTail checks loaded indexes against the end of the .log, cheaply (at
// most about index.interval.bytes and one batch are read): the last offset
// index entry names a batch, the batches after it parse to the end of the
// file, and none has a timestamp above the time index's last entry (which
// holds the segment's max). A stale or cut index fails here.
func (s *segment) checkTail(off, tim []byte) error {
	f, err := s.open()
	if err != nil {
		return err
	}
	start, rel := int64(0), int64(-1)
	if n := len(off) / offsetEntrySize; n > 0 {
		r, p := offsetEntryAt(off, n-1)
		start, rel = int64(p), int64(r)
	}
	lastTs := int64(-1)
	if ts, _, ok := lastTimeEntry(tim); ok {
		lastTs = ts
	}
	sc := newHeaderScanner(f, start, s.size.Load())
	defer sc.release()
	for first := true; ; first = false {
		h, _, ok, err := sc.next()
		if err != nil {
			return err
		}
		if first && rel >= 0 && (!ok || h.LastOffset() != s.base+rel) {
			return errIndexMismatch
		}
		if !ok {
			return nil
		}
		if h.MaxTimestamp > lastTs {
			return fmt.Errorf("%w: batch at offset %d has timestamp %d above the time index's last %d", ErrCorrupt, h.BaseOffset, h.MaxTimestamp, lastTs)
		}
	}
}

// persistIndex writes the index entries not yet on disk.
func (s *segment) persistIndex(ix *segIndex) error {
	if err := ix.off.persist(s.path(indexSuffix)); err != nil {
		return err
	}
	return ix.tim.persist(s.path(timeIndexSuffix))
}

// syncIndexFiles fsyncs both index files.
func (s *segment) syncIndexFiles() error {
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		f, err := os.Open(s.path(suffix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// maxTimestamp is a closed segment's largest batch max timestamp and the
// last offset of the batch that has it; ts is -1 when no batch has a
// timestamp.
func (s *segment) maxTimestamp() (tsOffset, error) {
	if m := s.closedMax.Load(); m != nil {
		return *m, nil
	}
	ix, err := s.indexes()
	if err != nil {
		return tsOffset{}, err
	}
	m := tsOffset{ts: -1, offset: s.base}
	if ts, rel, ok := lastTimeEntry(ix.tim.bytes()); ok {
		m = tsOffset{ts: ts, offset: s.base + int64(rel)}
	}
	s.closedMax.Store(&m)
	return m, nil
}

// largestTimestamp is what time-based retention compares with retention.ms,
// as Kafka's LogSegment.largestTimestamp: the max timestamp, or the file's
// modification time when no batch has a timestamp.
func (s *segment) largestTimestamp() (int64, error) {
	m, err := s.maxTimestamp()
	if err != nil {
		return 0, err
	}
	if m.ts >= 0 {
		return m.ts, nil
	}
	st, err := os.Stat(s.file.path())
	if err != nil {
		return 0, err
	}
	return st.ModTime().UnixMilli(), nil
}

// markDeleted starts deleting the segment: the .log is renamed to
// *.deleted at once (so a crash leaves nothing a restart would load), the
// index files removed, and the file closed and removed after delay, so that
// reads still in flight can finish.
func (s *segment) markDeleted(delay time.Duration) {
	if s.deleted.Swap(true) {
		return
	}
	s.file.mu.Lock()
	from := s.file.mu.path
	to := from + deletedSuffix
	if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.env.logger.Warn("renaming deleted segment", "segment", from, "err", err)
		to = from
	}
	s.file.mu.path = to
	s.file.mu.Unlock()
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		os.Remove(s.path(suffix))
	}
	env := s.env
	env.reaper.doLater(delay, func() {
		if f := env.files.forget(s.file); f != nil {
			f.Close()
		}
		s.file.mu.Lock()
		s.file.mu.dead = true
		path := s.file.mu.path
		s.file.mu.Unlock()
		os.Remove(path)
		env.indexes.drop(s)
	})
}

// closeNow closes the segment's file at once (Manager shutdown, or after a
// log is deleted with its directory).
func (s *segment) closeFile(delay time.Duration) {
	env := s.env
	if f := env.files.forget(s.file); f != nil {
		if delay > 0 {
			env.reaper.closeLater(f, delay)
		} else {
			f.Close()
		}
	}
	env.indexes.drop(s)
}

// headerScanner reads batch headers forward from a position of a segment
// file, through a small pooled buffer, without reading the records.
type headerScanner struct {
	f        *os.File
	pos      int64 // position of the next batch
	limit    int64 // end of the readable bytes
	buf      *[]byte
	bufStart int64
	bufLen   int
}

const scanBufSize = 4096

var scanBufPool = sync.Pool{New: func() any {
	b := make([]byte, scanBufSize)
	return &b
}}

func newHeaderScanner(f *os.File, pos, limit int64) headerScanner {
	return headerScanner{f: f, pos: pos, limit: limit, buf: scanBufPool.Get().(*[]byte)}
}

func (s *headerScanner) release() {
	if s.buf != nil {
		scanBufPool.Put(s.buf)
		s.buf = nil
	}
}

// next returns the header of the batch at s.pos and its position, and
// advances past it. ok=false with a nil error is the clean end; a batch that
// does not fit before limit, or a header that does not parse, is an error
// wrapping ErrCorrupt.
func (s *headerScanner) next() (h record.Header, pos int64, ok bool, err error) {
	if s.pos >= s.limit {
		return h, s.pos, false, nil
	}
	pos = s.pos
	need := int64(record.HeaderSize)
	if s.limit-pos < need {
		return h, pos, false, fmt.Errorf("%w: %d bytes of partial batch at position %d", ErrCorrupt, s.limit-pos, pos)
	}
	if pos < s.bufStart || pos+need > s.bufStart+int64(s.bufLen) {
		n := min(int64(len(*s.buf)), s.limit-pos)
		m, rerr := s.f.ReadAt((*s.buf)[:n], pos)
		if int64(m) < need {
			if rerr == nil || rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return h, pos, false, fmt.Errorf("reading batch header at %d: %w", pos, rerr)
		}
		s.bufStart, s.bufLen = pos, m
	}
	b := (*s.buf)[pos-s.bufStart : s.bufLen]
	h, err = record.ParseHeader(b)
	if err != nil {
		return h, pos, false, fmt.Errorf("%w: batch at position %d: %v", ErrCorrupt, pos, err)
	}
	if int64(h.Size()) > s.limit-pos {
		return h, pos, false, fmt.Errorf("%w: batch of %d bytes at position %d past the end (%d)", ErrCorrupt, h.Size(), pos, s.limit)
	}
	s.pos = pos + int64(h.Size())
	return h, pos, true, nil
}

// errIndexMismatch means an index entry names a position that does not hold
// the batch it claims: the index is rebuilt from the .log.
var errIndexMismatch = fmt.Errorf("%w: index entry does not match the log", ErrCorrupt)

// findBatch returns the position and header of the first batch in the
// segment whose last offset is >= offset, found=false if there is none
// before limit. It starts from the offset index (entries), never from the
// file start, and checks that the entry it starts from is true.
//
// NB: readers take entries before loading the segment's size for limit: the
// append path adds index entries before storing the size, so every entry a
// reader sees is below its limit.
func (s *segment) findBatch(f *os.File, entries []byte, offset, limit int64) (pos int64, h record.Header, found bool, err error) {
	start, rel := lookupOffset(entries, s.rel(offset))
	sc := newHeaderScanner(f, start, limit)
	defer sc.release()
	for first := true; ; first = false {
		h, pos, ok, err := sc.next()
		if first && rel >= 0 && (err != nil || !ok || h.LastOffset() != s.base+rel) {
			return pos, h, false, errIndexMismatch
		}
		if err != nil || !ok {
			return pos, h, false, err
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
	}
}

// location is where findBatch found a batch, with what it used.
type location struct {
	f       *os.File
	ix      *segIndex
	entries []byte // offset index entries, taken before limit
	limit   int64  // the segment's size when looked up
	pos     int64
	h       record.Header
	found   bool
}

// locate is findBatch with the indexes loaded and, if an index entry turns
// out false, the indexes rebuilt and the lookup retried once. locked says
// whether the caller holds the log's mutex.
func (s *segment) locate(offset int64, locked bool) (location, error) {
	for attempt := 0; ; attempt++ {
		var loc location
		var err error
		if loc.f, err = s.open(); err != nil {
			return loc, err
		}
		if loc.ix, err = s.indexes(); err != nil {
			return loc, err
		}
		loc.entries = loc.ix.off.bytes()
		loc.limit = s.size.Load()
		loc.pos, loc.h, loc.found, err = s.findBatch(loc.f, loc.entries, offset, loc.limit)
		if errors.Is(err, os.ErrClosed) && attempt < maxReopens {
			continue // evicted and closed meanwhile: s.open() reopens it
		}
		if errors.Is(err, errIndexMismatch) && attempt == 0 {
			if err := s.repairIndex(loc.ix, locked); err != nil {
				return loc, err
			}
			continue
		}
		return loc, err
	}
}

// repairIndex rebuilds the segment's indexes from its .log after a lookup
// found an entry of bad (the indexes it used) untrue. The log's mutex keeps
// the active segment's append path out meanwhile.
func (s *segment) repairIndex(bad *segIndex, locked bool) error {
	l := s.owner
	if !locked {
		l.mu.Lock()
		defer l.mu.Unlock()
	}
	if cur := s.idx.Load(); cur != bad && cur != nil {
		return nil // repaired meanwhile
	}
	f, err := s.open()
	if err != nil {
		return err
	}
	res, err := scanSegment(f, s.base, s.size.Load(), l.config().IndexIntervalBytes, false)
	if err != nil {
		return err
	}
	if res.stop != nil {
		return res.stop // the .log itself is damaged: nothing to rebuild from
	}
	s.env.logger.Warn("index does not match the log, rebuilt it", "segment", s.path(logSuffix))
	s.idx.Store(res.ix)
	if s == l.mu.active {
		l.mu.ix = res.indexer
	} else {
		s.env.indexes.add(s, res.ix)
	}
	if !s.deleted.Load() {
		return s.persistIndex(res.ix)
	}
	return nil
}

// segIndexer applies Kafka's index policy to the batches of one segment in
// order, on append and when rebuilding indexes from the .log alike (see
// offset_index.go and time_index.go for the policy).
type segIndexer struct {
	base       int64
	interval   int64 // index.interval.bytes
	bytesSince int64 // bytes appended since the last offset index entry
	maxTs      int64 // largest batch max timestamp so far, -1 if none
	maxTsOff   int64 // last offset of the batch that reached maxTs
	lastTimeTs int64 // timestamp of the last time index entry, -1 if none
}

func newSegIndexer(base, interval int64) segIndexer {
	return segIndexer{base: base, interval: interval, maxTs: -1, maxTsOff: base, lastTimeTs: -1}
}

// add accounts one batch of size bytes at pos.
func (x *segIndexer) add(ix *segIndex, pos, size, lastOffset, maxTs int64) {
	if maxTs > x.maxTs {
		x.maxTs, x.maxTsOff = maxTs, lastOffset
	}
	if x.bytesSince > x.interval {
		var e [timeEntrySize]byte
		putOffsetEntry(e[:offsetEntrySize], uint32(lastOffset-x.base), uint32(pos))
		ix.off.add(e[:offsetEntrySize])
		x.maybeTimeEntry(ix)
		x.bytesSince = 0
	}
	x.bytesSince += size
}

// maybeTimeEntry appends a time index entry if the max timestamp grew.
func (x *segIndexer) maybeTimeEntry(ix *segIndex) {
	if x.maxTs > x.lastTimeTs {
		var e [timeEntrySize]byte
		putTimeEntry(e[:], x.maxTs, uint32(x.maxTsOff-x.base))
		ix.tim.add(e[:])
		x.lastTimeTs = x.maxTs
	}
}
