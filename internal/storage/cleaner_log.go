package storage

// One cleaning pass over one log (Kafka's Cleaner.doClean):
//
//  1. Build the offset map (key → last offset) over the dirty batches,
//     [firstDirty, end), stopping early at a batch boundary if the map is
//     full; mapEnd is the last offset it covers.
//  2. Rewrite the closed segments from the log start up to the one holding
//     mapEnd, in groups merged up to segment.bytes, into "<base>.log.cleaned"
//     files. A record survives if it has a key, and no later offset of its
//     key is in the map, and it is not a tombstone past its delete horizon.
//     A batch whose records all survive is copied byte for byte; one that
//     loses records is rebuilt (same base offset and last offset delta,
//     same codec, CRC recomputed); one that loses all is dropped, unless it
//     is the last batch of an active idempotent producer (kept empty, so the
//     producer's sequence and epoch survive a restart, as Kafka does).
//  3. Swap each group's cleaned segment in (cleaner_swap.go).
//  4. Checkpoint mapEnd+1 as the log's first dirty offset.
//
// Tombstones follow KIP-534 (Kafka 3.1+): the first pass that keeps a
// batch with a tombstone stamps the batch with a delete horizon, cleaning
// time + delete.retention.ms, in its base timestamp (attribute bit 6); a
// later pass past that horizon drops the tombstones. Chosen over the
// older rule (a segment's file modification time + delete.retention.ms)
// because the horizon travels with the batch: merging segments, copying a
// data directory or a restart cannot reset it, and it is what a Kafka
// replica fetching these batches would expect.
//
// Transactions do not exist yet: control batches are kept as they are,
// and there are no aborted batches to remove.
//
// The pass holds no lock while it reads and writes; appends, reads and
// retention go on. Only the swap takes the log's mutex, briefly.

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/strata-io/strata/internal/record"
)

const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

// errCleanAborted means the log changed under the cleaner (truncated,
// deleted, closed) or the Manager is stopping: the rest of the pass is
// dropped (groups already swapped in stay: each swap is whole) and the
// checkpoint does not move, so the next pass starts where this one did.
var errCleanAborted = errors.New("storage: cleaning aborted")

// cleanStats is what one pass did, for its log line and tests.
type cleanStats struct {
	bytesBefore, bytesAfter int64
	batchesRebuilt          int
	batchesDropped          int
	recordsRemoved          int
	tombstonesRemoved       int
}

func (c *cleaner) aborted(l *Log) bool {
	select {
	case <-c.m.stop.done:
		return true
	default:
	}
	return l.closed.Load()
}

// cleanLog runs one pass over cl.l as of nowMs.
func (c *cleaner) cleanLog(cl *cleanable, nowMs int64) error {
	l := cl.l
	cfg := l.config()
	began := time.Now()
	c.step("begin", l)

	mapEnd, err := c.buildOffsetMap(cl)
	if err != nil {
		return err
	}
	var prod map[int64]int64
	l.mu.Lock()
	if !l.closed.Load() {
		prod = map[int64]int64{}
		l.mu.prod.lastBatchOffsets(prod)
	}
	l.mu.Unlock()
	if prod == nil {
		return errCleanAborted
	}

	// The segments to rewrite: up to the one holding mapEnd.
	segs := cl.segs
	for len(segs) > 0 && segs[len(segs)-1].base > mapEnd {
		segs = segs[:len(segs)-1]
	}
	p := &cleanPass{c: c, l: l, cfg: cfg, nowMs: nowMs, mapEnd: mapEnd, producers: prod, horizon: math.MaxInt64, truncs: cl.truncs}
	for len(segs) > 0 {
		n := groupSize(segs, cfg)
		if err := p.cleanGroup(segs[:n]); err != nil {
			return err
		}
		segs = segs[n:]
	}
	horizon := p.horizon
	if horizon == math.MaxInt64 {
		horizon = 0
	}
	if err := c.setCleaned(l.tp, mapEnd+1, horizon); err != nil {
		return err
	}
	c.step("checkpointed", l)
	st := p.stats
	c.env.logger.Debug("cleaned log", "dir", l.dir, "bytes_before", st.bytesBefore, "bytes_after", st.bytesAfter,
		"duration", time.Since(began), "dirty_ratio", cl.ratio, "first_dirty", cl.firstDirty, "cleaned_to", mapEnd+1,
		"batches_rebuilt", st.batchesRebuilt, "batches_dropped", st.batchesDropped,
		"records_removed", st.recordsRemoved, "tombstones_removed", st.tombstonesRemoved)
	c.lastStats = st
	return nil
}

