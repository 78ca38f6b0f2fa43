package storage

// The time index (.timeindex) maps timestamps to offsets, sparsely: 12-byte
// entries
//
//	timestamp        int64   (ms: the largest batch max timestamp so far)
//	relative offset  uint32  (last offset of the batch that reached it)
//
// written, as in Kafka, together with offset index entries but only when the
// segment's max timestamp grew since the last entry, plus a final entry when
// the segment stops being active. Timestamps in the file are therefore
// strictly increasing and the last entry is the segment's max timestamp.

import (
	"encoding/binary"
	"fmt"
)

const timeEntrySize = 12

func putTimeEntry(dst []byte, ts int64, rel uint32) {
	binary.BigEndian.PutUint64(dst[0:], uint64(ts))
	binary.BigEndian.PutUint32(dst[8:], rel)
}

func timeEntryAt(entries []byte, i int) (ts int64, rel uint32) {
	e := entries[i*timeEntrySize:]
	return int64(binary.BigEndian.Uint64(e[0:])), binary.BigEndian.Uint32(e[8:])
}

// lastTimeEntry returns the last entry, ok=false for an empty index.
func lastTimeEntry(entries []byte) (ts int64, rel uint32, ok bool) {
	n := len(entries) / timeEntrySize
	if n == 0 {
		return -1, 0, false
	}
	ts, rel = timeEntryAt(entries, n-1)
	return ts, rel, true
}

// lookupTimestamp returns the last entry whose timestamp is <= ts; every
// batch before that entry's batch has a smaller max timestamp, so the search
// for ts can start there. ok=false means start at the beginning of the
// segment.
func lookupTimestamp(entries []byte, ts int64) (entryTs int64, rel uint32, ok bool) {
	n := len(entries) / timeEntrySize
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		t, _ := timeEntryAt(entries, mid)
		if t <= ts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0, 0, false
	}
	entryTs, rel = timeEntryAt(entries, lo-1)
	return entryTs, rel, true
}

// validateTimeIndex checks whole entries, strictly increasing timestamps,
// non-decreasing offsets, and offsets below relEnd.
func validateTimeIndex(entries []byte, relEnd int64) error {
	if len(entries)%timeEntrySize != 0 {
		return fmt.Errorf("%w: time index of %d bytes is not whole entries", ErrCorrupt, len(entries))
	}
	prevTs, prevRel := int64(-1<<63), int64(-1)
	for i := 0; i < len(entries)/timeEntrySize; i++ {
		t, r := timeEntryAt(entries, i)
		rel := int64(r)
		if t <= prevTs || rel < prevRel || rel >= relEnd {
			return fmt.Errorf("%w: time index entry %d (%d@%d) out of order or beyond %d offsets", ErrCorrupt, i, t, rel, relEnd)
		}
		prevTs, prevRel = t, rel
	}
	return nil
}
