package record

// Decoding the records inside a v2 batch. This is for tools, index rebuilds
// and compaction; the produce and fetch paths never call it.
//
// A record, after the batch header (all varints zig-zag encoded, as in
// protobuf; a varint is an int32 in at most 5 bytes, a varlong an int64 in
// at most 10):
//
//	length         varint   bytes after this field
//	attributes     int8     unused
//	timestampDelta varlong  from the batch's base timestamp
//	offsetDelta    varint   from the batch's base offset
//	keyLength      varint   -1 = null key
//	key            bytes
//	valueLength    varint   -1 = null value
//	value          bytes
//	headerCount    varint
//	headers        headerKeyLength varint, headerKey, headerValueLength varint (-1 = null), headerValue
//
// Every length is checked against what is left, and a record must use up
// exactly its length; anything else is ErrCorrupt.

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// DefaultDecompressLimit is the most bytes ForEachRecordTimestamp lets a
// batch's records decompress to. A batch is at most message.max.bytes
// (1 MiB by default) compressed; 128 MiB leaves room for any sane
// compression ratio while keeping a decompression bomb cheap.
const DefaultDecompressLimit = 128 << 20

// minRecordSize is the smallest encoding of a record: one byte each for
// length, attributes, timestamp delta, offset delta, key length, value
// length and header count. It bounds how many records a buffer can hold, so
// a lying record count cannot make us allocate.
const minRecordSize = 7

// Record is one decoded record of a batch.
type Record struct {
	OffsetDelta    int32 // offset = batch base offset + OffsetDelta
	TimestampDelta int64 // ms; timestamp = batch base timestamp + TimestampDelta (CreateTime batches)
	Key            []byte
	Value          []byte // nil for a null value (a tombstone)
	Headers        []RecordHeader
}

// RecordHeader is one header of a record. (Header is the batch header.)
type RecordHeader struct {
	Key   string
	Value []byte // nil for a null value
}

// ReadRecords validates batch (which must be exactly one batch, CRC
// included) and decodes all its records, decompressing them first if needed;
// the decompressed records may be at most maxDecompressed bytes (else
// ErrTooLarge). Malformed bytes fail with an error wrapping ErrCorrupt.
//
// NB: keys and values alias batch (uncompressed) or a fresh buffer
// (compressed); copy them before modifying batch.
func ReadRecords(batch []byte, maxDecompressed int) ([]Record, error) {
	h, err := Validate(batch)
	if err != nil {
		return nil, corruptIfTruncated(err)
	}
	data := batch[HeaderSize:]
	if h.Codec() != CodecNone {
		if data, err = Decompress(nil, data, h.Codec(), maxDecompressed); err != nil {
			return nil, err
		}
	}
	recs := make([]Record, 0, min(int(h.RecordCount), len(data)/minRecordSize))
	r := recordReader{b: data}
	for i := int32(0); i < h.RecordCount; i++ {
		var rec Record
		if err := r.record(&rec); err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i, h.RecordCount, err)
		}
		recs = append(recs, rec)
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the batch's %d records", ErrCorrupt, len(r.b), h.RecordCount)
	}
	return recs, nil
}

// ForEachRecordTimestamp calls fn with the offset delta and the timestamp
// (ms) of each record of batch, in order, until fn returns false. A
// CreateTime record's timestamp is the base timestamp plus its delta; every
// record of a LogAppendTime batch has the batch's max timestamp. Compressed
// records are decompressed (at most DefaultDecompressLimit bytes).
//
// It checks the framing of every record (lengths and count) but not the
// batch's CRC, nor the keys, values and headers inside the records: callers
// hold batches they have already validated.
func ForEachRecordTimestamp(batch []byte, fn func(offsetDelta int32, ts int64) bool) error {
	h, err := ParseHeader(batch)
	if err != nil {
		return corruptIfTruncated(err)
	}
	if h.Size() > len(batch) {
		return fmt.Errorf("%w: %w", ErrCorrupt, ErrTruncated)
	}
	data := batch[HeaderSize:h.Size()]
	if h.Codec() != CodecNone {
		bp := getScratch()
		defer putScratch(bp)
		if *bp, err = Decompress((*bp)[:0], data, h.Codec(), DefaultDecompressLimit); err != nil {
			return err
		}
		data = *bp
	}
	logAppendTime := h.Attributes&AttrLogAppendTime != 0
	r := recordReader{b: data}
	for i := int32(0); i < h.RecordCount; i++ {
		body, err := r.recordBody()
		if err != nil {
			return fmt.Errorf("record %d of %d: %w", i, h.RecordCount, err)
		}
		tsDelta, offsetDelta, err := body.prefix()
		if err != nil {
			return fmt.Errorf("record %d of %d: %w", i, h.RecordCount, err)
		}
		ts := h.BaseTimestamp + tsDelta
		if logAppendTime {
			ts = h.MaxTimestamp
		}
		if !fn(offsetDelta, ts) {
			return nil
		}
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the batch's %d records", ErrCorrupt, len(r.b), h.RecordCount)
	}
	return nil
}