// buildOffsetMap puts every keyed record of the dirty batches into the
// offset map and returns the last offset it covers (firstDirty-1 if none).
func (c *cleaner) buildOffsetMap(cl *cleanable) (int64, error) {
	c.omap.reset()
	mapEnd := cl.firstDirty - 1
	for _, s := range cl.segs {
		if s.limit.Load() <= cl.firstDirty {
			continue
		}
		full := false
		err := c.forEachBatch(s, func(h *record.Header, raw []byte) error {
			if h.LastOffset() < cl.firstDirty || h.IsControl() {
				return nil
			}
			if !c.omap.room(int(h.RecordCount)) {
				full = true
				return errStopScan
			}
			data, err := c.recordsOf(raw, h)
			if err != nil {
				return err
			}
			it := record.NewRecordIter(data, h.RecordCount)
			var v record.RecordView
			for it.Next(&v) {
				if v.Key != nil {
					c.omap.put(v.Key, h.BaseOffset+int64(v.OffsetDelta))
				}
			}
			if err := it.Err(); err != nil {
				return fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptBatch, h.BaseOffset, err)
			}
			mapEnd = h.LastOffset()
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return 0, err
		}
		if c.aborted(cl.l) {
			return 0, errCleanAborted
		}
		if full {
			if mapEnd < cl.firstDirty {
				return 0, fmt.Errorf("storage: log cleaner: one batch of %s has more keys than log.cleaner.dedupe.buffer.size holds", cl.l.dir)
			}
			break
		}
	}
	if mapEnd < cl.firstDirty {
		mapEnd = cl.end - 1 // nothing dirty: a pass for expired tombstones
	}
	return mapEnd, nil
}

var errStopScan = errors.New("stop scan")

// forEachBatch calls fn with every whole batch of s, read sequentially
// through the cleaner's read buffer (raw is valid until fn returns).
func (c *cleaner) forEachBatch(s *segment, fn func(h *record.Header, raw []byte) error) error {
	f, err := s.open()
	if err != nil {
		return err
	}
	if c.bufs.read == nil {
		c.bufs.read = make([]byte, 1<<20)
	}
	r := batchReader{f: f, size: s.size.Load(), buf: c.bufs.read}
	defer func() { c.bufs.read = r.buf }()
	for pos, n := int64(0), 0; pos < r.size; n++ {
		// A big segment takes a while: stop promptly when the Manager
		// closes or the log goes.
		if n%1024 == 1023 && c.aborted(s.owner) {
			return errCleanAborted
		}
		raw, err := r.batchAt(pos)
		if err != nil {
			return err
		}
		// NB: through c.bufs.hdr, not a local: a pointer to a local
		// passed to a func value escapes, an allocation per batch.
		h := &c.bufs.hdr
		if *h, err = record.ParseHeader(raw); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if err := fn(h, raw); err != nil {
			return err
		}
		pos += int64(len(raw))
	}
	return nil
}

// recordsOf returns a batch's uncompressed records, in the scratch buffer.
func (c *cleaner) recordsOf(raw []byte, h *record.Header) ([]byte, error) {
	data, err := record.RecordsData(c.bufs.scratch, raw, h, record.DefaultDecompressLimit)
	if err != nil {
		return nil, fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptBatch, h.BaseOffset, err)
	}
	if h.Codec() != record.CodecNone {
		c.bufs.scratch = data[:0]
	}
	return data, nil
}

