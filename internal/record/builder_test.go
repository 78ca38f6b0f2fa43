package record

// Cross-checks with franz-go's kmsg, an independent implementation of the
// batch layout: what Build writes kmsg must read (CRC included), and what
// kmsg writes we must read. Compression on the kmsg side is done with the
// codec libraries directly, not with our Compress.

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var kafkaCRC = crc32.MakeTable(crc32.Castagnoli)

// libDecompress decompresses with the libraries, without our code.
func libDecompress(t *testing.T, codec int, b []byte) []byte {
	t.Helper()
	var out []byte
	var err error
	switch codec {
	case CodecNone:
		return b
	case CodecGzip:
		r, gerr := gzip.NewReader(bytes.NewReader(b))
		if gerr != nil {
			t.Fatal(gerr)
		}
		out, err = readAll(r)
	case CodecSnappy:
		out, err = xerial.Decode(b) // also takes raw blocks
	case CodecLZ4:
		out, err = readAll(lz4.NewReader(bytes.NewReader(b)))
	case CodecZstd:
		d, derr := zstd.NewReader(nil)
		if derr != nil {
			t.Fatal(derr)
		}
		defer d.Close()
		out, err = d.DecodeAll(b, nil)
	}
	if err != nil {
		t.Fatalf("codec %d: %v", codec, err)
	}
	return out
}

// libCompress compresses with the libraries, the way franz-go and
// librdkafka do (raw snappy blocks).
func libCompress(t *testing.T, codec int, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch codec {
	case CodecNone:
		return b
	case CodecGzip:
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case CodecSnappy:
		return snappy.Encode(nil, b)
	case CodecLZ4:
		w := lz4.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case CodecZstd:
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.Close()
	}
	return buf.Bytes()
}

func TestBuildParsedByKmsg(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.name, func(t *testing.T) {
			spec := BatchSpec{
				BaseOffset: 1234, LeaderEpoch: 9, Codec: c.codec,
				Idempotent: true, ProducerID: 77, ProducerEpoch: 2, BaseSequence: 500,
				Records: sampleRecords(),
			}
			b := Build(spec)
			var kb kmsg.RecordBatch
			if err := kb.ReadFrom(b); err != nil {
				t.Fatalf("kmsg: %v", err)
			}
			if int(kb.Length)+LogOverhead != len(b) {
				t.Fatalf("kmsg length %d for %d bytes", kb.Length, len(b))
			}
			if got := crc32.Checksum(b[21:], kafkaCRC); uint32(kb.CRC) != got {
				t.Fatalf("CRC %#x, computed %#x", uint32(kb.CRC), got)
			}
			if kb.FirstOffset != 1234 || kb.PartitionLeaderEpoch != 9 || kb.Magic != 2 ||
				kb.Attributes&7 != int16(c.codec) || kb.LastOffsetDelta != int32(len(spec.Records)-1) ||
				kb.ProducerID != 77 || kb.ProducerEpoch != 2 || kb.FirstSequence != 500 ||
				kb.NumRecords != int32(len(spec.Records)) || kb.FirstTimestamp != spec.Records[0].Timestamp {
				t.Fatalf("kmsg header %+v", kb)
			}
			raw := libDecompress(t, c.codec, kb.Records)
			for i, want := range spec.Records {
				n, ln := binary.Varint(raw)
				if ln <= 0 || int(n)+ln > len(raw) {
					t.Fatalf("record %d: bad length prefix", i)
				}
				var kr kmsg.Record
				if err := kr.ReadFrom(raw[:ln+int(n)]); err != nil {
					t.Fatalf("record %d: kmsg: %v", i, err)
				}
				raw = raw[ln+int(n):]
				ts := kb.FirstTimestamp + kr.TimestampDelta64
				if kr.OffsetDelta != int32(i) || ts != recordTimestamp(&want, kb.FirstTimestamp) ||
					!sameBytes(kr.Key, want.Key) || !sameBytes(kr.Value, want.Value) || len(kr.Headers) != len(want.Headers) {
					t.Fatalf("record %d: kmsg read %+v", i, kr)
				}
				for j, h := range want.Headers {
					if kr.Headers[j].Key != h.Key || !sameBytes(kr.Headers[j].Value, h.Value) {
						t.Fatalf("record %d header %d: %+v", i, j, kr.Headers[j])
					}
				}
			}
			if len(raw) != 0 {
				t.Fatalf("%d bytes after the records", len(raw))
			}
		})
	}
}

// kmsgBatch builds a batch the way franz-go does, with kmsg and the codec
// libraries, computing length and CRC here.
func kmsgBatch(t *testing.T, codec int, recs []RecordSpec, base int64) []byte {
	t.Helper()
	var raw []byte
	maxTS := base
	for i, r := range recs {
		ts := recordTimestamp(&r, base)
		maxTS = max(maxTS, ts)
		kr := kmsg.Record{TimestampDelta64: ts - base, OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // the body after a 1-byte zero length
		raw = kr.AppendTo(raw)
	}
	kb := kmsg.RecordBatch{
		FirstOffset: 0, PartitionLeaderEpoch: -1, Magic: 2,
		Attributes: int16(codec), LastOffsetDelta: int32(len(recs) - 1),
		FirstTimestamp: base, MaxTimestamp: maxTS,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(recs)), Records: libCompress(t, codec, raw),
	}
	kb.Length = int32(49 + len(kb.Records))
	b := kb.AppendTo(nil)
	kb.CRC = int32(crc32.Checksum(b[21:], kafkaCRC))
	return kb.AppendTo(nil)
}

func TestKmsgBatchParsedByUs(t *testing.T) {
	recs := sampleRecords()
	for _, c := range allCodecs {
		t.Run(c.name, func(t *testing.T) {
			b := kmsgBatch(t, c.codec, recs, recs[0].Timestamp)
			h, err := Validate(b)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if h.Codec() != c.codec || h.RecordCount != int32(len(recs)) || h.ProducerID != -1 || h.LeaderEpoch != -1 {
				t.Fatalf("header %+v", h)
			}
			got, err := ReadRecords(b, 1<<24)
			if err != nil {
				t.Fatalf("ReadRecords: %v", err)
			}
			checkRecords(t, &h, got, recs)
			// Every batch of several concatenated is found by the iterator.
			all := append(append(bytes.Clone(b), Build(BatchSpec{BaseOffset: 6, Records: recs[:1]})...), b...)
			it := NewBatches(all)
			n := 0
			for _, raw, ok := it.Next(); ok; _, raw, ok = it.Next() {
				if _, err := Validate(raw); err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				n++
			}
			if it.Err() != nil || n != 3 || it.Pos() != len(all) {
				t.Fatalf("iterated %d batches to %d of %d: %v", n, it.Pos(), len(all), it.Err())
			}
		})
	}
}