// corruptIfTruncated makes a batch that ends early count as corrupt: the
// callers here are handed whole batches, so a short one is broken bytes.
func corruptIfTruncated(err error) error {
	if err == ErrTruncated {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// scratch buffers for ForEachRecordTimestamp, whose decompressed bytes do
// not outlive the call. Big ones are not kept: one bomb-sized batch should
// not pin its memory in the pool.
var scratchPool sync.Pool // *[]byte

const maxPooledScratch = 1 << 20

func getScratch() *[]byte {
	if bp, ok := scratchPool.Get().(*[]byte); ok {
		return bp
	}
	return new([]byte)
}

func putScratch(bp *[]byte) {
	if cap(*bp) <= maxPooledScratch {
		scratchPool.Put(bp)
	}
}

// recordReader is a cursor over encoded records. Each method consumes what
// it decodes, or fails with ErrCorrupt leaving the cursor anywhere.
type recordReader struct{ b []byte }

func (r *recordReader) varlong() (int64, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad varlong", ErrCorrupt)
	}
	r.b = r.b[n:]
	return v, nil
}

// varint reads an int32 varint; like Kafka, it refuses more than 5 bytes.
func (r *recordReader) varint() (int32, error) {
	v, n := binary.Varint(r.b)
	if n <= 0 || n > 5 || v != int64(int32(v)) {
		return 0, fmt.Errorf("%w: bad varint", ErrCorrupt)
	}
	r.b = r.b[n:]
	return int32(v), nil
}

// bytes reads a varint length and that many bytes; -1 is null (nil).
func (r *recordReader) bytes() ([]byte, error) {
	n, err := r.varint()
	if err != nil {
		return nil, err
	}
	switch {
	case n == -1:
		return nil, nil
	case n < -1 || int(n) > len(r.b):
		return nil, fmt.Errorf("%w: length %d with %d bytes left", ErrCorrupt, n, len(r.b))
	}
	b := r.b[:n:n] // capped: an append by the caller must not run into the next field
	r.b = r.b[n:]
	return b, nil
}

// recordBody reads a record's length and returns a reader over exactly its
// body.
func (r *recordReader) recordBody() (recordReader, error) {
	n, err := r.varint()
	if err != nil {
		return recordReader{}, err
	}
	if n < 0 || int(n) > len(r.b) {
		return recordReader{}, fmt.Errorf("%w: record length %d with %d bytes left", ErrCorrupt, n, len(r.b))
	}
	body := recordReader{b: r.b[:n]}
	r.b = r.b[n:]
	return body, nil
}

// prefix reads the fields before the key: attributes, timestamp delta and
// offset delta.
func (r *recordReader) prefix() (tsDelta int64, offsetDelta int32, err error) {
	if len(r.b) < 1 {
		return 0, 0, fmt.Errorf("%w: empty record", ErrCorrupt)
	}
	r.b = r.b[1:] // attributes: unused by every record format version so far
	if tsDelta, err = r.varlong(); err != nil {
		return 0, 0, err
	}
	if offsetDelta, err = r.varint(); err != nil {
		return 0, 0, err
	}
	return tsDelta, offsetDelta, nil
}

// record decodes one whole record into rec.
func (r *recordReader) record(rec *Record) error {
	body, err := r.recordBody()
	if err != nil {
		return err
	}
	if rec.TimestampDelta, rec.OffsetDelta, err = body.prefix(); err != nil {
		return err
	}
	if rec.Key, err = body.bytes(); err != nil {
		return err
	}
	if rec.Value, err = body.bytes(); err != nil {
		return err
	}
	n, err := body.varint()
	if err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("%w: %d headers", ErrCorrupt, n)
	}
	const minHeaderSize = 2 // key length and value length
	if n > 0 {
		rec.Headers = make([]RecordHeader, 0, min(int(n), len(body.b)/minHeaderSize))
	}
	for range n {
		k, err := body.bytes()
		if err != nil {
			return err
		}
		if k == nil {
			return fmt.Errorf("%w: null header key", ErrCorrupt)
		}
		v, err := body.bytes()
		if err != nil {
			return err
		}
		rec.Headers = append(rec.Headers, RecordHeader{Key: string(k), Value: v})
	}
	if len(body.b) != 0 {
		return fmt.Errorf("%w: %d bytes left inside a record", ErrCorrupt, len(body.b))
	}
	return nil
}