// groupSize is how many of segs (consecutive) are merged into one cleaned
// segment: as many as stay within segment.bytes (by their current sizes,
// which cleaning only shrinks) and 32-bit relative offsets.
func groupSize(segs []*segment, cfg *Config) int {
	size := segs[0].size.Load()
	n := 1
	for ; n < len(segs); n++ {
		s := segs[n]
		if size+s.size.Load() > cfg.SegmentBytes || s.limit.Load()-1-segs[0].base > math.MaxInt32 {
			break
		}
		size += s.size.Load()
	}
	return n
}

// cleanPass is the state of rewriting one log's segments.
type cleanPass struct {
	c         *cleaner
	l         *Log
	cfg       *Config
	nowMs     int64
	mapEnd    int64
	producers map[int64]int64 // producer id → last offset of its last batch
	horizon   int64           // earliest delete horizon of a kept tombstone
	truncs    int64           // the log's truncation count when the pass began
	stats     cleanStats
}

// cleanGroup rewrites group into one cleaned segment and swaps it in.
func (p *cleanPass) cleanGroup(group []*segment) error {
	l, c := p.l, p.c
	base := group[0].base
	sizes := make([]int64, len(group))
	for i, s := range group {
		sizes[i] = s.size.Load()
		p.stats.bytesBefore += sizes[i]
	}
	logPath := segmentPath(l.dir, base, logSuffix+cleanedSuffix)
	f, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			removeCleaned(l.dir, base)
		}
	}()
	if c.bufs.write == nil {
		c.bufs.write = bufio.NewWriterSize(f, 1<<20)
	}
	w := c.bufs.write
	w.Reset(f)
	ix := emptySegIndex()
	x := newSegIndexer(base, p.cfg.IndexIntervalBytes)
	var pos int64
	emit := func(b []byte, h *record.Header) error {
		if pos+int64(len(b)) > math.MaxInt32 {
			return fmt.Errorf("storage: cleaned segment %d over 2 GiB", base)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		x.add(ix, pos, int64(len(b)), h.LastOffset(), h.MaxTimestamp)
		pos += int64(len(b))
		return nil
	}
	changesBefore := p.stats.batchesRebuilt + p.stats.batchesDropped
	for i, s := range group {
		if s.size.Load() != sizes[i] {
			return errCleanAborted // truncated meanwhile
		}
		err := c.forEachBatch(s, func(h *record.Header, raw []byte) error {
			out, err := p.filterBatch(h, raw)
			if err != nil || out == nil {
				return err
			}
			oh, err := record.ParseHeader(out)
			if err != nil {
				return err
			}
			return emit(out, &oh)
		})
		if err != nil {
			return err
		}
		if c.aborted(l) {
			return errCleanAborted
		}
	}
	if len(group) == 1 && p.stats.batchesRebuilt+p.stats.batchesDropped == changesBefore {
		// Every batch survived as it was: the segment stays, and the copy
		// goes without an fsync or a swap (a mostly clean log costs reads,
		// not writes).
		p.stats.bytesAfter += sizes[0]
		return nil // the deferred cleanup removes the copy
	}
	x.maybeTimeEntry(ix)
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, b := range []struct {
		buf    *indexBuf
		suffix string
	}{{ix.off, indexSuffix}, {ix.tim, timeIndexSuffix}} {
		path := segmentPath(l.dir, base, b.suffix+cleanedSuffix)
		if err := b.buf.persist(path); err != nil {
			return err
		}
		if err := syncFile(path); err != nil {
			return err
		}
	}
	c.step("cleaned-written", l)
	ok = true
	p.stats.bytesAfter += pos
	return p.c.swapIn(l, group, sizes, pos, p.truncs, ix)
}

