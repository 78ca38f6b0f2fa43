package storage

// Timestamp lookups for ListOffsets: the first record at or after a
// timestamp, and the record with the largest timestamp (KIP-734). These are
// the only paths that decode records, and only of the one batch found.

import (
	"fmt"
	"os"

	"github.com/strata-io/strata/internal/record"
)

// OffsetForTimestamp finds the first record whose timestamp is >= ts: the
// first batch (from the log start offset) whose max timestamp is >= ts, via
// the segments' largest timestamps, the time index and a header scan, then
// the first record in it at or after ts. found=false if there is none.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	for attempt := 0; ; attempt++ {
		segs := l.segs.Load()
		offset, timestamp, found, err = l.offsetForTimestamp(ts)
		if err != nil && attempt < maxReplacedRetries && l.replacedUnder(segs, err) {
			continue
		}
		return offset, timestamp, found, err
	}
}

func (l *Log) offsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	if l.closed.Load() {
		return 0, 0, false, ErrClosed
	}
	leo := l.leo.Load()
	start := l.logStart.Load()
	segs := l.segments()
	for i, s := range segs {
		if i+1 < len(segs) {
			if segs[i+1].base <= start {
				continue // entirely below the log start offset
			}
			m, err := s.maxTimestamp()
			if err != nil {
				return 0, 0, false, err
			}
			if m.ts < ts {
				continue
			}
		}
		loc, err := s.locateTimestamp(ts, start)
		if err != nil {
			return 0, 0, false, err
		}
		if !loc.found {
			continue
		}
		f, pos, limit := loc.f, loc.pos, loc.limit
		sc := newHeaderScanner(f, pos, limit)
		for {
			h, hpos, ok, err := sc.next()
			if err != nil {
				sc.release()
				return 0, 0, false, err
			}
			if !ok || h.BaseOffset >= leo {
				break
			}
			if h.LastOffset() < start || h.MaxTimestamp < ts {
				continue
			}
			sc.release()
			off, t, found, err := firstRecordAtOrAfter(f, hpos, &h, ts, start)
			if err != nil || found {
				return off, t, found, err
			}
			sc = newHeaderScanner(f, hpos+int64(h.Size()), limit)
		}
		sc.release()
	}
	return -1, -1, false, nil
}

// locateTimestamp finds the batch to scan from for ts in the segment: the
// time index names the last batch known to stay below ts. A time index entry
// that the batch it names contradicts gets the indexes rebuilt, once.
func (s *segment) locateTimestamp(ts, minOffset int64) (location, error) {
	for attempt := 0; ; attempt++ {
		ix, err := s.indexes()
		if err != nil {
			return location{}, err
		}
		from := s.base
		entryTs, rel, useEntry := lookupTimestamp(ix.tim.bytes(), ts)
		if useEntry {
			from = s.base + int64(rel)
		}
		loc, err := s.locate(max(from, minOffset), false)
		if err != nil {
			return loc, err
		}
		bad := useEntry && from >= minOffset && (!loc.found || loc.h.LastOffset() != from || loc.h.MaxTimestamp != entryTs)
		if bad && attempt == 0 {
			if err := s.repairIndex(loc.ix, false); err != nil {
				return loc, err
			}
			continue
		}
		if bad {
			return loc, errIndexMismatch
		}
		return loc, nil
	}
}

// readBatch reads the whole batch with header h at pos.
func readBatch(f *os.File, pos int64, h *record.Header) ([]byte, error) {
	b := make([]byte, h.Size())
	if _, err := f.ReadAt(b, pos); err != nil {
		return nil, fmt.Errorf("storage: reading batch at %d of %s: %w", pos, f.Name(), err)
	}
	return b, nil
}

// firstRecordAtOrAfter decodes the batch at pos and returns its first record
// with timestamp >= ts and offset >= minOffset.
//
// NB: stored batches passed their CRC check, but their compressed records
// were never decoded (the produce path does not decompress). A batch whose
// records cannot be read, or would inflate past the decompression limit,
// is answered at batch granularity: its first offset at or after
// minOffset, with the batch's max timestamp, which is >= ts.
func firstRecordAtOrAfter(f *os.File, pos int64, h *record.Header, ts, minOffset int64) (int64, int64, bool, error) {
	b, err := readBatch(f, pos, h)
	if err != nil {
		return 0, 0, false, err
	}
	off, t, found := int64(-1), int64(-1), false
	err = record.ForEachRecordTimestamp(b, func(delta int32, rts int64) bool {
		o := h.BaseOffset + int64(delta)
		if o >= minOffset && rts >= ts {
			off, t, found = o, rts, true
			return false
		}
		return true
	})
	if err != nil {
		if h.MaxTimestamp < ts || h.LastOffset() < minOffset {
			return -1, -1, false, nil
		}
		return max(h.BaseOffset, minOffset), h.MaxTimestamp, true, nil
	}
	return off, t, found, nil
}

// MaxTimestamp returns the record with the largest timestamp (KIP-734):
// its offset and timestamp, or (-1, -1) when no record has one. Of equal
// timestamps the first wins.
func (l *Log) MaxTimestamp() (offset, timestamp int64, err error) {
	for attempt := 0; ; attempt++ {
		segs := l.segs.Load()
		offset, timestamp, err = l.maxTimestamp()
		if err != nil && attempt < maxReplacedRetries && l.replacedUnder(segs, err) {
			continue
		}
		return offset, timestamp, err
	}
}

func (l *Log) maxTimestamp() (offset, timestamp int64, err error) {
	if l.closed.Load() {
		return -1, -1, ErrClosed
	}
	start := l.logStart.Load()
	segs := l.segments()
	best := tsOffset{ts: -1, offset: -1}
	var bestSeg *segment
	for i, s := range segs {
		var m tsOffset
		if i+1 < len(segs) {
			if segs[i+1].base <= start {
				continue
			}
			if m, err = s.maxTimestamp(); err != nil {
				return -1, -1, err
			}
		} else {
			l.mu.Lock()
			if s == l.mu.active {
				m = tsOffset{ts: l.mu.ix.maxTs, offset: l.mu.ix.maxTsOff}
			} else if m, err = s.maxTimestamp(); err != nil {
				l.mu.Unlock()
				return -1, -1, err
			}
			l.mu.Unlock()
		}
		if m.ts > best.ts {
			best, bestSeg = m, s
		}
	}
	if bestSeg == nil {
		return -1, -1, nil
	}
	// best.offset is the last offset of the batch with the max timestamp;
	// find the record inside it.
	loc, err := bestSeg.locate(best.offset, false)
	if err != nil || !loc.found {
		return best.offset, best.ts, err
	}
	f, pos, h := loc.f, loc.pos, loc.h
	off, t, ok, err := firstRecordAtOrAfter(f, pos, &h, best.ts, 0)
	if err != nil || !ok || t != best.ts {
		return best.offset, best.ts, err
	}
	return off, t, nil
}
