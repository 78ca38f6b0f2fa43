package storage

// The offset index (.index) maps offsets to positions in the segment's .log,
// sparsely: one 8-byte entry per index.interval.bytes of batches,
//
//	relative offset  uint32  (offset - segment base offset)
//	position         uint32  (byte position of the batch in the .log)
//
// As in Kafka, an entry is written for a batch when more than
// index.interval.bytes were appended since the previous entry, and its
// offset is the batch's LAST offset while its position is the batch's start.
// So the largest entry with offset <= O names a batch at or before the one
// holding O, and a forward scan from there finds it. The first batch of a
// segment never gets an entry: "no entry" means position 0.
//
// Files are not preallocated: they hold exactly the entries written, so a
// file whose size is not a multiple of 8 is corrupt.

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
)

const offsetEntrySize = 8

// indexBuf is an append-only array of fixed-size index entries with one
// writer (the log's append path, under the log's mutex) and lock-free
// readers. Readers load the published length first and the backing array
// second; the writer stores a grown array before publishing a length that
// needs it, and never rewrites bytes below the published length in place
// (truncation copies to a new array), so readers never race with writes.
type indexBuf struct {
	arr atomic.Pointer[[]byte] // backing array; len == cap
	n   atomic.Int64           // published bytes

	// written is how many bytes of entries are in the file, and needTrim
	// says the file may hold more (after truncate); owned by the log's mutex.
	written  int64
	needTrim bool
}

func newIndexBuf(data []byte) *indexBuf {
	b := &indexBuf{}
	arr := data[:len(data):len(data)]
	b.arr.Store(&arr)
	b.n.Store(int64(len(data)))
	b.written = int64(len(data))
	return b
}

// bytes returns the published entries. The slice is never written again.
func (b *indexBuf) bytes() []byte {
	n := b.n.Load()
	arr := *b.arr.Load()
	return arr[:n]
}

// add appends one entry (writer only).
func (b *indexBuf) add(entry []byte) {
	n := b.n.Load()
	arr := *b.arr.Load()
	need := n + int64(len(entry))
	if need > int64(len(arr)) {
		size := 2 * int64(len(arr))
		if size < 64*offsetEntrySize {
			size = 64 * offsetEntrySize
		}
		for size < need {
			size *= 2
		}
		grown := make([]byte, size)
		copy(grown, arr[:n])
		b.arr.Store(&grown)
		arr = grown
	}
	copy(arr[n:], entry)
	b.n.Store(need)
}

// truncate keeps the first size bytes (writer only). The kept entries are
// copied to a new array so that later appends cannot overwrite bytes a
// reader of the old length may still be looking at.
func (b *indexBuf) truncate(size int64) {
	if size >= b.n.Load() {
		return
	}
	kept := make([]byte, size, size+64*offsetEntrySize)
	copy(kept, b.bytes())
	kept = kept[:cap(kept)]
	b.arr.Store(&kept)
	b.n.Store(size)
	if b.written > size {
		b.written = size
	}
	b.needTrim = true
}

// persist writes the entries not yet in the file at path and trims the file
// to exactly the entries (writer only). The file is not fsynced here.
func (b *indexBuf) persist(path string) error {
	data := b.bytes()
	n := int64(len(data))
	if b.written == n && !b.needTrim {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if b.written > n {
		b.written = n
	}
	if _, err := f.WriteAt(data[b.written:], b.written); err != nil {
		f.Close()
		return err
	}
	if err := f.Truncate(n); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	b.written = n
	b.needTrim = false
	return nil
}

func putOffsetEntry(dst []byte, rel uint32, pos uint32) {
	binary.BigEndian.PutUint32(dst[0:], rel)
	binary.BigEndian.PutUint32(dst[4:], pos)
}

func offsetEntryAt(entries []byte, i int) (rel uint32, pos uint32) {
	e := entries[i*offsetEntrySize:]
	return binary.BigEndian.Uint32(e[0:]), binary.BigEndian.Uint32(e[4:])
}

// lookupOffset returns the position of the last indexed batch whose last
// offset is <= target (relative offsets) and that entry's relative offset,
// or (0, -1) when there is none. It is where a scan for target starts.
func lookupOffset(entries []byte, relTarget int64) (pos, rel int64) {
	n := len(entries) / offsetEntrySize
	lo, hi := 0, n // find the first entry with rel > relTarget
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		rel, _ := offsetEntryAt(entries, mid)
		if int64(rel) <= relTarget {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0, -1
	}
	r, p := offsetEntryAt(entries, lo-1)
	return int64(p), int64(r)
}

// lastEntryBelow returns the position and relative offset of the last entry
// with position <= maxPos and relative offset < relLimit, ok=false if none.
// All batches before that position are wholly below maxPos and below the
// offset limit, so a read that ends by maxPos can skip to it.
func lastEntryBelow(entries []byte, maxPos int64, relLimit int64) (pos, rel int64, ok bool) {
	n := len(entries) / offsetEntrySize
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		rel, p := offsetEntryAt(entries, mid)
		if int64(p) <= maxPos && int64(rel) < relLimit {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0, -1, false
	}
	r, p := offsetEntryAt(entries, lo-1)
	return int64(p), int64(r), true
}

// validateOffsetIndex checks an index file's contents against its segment:
// whole entries, relative offsets and positions strictly increasing,
// offsets below relEnd (the segment's end, relative) and positions below
// logSize. It returns ErrCorrupt describing the first problem.
func validateOffsetIndex(entries []byte, relEnd int64, logSize int64) error {
	if len(entries)%offsetEntrySize != 0 {
		return fmt.Errorf("%w: offset index of %d bytes is not whole entries", ErrCorrupt, len(entries))
	}
	prevRel, prevPos := int64(-1), int64(-1)
	for i := 0; i < len(entries)/offsetEntrySize; i++ {
		r, p := offsetEntryAt(entries, i)
		rel, pos := int64(r), int64(p)
		if rel <= prevRel || pos <= prevPos {
			return fmt.Errorf("%w: offset index entry %d (%d@%d) not after (%d@%d)", ErrCorrupt, i, rel, pos, prevRel, prevPos)
		}
		if rel >= relEnd || pos >= logSize {
			return fmt.Errorf("%w: offset index entry %d (%d@%d) beyond the log (%d offsets, %d bytes)", ErrCorrupt, i, rel, pos, relEnd, logSize)
		}
		prevRel, prevPos = rel, pos
	}
	return nil
}
