package storage

// Reads find the segment by binary search over base offsets, the batch by
// binary search over the segment's offset index plus a forward scan of batch
// headers, and return a section of one segment file. They take no lock (see
// Log) and allocate nothing.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
)

// ReadResult is a run of stored bytes in one segment file: whole batches.
//
// File stays open for at least file.delete.delay.ms after the segment is
// deleted and at least 30 s after the file cache evicts it, so a result must
// be consumed (AppendTo, WriteTo) promptly, not kept.
type ReadResult struct {
	File *os.File
	Pos  int64
	Size int64
	// NextOffset is where a following read should start: the offset after
	// the last batch returned, or the base offset of the batch that did not
	// fit. It is the requested offset for an empty result.
	NextOffset int64

	// sf and files reopen File if the file cache closed it before the
	// result was used (see reopenAfterClose).
	sf    *segFile
	files *fileCache
}

// maxReopens bounds how often an operation reopens a file that eviction
// closed under it.
const maxReopens = 3

// reopenAfterClose returns the segment file open again if err says f was
// closed under the caller, nil otherwise. The file cache keeps an evicted
// file open for fileCloseGrace, but closes the oldest evicted ones early
// when more than its share wait, so that the descriptor bound holds under
// churn (far more partitions than descriptors); an operation that lost its
// file that way retries with the same file reopened (or renamed *.deleted,
// until the deletion delay ends).
func reopenAfterClose(err error, sf *segFile, files *fileCache) *os.File {
	if sf == nil || !errors.Is(err, os.ErrClosed) {
		return nil
	}
	f, gerr := files.get(sf)
	if gerr != nil {
		return nil
	}
	return f
}

// AppendTo appends the result's bytes to dst, with pread (no shared file
// offset, so concurrent readers of the same file are fine).
func (r ReadResult) AppendTo(dst []byte) ([]byte, error) {
	if r.Size == 0 {
		return dst, nil
	}
	n := len(dst)
	dst = slices.Grow(dst, int(r.Size))[:n+int(r.Size)]
	f := r.File
	for attempt := 0; ; attempt++ {
		m, err := f.ReadAt(dst[n:], r.Pos)
		if int64(m) == r.Size {
			return dst, nil
		}
		if attempt < maxReopens {
			if g := reopenAfterClose(err, r.sf, r.files); g != nil {
				f = g
				continue
			}
		}
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst[:n], fmt.Errorf("storage: reading %d bytes at %d of %s: %w", r.Size, r.Pos, f.Name(), err)
	}
}

// WriteTo copies the bytes to w.
//
// When w is a *net.TCPConn or *net.UnixConn the bytes go with sendfile(2)
// straight from the page cache to the socket. NB: not through io.Copy: the
// standard library's sendfile path sends from the file's shared offset,
// which would need a Seek and so break concurrent readers of the same file;
// this calls sendfile with an explicit offset instead (see sendfile_linux.go).
// Other writers get the bytes through pread in 32 KiB chunks.
func (r ReadResult) WriteTo(w io.Writer) (int64, error) {
	var written int64
	f := r.File
	for attempt := 0; ; attempt++ {
		n, err := writeSection(w, f, r.Pos+written, r.Size-written)
		written += n
		if err != nil && attempt < maxReopens {
			if g := reopenAfterClose(err, r.sf, r.files); g != nil {
				f = g
				continue
			}
		}
		return written, err
	}
}

// writeSection copies size bytes of f at pos to w. On an error, the bytes
// written are all the bytes read: a retry continues where it stopped.
func writeSection(w io.Writer, f *os.File, pos, size int64) (int64, error) {
	if size == 0 {
		return 0, nil
	}
	if n, handled, err := sendfileTo(w, f, pos, size); handled {
		return n, err
	}
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	var written int64
	for written < size {
		chunk := buf[:min(int64(len(buf)), size-written)]
		m, err := f.ReadAt(chunk, pos+written)
		if m > 0 && (err == nil || err == io.EOF) {
			k, werr := w.Write(chunk[:m])
			written += int64(k)
			if werr != nil {
				return written, werr
			}
			if k < m {
				return written, io.ErrShortWrite
			}
		}
		if err != nil && !(err == io.EOF && written == size) {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return written, err
		}
	}
	return written, nil
}

var copyBufPool = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// Read returns whole stored batches starting with the one holding offset,
// ending before maxOffset (exclusive), at most maxBytes unless minOneBatch
// and the first batch is larger.
//
// An offset below the log start offset or past the log end offset is
// ErrOffsetOutOfRange; the log end offset itself gives an empty result.
func (l *Log) Read(offset int64, maxBytes int32, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	for attempt := 0; ; attempt++ {
		segs := l.segs.Load()
		r, err := l.read(offset, maxBytes, maxOffset, minOneBatch)
		if err != nil && attempt < maxReplacedRetries && l.replacedUnder(segs, err) {
			continue
		}
		return r, err
	}
}

