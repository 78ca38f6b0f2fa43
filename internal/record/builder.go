package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// BatchSpec describes a v2 batch for Build. The zero value plus some
// Records is a plain non-idempotent, uncompressed CreateTime batch at
// offset 0.
type BatchSpec struct {
	BaseOffset int64
	// LeaderEpoch is the partition leader epoch. Producers send -1 and the
	// partition leader stamps its own; 0 is as good as any in tests.
	LeaderEpoch int32
	// Codec is the compression codec (CodecNone..CodecZstd).
	Codec int
	// Attributes are further attribute bits: AttrTransactional,
	// AttrControl, AttrLogAppendTime. Their compression bits are used only
	// when Codec is CodecNone.
	Attributes int16

	// BaseTimestamp (ms) is the batch's base timestamp. If zero, the first
	// record's timestamp is used, as Kafka producers do.
	BaseTimestamp int64
	// MaxTimestamp, if non-zero, is written instead of the largest record
	// timestamp: the append time of a LogAppendTime batch.
	MaxTimestamp int64

	// Idempotent says ProducerID, ProducerEpoch and BaseSequence hold a
	// producer's identity. Without it (and without AttrTransactional) they
	// are ignored and written as -1, Kafka's "no producer".
	//
	// NB: a flag rather than "-1 by default", which Go's zero values cannot
	// express: producer id 0, epoch 0, sequence 0 is a real producer's first
	// batch.
	Idempotent    bool
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32

	Records []RecordSpec
}

// RecordSpec is one record for Build. Its offset delta is its index in
// BatchSpec.Records. (Compaction, which keeps records' own offset deltas,
// rebuilds batches with RebuildBatch instead.)
type RecordSpec struct {
	Key     []byte // nil for a null key
	Value   []byte // nil for a null value (a tombstone)
	Headers []RecordHeader
	// Timestamp (ms) is the record's timestamp; 0 means the batch's base
	// timestamp.
	Timestamp int64
}

// Build encodes b as one complete v2 batch, CRC included, compressing the
// records with b.Codec.
//
// Build panics if the codec is not one Kafka defines: specs are written by
// programs, not received from clients.
func Build(b BatchSpec) []byte {
	codec := b.Codec
	if codec == CodecNone {
		codec = int(b.Attributes & AttrCompressionMask)
	}
	attrs := b.Attributes&^AttrCompressionMask | int16(codec)

	base := b.BaseTimestamp
	if base == 0 && len(b.Records) > 0 {
		base = b.Records[0].Timestamp
	}
	maxTS := int64(-1) // Kafka's "no timestamp", for an empty batch
	for i := range b.Records {
		maxTS = max(maxTS, recordTimestamp(&b.Records[i], base))
	}
	if b.MaxTimestamp != 0 {
		maxTS = b.MaxTimestamp
	}

	pid, epoch, seq := int64(NoProducerID), int16(-1), int32(-1)
	if b.Idempotent || attrs&AttrTransactional != 0 {
		pid, epoch, seq = b.ProducerID, b.ProducerEpoch, b.BaseSequence
	}

	out := make([]byte, HeaderSize, HeaderSize+64*len(b.Records))
	binary.BigEndian.PutUint64(out[offBaseOffset:], uint64(b.BaseOffset))
	binary.BigEndian.PutUint32(out[offLeaderEpoch:], uint32(b.LeaderEpoch))
	out[offMagic] = 2
	binary.BigEndian.PutUint16(out[offAttributes:], uint16(attrs))
	binary.BigEndian.PutUint32(out[offLastOffsetDelta:], uint32(max(len(b.Records)-1, 0)))
	binary.BigEndian.PutUint64(out[offBaseTimestamp:], uint64(base))
	binary.BigEndian.PutUint64(out[offMaxTimestamp:], uint64(maxTS))
	binary.BigEndian.PutUint64(out[offProducerID:], uint64(pid))
	binary.BigEndian.PutUint16(out[offProducerEpoch:], uint16(epoch))
	binary.BigEndian.PutUint32(out[offBaseSequence:], uint32(seq))
	binary.BigEndian.PutUint32(out[offRecordCount:], uint32(len(b.Records)))

	if codec == CodecNone {
		out = appendRecords(out, b.Records, base)
	} else {
		var err error
		if out, err = Compress(out, appendRecords(nil, b.Records, base), codec); err != nil {
			panic(fmt.Sprintf("record.Build: %v", err))
		}
	}

	binary.BigEndian.PutUint32(out[offBatchLength:], uint32(len(out)-LogOverhead))
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], castagnoli))
	return out
}

func recordTimestamp(r *RecordSpec, base int64) int64 {
	if r.Timestamp == 0 {
		return base
	}
	return r.Timestamp
}

// appendRecords appends the encoding of recs (see records.go for the
// layout) to dst.
func appendRecords(dst []byte, recs []RecordSpec, base int64) []byte {
	var body []byte // one record's body, reused: its length prefixes it
	for i := range recs {
		r := &recs[i]
		body = append(body[:0], 0) // attributes
		body = binary.AppendVarint(body, recordTimestamp(r, base)-base)
		body = binary.AppendVarint(body, int64(i))
		body = appendVarBytes(body, r.Key)
		body = appendVarBytes(body, r.Value)
		body = binary.AppendVarint(body, int64(len(r.Headers)))
		for _, h := range r.Headers {
			body = binary.AppendVarint(body, int64(len(h.Key)))
			body = append(body, h.Key...)
			body = appendVarBytes(body, h.Value)
		}
		dst = binary.AppendVarint(dst, int64(len(body)))
		dst = append(dst, body...)
	}
	return dst
}

// appendVarBytes appends a varint length and b; nil is written as length -1.
func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	return append(binary.AppendVarint(dst, int64(len(b))), b...)
}