// filterBatch decides a batch's fate: nil to drop it, raw to keep it as it
// is, or a rebuilt batch (in the cleaner's batch buffer).
func (p *cleanPass) filterBatch(h *record.Header, raw []byte) ([]byte, error) {
	if h.IsControl() {
		return raw, nil // no transactions yet: markers stay
	}
	c := p.c
	data, err := c.recordsOf(raw, h)
	if err != nil {
		return nil, err
	}
	hasHorizon := h.HasDeleteHorizon()
	expired := hasHorizon && p.nowMs >= h.BaseTimestamp
	// First pass: which records survive, and are there tombstones kept?
	kept, tombstones, removed, tombsGone := int32(0), false, 0, 0
	maxTs := int64(-1)
	it := record.NewRecordIter(data, h.RecordCount)
	var v record.RecordView
	for it.Next(&v) {
		if !p.retain(h, &v, expired) {
			removed++
			if v.NullValue && v.Key != nil {
				tombsGone++
			}
			continue
		}
		kept++
		tombstones = tombstones || v.NullValue
		maxTs = max(maxTs, h.BaseTimestamp+v.TimestampDelta)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptBatch, h.BaseOffset, err)
	}
	stamp := tombstones && !hasHorizon
	if removed == 0 && !stamp {
		if hasHorizon && tombstones {
			p.horizon = min(p.horizon, h.BaseTimestamp)
		}
		return raw, nil
	}
	p.stats.recordsRemoved += removed
	p.stats.tombstonesRemoved += tombsGone
	if kept == 0 {
		last, active := p.producers[h.ProducerID]
		if !(h.ProducerID >= 0 && active && last == h.LastOffset()) {
			p.stats.batchesDropped++
			return nil, nil
		}
	}
	// Rebuild with the survivors.
	spec := record.RebuildSpec{Attributes: h.Attributes, BaseTimestamp: h.BaseTimestamp, MaxTimestamp: maxTs, RecordCount: kept}
	if h.Attributes&record.AttrLogAppendTime != 0 || kept == 0 {
		spec.MaxTimestamp = h.MaxTimestamp
	}
	if stamp {
		spec.Attributes |= record.AttrDeleteHorizon
		spec.BaseTimestamp = p.nowMs + p.cfg.DeleteRetentionMs
	}
	if tombstones {
		p.horizon = min(p.horizon, spec.BaseTimestamp)
	}
	recs := c.bufs.records[:0]
	it = record.NewRecordIter(data, h.RecordCount)
	for it.Next(&v) {
		if p.retain(h, &v, expired) {
			ts := h.BaseTimestamp + v.TimestampDelta
			recs = record.AppendRecord(recs, &v, ts-spec.BaseTimestamp)
		}
	}
	c.bufs.records = recs
	out, err := record.RebuildBatch(c.bufs.batch[:0], raw, spec, recs)
	if err != nil {
		return nil, err
	}
	c.bufs.batch = out
	p.stats.batchesRebuilt++
	return out, nil
}

// retain is the record rule: a key, no later offset of that key in the
// map, and not a tombstone whose batch's delete horizon has passed.
// Records without a key cannot be compacted and go, as in Kafka (produce
// refuses them for compacted topics; these predate a policy change).
//
// NB: a record above mapEnd (the map filled up before it) is kept as it
// is, tombstone or not, as in Kafka: the map does not know its key's
// history, so removing an expired tombstone there could bring back an
// older value that the map took for the key's latest.
func (p *cleanPass) retain(h *record.Header, v *record.RecordView, expired bool) bool {
	if v.Key == nil {
		return false
	}
	off := h.BaseOffset + int64(v.OffsetDelta)
	if off > p.mapEnd {
		return true
	}
	if latest, ok := p.c.omap.get(v.Key); ok && latest > off {
		return false
	}
	return !(v.NullValue && expired)
}

// removeCleaned removes the .cleaned files of the segment at base.
func removeCleaned(dir string, base int64) {
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		os.Remove(segmentPath(dir, base, suffix+cleanedSuffix))
	}
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // an empty index has no file
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
