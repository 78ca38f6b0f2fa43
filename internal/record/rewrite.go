package record

// Reading records without allocating, and rebuilding a batch from a subset
// of its records: what log compaction needs. The cleaner keeps a batch's
// base offset and last offset delta (so the offsets of surviving records,
// and the producer's sequence range, stay what they were) and copies the
// encoding of every surviving record as it is, unless the batch gets a
// delete horizon (KIP-534), which moves the base timestamp and so every
// record's timestamp delta.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// AttrDeleteHorizon marks a batch whose base timestamp is its delete
// horizon (KIP-534): the time (ms) after which the log cleaner may remove
// its tombstones. Record timestamps are still base timestamp + delta.
const AttrDeleteHorizon = 0x40

// HasDeleteHorizon reports whether the batch carries a delete horizon.
func (h *Header) HasDeleteHorizon() bool { return h.Attributes&AttrDeleteHorizon != 0 }

// RecordsData returns the uncompressed encoding of batch's records: the
// bytes after the header for an uncompressed batch (aliasing batch), else
// the records decompressed into scratch (at most limit bytes). batch must
// be one whole batch whose header h was parsed from it.
func RecordsData(scratch []byte, batch []byte, h *Header, limit int) ([]byte, error) {
	if h.Size() > len(batch) || h.Size() < HeaderSize {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, ErrTruncated)
	}
	data := batch[HeaderSize:h.Size()]
	if h.Codec() == CodecNone {
		return data, nil
	}
	return Decompress(scratch[:0], data, h.Codec(), limit)
}

// RecordView is one record of a batch, aliasing the records' bytes.
type RecordView struct {
	// Raw is the record's whole encoding, its length prefix included.
	Raw            []byte
	Attributes     byte
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte // nil for a null key
	NullValue      bool   // the value is null: a tombstone
	// tail is the encoding from the key length on (key, value, headers).
	tail []byte
}

// RecordIter walks the records of a batch's uncompressed records data
// (see RecordsData) without allocating. It checks each record's framing
// and its key and value lengths, not the headers inside a record.
type RecordIter struct {
	r    recordReader
	left int32
	err  error
}

// NewRecordIter iterates over count records in data.
func NewRecordIter(data []byte, count int32) RecordIter {
	return RecordIter{r: recordReader{b: data}, left: count}
}

// Next decodes the next record into v; ok=false at the end or on error
// (see Err).
func (it *RecordIter) Next(v *RecordView) bool {
	if it.err != nil {
		return false
	}
	if it.left <= 0 {
		if len(it.r.b) != 0 {
			it.err = fmt.Errorf("%w: %d bytes after the batch's records", ErrCorrupt, len(it.r.b))
		}
		return false
	}
	it.left--
	start := it.r.b
	body, err := it.r.recordBody()
	if err != nil {
		it.err = err
		return false
	}
	v.Raw = start[:len(start)-len(it.r.b)]
	if len(body.b) < 1 {
		it.err = fmt.Errorf("%w: empty record", ErrCorrupt)
		return false
	}
	v.Attributes = body.b[0]
	if v.TimestampDelta, v.OffsetDelta, err = body.prefix(); err != nil {
		it.err = err
		return false
	}
	v.tail = body.b
	if v.Key, err = body.bytes(); err != nil {
		it.err = err
		return false
	}
	val, err := body.bytes()
	if err != nil {
		it.err = err
		return false
	}
	v.NullValue = val == nil
	return true
}

// Err is the error that stopped the iteration, nil at a clean end.
func (it *RecordIter) Err() error { return it.err }

// AppendRecord appends v's encoding to dst with its timestamp delta
// changed to tsDelta (for a batch whose base timestamp moved). Everything
// else is copied as it is.
func AppendRecord(dst []byte, v *RecordView, tsDelta int64) []byte {
	if tsDelta == v.TimestampDelta {
		return append(dst, v.Raw...)
	}
	var pre [1 + 2*binary.MaxVarintLen64]byte
	p := append(pre[:0], v.Attributes)
	p = binary.AppendVarint(p, tsDelta)
	p = binary.AppendVarint(p, int64(v.OffsetDelta))
	dst = binary.AppendVarint(dst, int64(len(p)+len(v.tail)))
	dst = append(dst, p...)
	return append(dst, v.tail...)
}

// RebuildSpec is what changes when a batch is rebuilt from some of its
// records; every other header field is the original's.
type RebuildSpec struct {
	Attributes    int16 // the original's, possibly with AttrDeleteHorizon set
	BaseTimestamp int64
	MaxTimestamp  int64
	RecordCount   int32
}

// RebuildBatch appends to dst a batch with orig's header fields (base
// offset, leader epoch, last offset delta, producer id, epoch and base
// sequence, codec) changed by s, holding records (the uncompressed
// encoding of s.RecordCount records), compressed with orig's codec and
// with its CRC computed. orig is the original batch (its header is read
// from it).
func RebuildBatch(dst []byte, orig []byte, s RebuildSpec, records []byte) ([]byte, error) {
	if len(orig) < HeaderSize {
		return dst, ErrTruncated
	}
	if s.RecordCount == 0 {
		// An empty batch is written uncompressed, as Kafka's cleaner
		// writes them: a zero-length records section.
		s.Attributes &^= AttrCompressionMask
	}
	start := len(dst)
	dst = append(dst, orig[:HeaderSize]...)
	hdr := dst[start:]
	binary.BigEndian.PutUint16(hdr[offAttributes:], uint16(s.Attributes))
	binary.BigEndian.PutUint64(hdr[offBaseTimestamp:], uint64(s.BaseTimestamp))
	binary.BigEndian.PutUint64(hdr[offMaxTimestamp:], uint64(s.MaxTimestamp))
	binary.BigEndian.PutUint32(hdr[offRecordCount:], uint32(s.RecordCount))
	codec := int(s.Attributes & AttrCompressionMask)
	if codec == CodecNone {
		dst = append(dst, records...)
	} else {
		var err error
		if dst, err = Compress(dst, records, codec); err != nil {
			return dst[:start], err
		}
	}
	hdr = dst[start:]
	binary.BigEndian.PutUint32(hdr[offBatchLength:], uint32(len(hdr)-LogOverhead))
	binary.BigEndian.PutUint32(hdr[offCRC:], crc32.Checksum(hdr[offAttributes:], castagnoli))
	return dst, nil
}