// maxReplacedRetries bounds how often a read starts over because the
// segments it was reading were replaced (see replacedUnder).
const maxReplacedRetries = 3

// replacedUnder reports whether err (from a read that began with the
// segment list segs) may be only the sign of a segment deleted under the
// read: the log cleaner swaps rewritten segments in for old ones that hold
// offsets still readable, so a read that met a deleted segment must look
// again, not answer OFFSET_OUT_OF_RANGE.
func (l *Log) replacedUnder(segs *[]*segment, err error) bool {
	return errors.Is(err, ErrOffsetOutOfRange) && l.segs.Load() != segs && !l.closed.Load()
}

func (l *Log) read(offset int64, maxBytes int32, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	if l.closed.Load() {
		return ReadResult{}, ErrClosed
	}
	// NB: leo before the segment list and the sizes: the append path stores
	// them in the opposite order, so everything below leo is visible.
	leo := l.leo.Load()
	start := l.logStart.Load()
	if offset < start || offset > leo {
		return ReadResult{}, fmt.Errorf("%w: offset %d not in [%d, %d]", ErrOffsetOutOfRange, offset, start, leo)
	}
	empty := ReadResult{NextOffset: offset}
	if offset == leo || offset >= maxOffset {
		return empty, nil
	}
	segs := l.segments()
	i := segmentFor(segs, offset)
	if i < 0 {
		return ReadResult{}, fmt.Errorf("%w: offset %d below the first segment", ErrOffsetOutOfRange, offset)
	}
	for ; i < len(segs); i++ {
		s := segs[i]
		if s.base > offset {
			offset = s.base // a gap between segments (compaction, truncation)
		}
		r, found, err := s.read(offset, int64(maxBytes), maxOffset, minOneBatch)
		if err != nil || found {
			return r, err
		}
	}
	return empty, nil
}

// read is Read within one segment; found=false means the segment has no
// batch holding offset or later.
func (s *segment) read(offset, maxBytes, maxOffset int64, minOneBatch bool) (ReadResult, bool, error) {
	for attempt := 0; ; attempt++ {
		loc, err := s.locate(offset, false)
		if err != nil || !loc.found {
			return ReadResult{}, false, err
		}
		r, err := s.readFrom(&loc, offset, maxBytes, maxOffset, minOneBatch)
		if errors.Is(err, errIndexMismatch) && attempt == 0 {
			if err := s.repairIndex(loc.ix, false); err != nil {
				return ReadResult{}, false, err
			}
			continue
		}
		return r, err == nil, err
	}
}

// readFrom extends a read that starts with the batch at loc to the bounds.
func (s *segment) readFrom(loc *location, offset, maxBytes, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	h, pos := &loc.h, loc.pos
	r := ReadResult{File: loc.f, Pos: pos, NextOffset: offset, sf: s.file, files: s.env.files}
	if h.BaseOffset >= maxOffset || (int64(h.Size()) > maxBytes && !minOneBatch) {
		return r, nil
	}
	end := pos + int64(h.Size())
	next := h.LastOffset() + 1
	budgetEnd := pos + max(maxBytes, int64(h.Size()))
	scanFrom := end
	// Skip whole runs of batches with the index: every batch before an
	// entry at or below the byte budget and below maxOffset is included.
	relLimit := int64(math.MaxInt64)
	if maxOffset-s.base < relLimit {
		relLimit = maxOffset - s.base
	}
	jumpRel := int64(-1)
	if p, rel, ok := lastEntryBelow(loc.entries, budgetEnd, relLimit); ok && p > scanFrom {
		scanFrom, end, next, jumpRel = p, p, -1, rel // next is known once the batch at p is read
	}
	sc := newHeaderScanner(loc.f, scanFrom, loc.limit)
	defer sc.release()
	for first := true; ; first = false {
		bh, bpos, ok, err := sc.next()
		if first && jumpRel >= 0 && (err != nil || !ok || bh.LastOffset() != s.base+jumpRel) {
			return ReadResult{}, errIndexMismatch
		}
		if err != nil {
			return ReadResult{}, err
		}
		if !ok {
			break
		}
		bend := bpos + int64(bh.Size())
		if bh.BaseOffset >= maxOffset || bend > budgetEnd {
			if next < 0 {
				next = bh.BaseOffset
			}
			break
		}
		end, next = bend, bh.LastOffset()+1
	}
	r.Size = end - pos
	r.NextOffset = next
	return r, nil
}
