package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Byte offsets of the fields of a v2 record batch header. The CRC covers
// everything from Attributes to the end of the batch, so the base offset and
// the partition leader epoch can be patched without recomputing it.
const (
	offBaseOffset      = 0
	offBatchLength     = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// HeaderSize is the size of a v2 batch header, records excluded.
	HeaderSize = 61
	// LogOverhead is the part of a batch not counted by its batch length
	// field: the base offset (8) and the length itself (4).
	LogOverhead = 12
)

// Attribute bits of a v2 batch.
const (
	AttrCompressionMask = 0x07
	AttrLogAppendTime   = 0x08
	AttrTransactional   = 0x10
	AttrControl         = 0x20
)

// Compression codecs as stored in the low attribute bits.
const (
	CodecNone   = 0
	CodecGzip   = 1
	CodecSnappy = 2
	CodecLZ4    = 3
	CodecZstd   = 4
)

// NoProducerID is the producer id of a batch from a non-idempotent producer.
const NoProducerID = -1

var (
	// ErrCorrupt means the bytes are not a valid batch: bad CRC, impossible
	// lengths, or fields that contradict each other.
	ErrCorrupt = errors.New("record: corrupt batch")
	// ErrUnsupportedMagic means the batch uses message format v0 or v1,
	// which Strata does not accept.
	ErrUnsupportedMagic = errors.New("record: unsupported message format (magic != 2)")
	// ErrTruncated means the buffer ends inside a batch.
	ErrTruncated = errors.New("record: truncated batch")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the decoded header of one v2 batch. It is a plain value: parsing
// one allocates nothing.
type Header struct {
	BaseOffset      int64
	BatchLength     int32 // bytes after the length field; total size is BatchLength+LogOverhead
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	RecordCount     int32
}

// Size is the batch's total size in bytes, header included.
func (h *Header) Size() int { return int(h.BatchLength) + LogOverhead }

// LastOffset is the offset of the batch's last record.
func (h *Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Codec is the compression codec of the batch's records.
func (h *Header) Codec() int { return int(h.Attributes & AttrCompressionMask) }

// IsTransactional reports whether the batch belongs to a transaction.
func (h *Header) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }

// IsControl reports whether the batch is a control batch (transaction markers).
func (h *Header) IsControl() bool { return h.Attributes&AttrControl != 0 }

// LastSequence is the sequence number of the batch's last record, wrapping
// at MaxInt32 as Kafka does.
func (h *Header) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return h.BaseSequence
	}
	s := int64(h.BaseSequence) + int64(h.LastOffsetDelta)
	if s > 0x7fffffff {
		s -= 0x80000000
	}
	return int32(s)
}

// ParseHeader decodes the header at the start of b. It checks only that the
// header is there and its lengths are sane, not the CRC (see Validate).
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < LogOverhead+5 { // enough to read the magic byte
		return h, ErrTruncated
	}
	h.BaseOffset = int64(binary.BigEndian.Uint64(b[offBaseOffset:]))
	h.BatchLength = int32(binary.BigEndian.Uint32(b[offBatchLength:]))
	h.LeaderEpoch = int32(binary.BigEndian.Uint32(b[offLeaderEpoch:]))
	h.Magic = int8(b[offMagic])
	if h.Magic != 2 {
		return h, ErrUnsupportedMagic
	}
	if h.BatchLength < HeaderSize-LogOverhead {
		return h, fmt.Errorf("%w: batch length %d below header size", ErrCorrupt, h.BatchLength)
	}
	if len(b) < HeaderSize {
		return h, ErrTruncated
	}
	h.CRC = binary.BigEndian.Uint32(b[offCRC:])
	h.Attributes = int16(binary.BigEndian.Uint16(b[offAttributes:]))
	h.LastOffsetDelta = int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:]))
	h.BaseTimestamp = int64(binary.BigEndian.Uint64(b[offBaseTimestamp:]))
	h.MaxTimestamp = int64(binary.BigEndian.Uint64(b[offMaxTimestamp:]))
	h.ProducerID = int64(binary.BigEndian.Uint64(b[offProducerID:]))
	h.ProducerEpoch = int16(binary.BigEndian.Uint16(b[offProducerEpoch:]))
	h.BaseSequence = int32(binary.BigEndian.Uint32(b[offBaseSequence:]))
	h.RecordCount = int32(binary.BigEndian.Uint32(b[offRecordCount:]))
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 {
		return h, fmt.Errorf("%w: negative last offset delta or record count", ErrCorrupt)
	}
	return h, nil
}

// Validate checks a whole batch: its header, that b holds exactly the batch,
// and its CRC-32C. b must be exactly one batch (b[:h.Size()]).
func Validate(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() != len(b) {
		if h.Size() > len(b) {
			return h, ErrTruncated
		}
		return h, fmt.Errorf("%w: batch length %d does not match %d bytes", ErrCorrupt, h.Size(), len(b))
	}
	if crc32.Checksum(b[offAttributes:], castagnoli) != h.CRC {
		return h, fmt.Errorf("%w: CRC mismatch", ErrCorrupt)
	}
	return h, nil
}

// CRCValid reports whether a complete batch's CRC-32C matches its contents.
func CRCValid(b []byte) bool {
	if len(b) < HeaderSize {
		return false
	}
	return crc32.Checksum(b[offAttributes:], castagnoli) == binary.BigEndian.Uint32(b[offCRC:])
}

// SetBaseOffset patches the base offset in place (not covered by the CRC).
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetLeaderEpoch patches the partition leader epoch in place (not covered by
// the CRC).
func SetLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch as LogAppendTime, sets its max timestamp
// to ts (ms) and recomputes the CRC, which covers both.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := binary.BigEndian.Uint16(b[offAttributes:]) | AttrLogAppendTime
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// Batches iterates over the complete batches in b, in order. It stops at
// the first error (a truncated tail yields ErrTruncated). It allocates
// nothing.
type Batches struct {
	buf []byte
	pos int
	err error
}

// NewBatches returns an iterator over the batches in b.
func NewBatches(b []byte) Batches { return Batches{buf: b} }

// Next returns the next batch's header and bytes, or ok=false at the end or
// on error (see Err).
func (it *Batches) Next() (h Header, raw []byte, ok bool) {
	if it.err != nil || it.pos >= len(it.buf) {
		return h, nil, false
	}
	rest := it.buf[it.pos:]
	h, err := ParseHeader(rest)
	if err != nil {
		it.err = err
		return h, nil, false
	}
	if h.Size() > len(rest) {
		it.err = ErrTruncated
		return h, nil, false
	}
	raw = rest[:h.Size()]
	it.pos += h.Size()
	return h, raw, true
}

// Err is the error that stopped iteration, nil at a clean end.
func (it *Batches) Err() error { return it.err }

// Pos is the number of bytes consumed by complete batches so far.
func (it *Batches) Pos() int { return it.pos }
