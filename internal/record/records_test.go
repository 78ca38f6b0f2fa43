package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"
)

// sampleRecords covers the shapes a record can take: null and empty keys
// and values, headers with null values, timestamps before the base, large
// values.
func sampleRecords() []RecordSpec {
	return []RecordSpec{
		{Key: []byte("k1"), Value: []byte("v1"), Timestamp: 1_700_000_000_000},
		{Key: nil, Value: []byte("null key"), Timestamp: 1_700_000_000_005},
		{Key: []byte{}, Value: []byte{}, Timestamp: 1_699_999_999_000}, // before the base
		{Key: []byte("tombstone"), Value: nil},                         // timestamp 0: the base
		{Value: []byte("headers"), Headers: []RecordHeader{
			{Key: "a", Value: []byte("1")},
			{Key: "", Value: nil},
			{Key: "trace-id", Value: []byte{}},
		}, Timestamp: 1_700_000_000_001},
		{Key: bytes.Repeat([]byte("K"), 300), Value: randomBytes(9, 70000), Timestamp: 1_700_000_000_100},
	}
}

func TestBuildReadRoundTrip(t *testing.T) {
	specs := []struct {
		name string
		spec BatchSpec
	}{
		{"one record", BatchSpec{Records: []RecordSpec{{Value: []byte("x")}}}},
		{"many records", BatchSpec{BaseOffset: 42, Records: sampleRecords()}},
		{"idempotent", BatchSpec{Idempotent: true, ProducerID: 0, ProducerEpoch: 0, BaseSequence: 0, Records: sampleRecords()[:2]}},
		{"explicit base timestamp", BatchSpec{BaseTimestamp: 1_600_000_000_000, Records: sampleRecords()[:3]}},
		{"transactional", BatchSpec{Attributes: AttrTransactional, ProducerID: 7, ProducerEpoch: 3, BaseSequence: 10, Records: sampleRecords()[:1]}},
		{"log append time", BatchSpec{Attributes: AttrLogAppendTime, MaxTimestamp: 1_800_000_000_000, Records: sampleRecords()}},
		{"1000 small records", BatchSpec{Records: func() []RecordSpec {
			r := make([]RecordSpec, 1000)
			for i := range r {
				r[i] = RecordSpec{Value: []byte{byte(i)}, Timestamp: int64(1000 + i)}
			}
			return r
		}()}},
	}
	for _, c := range allCodecs {
		for _, s := range specs {
			t.Run(c.name+"/"+s.name, func(t *testing.T) {
				spec := s.spec
				spec.Codec = c.codec
				b := Build(spec)
				h, err := Validate(b)
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				checkHeader(t, &h, &spec)
				recs, err := ReadRecords(b, 1<<24)
				if err != nil {
					t.Fatalf("ReadRecords: %v", err)
				}
				checkRecords(t, &h, recs, spec.Records)

				var deltas []int32
				var stamps []int64
				err = ForEachRecordTimestamp(b, func(d int32, ts int64) bool {
					deltas = append(deltas, d)
					stamps = append(stamps, ts)
					return true
				})
				if err != nil {
					t.Fatalf("ForEachRecordTimestamp: %v", err)
				}
				for i := range spec.Records {
					want := recordTimestamp(&spec.Records[i], h.BaseTimestamp)
					if spec.Attributes&AttrLogAppendTime != 0 {
						want = spec.MaxTimestamp
					}
					if deltas[i] != int32(i) || stamps[i] != want {
						t.Fatalf("record %d: delta %d ts %d, want %d %d", i, deltas[i], stamps[i], i, want)
					}
				}
				if len(deltas) != len(spec.Records) {
					t.Fatalf("visited %d records, want %d", len(deltas), len(spec.Records))
				}
			})
		}
	}
}

func checkHeader(t *testing.T, h *Header, spec *BatchSpec) {
	t.Helper()
	n := len(spec.Records)
	if h.BaseOffset != spec.BaseOffset || h.Codec() != spec.Codec || h.RecordCount != int32(n) || h.LastOffsetDelta != int32(n-1) {
		t.Fatalf("header %+v does not match spec (codec %d, %d records)", h, spec.Codec, n)
	}
	wantPID, wantEpoch, wantSeq := int64(-1), int16(-1), int32(-1)
	if spec.Idempotent || spec.Attributes&AttrTransactional != 0 {
		wantPID, wantEpoch, wantSeq = spec.ProducerID, spec.ProducerEpoch, spec.BaseSequence
	}
	if h.ProducerID != wantPID || h.ProducerEpoch != wantEpoch || h.BaseSequence != wantSeq {
		t.Fatalf("producer %d/%d/%d, want %d/%d/%d", h.ProducerID, h.ProducerEpoch, h.BaseSequence, wantPID, wantEpoch, wantSeq)
	}
	if h.Attributes&^AttrCompressionMask != spec.Attributes {
		t.Fatalf("attributes %#x, want %#x", h.Attributes, spec.Attributes)
	}
	wantBase := spec.BaseTimestamp
	if wantBase == 0 {
		wantBase = spec.Records[0].Timestamp
	}
	if h.BaseTimestamp != wantBase {
		t.Fatalf("base timestamp %d, want %d", h.BaseTimestamp, wantBase)
	}
	wantMax := spec.MaxTimestamp
	if wantMax == 0 {
		wantMax = -1
		for i := range spec.Records {
			wantMax = max(wantMax, recordTimestamp(&spec.Records[i], wantBase))
		}
	}
	if h.MaxTimestamp != wantMax {
		t.Fatalf("max timestamp %d, want %d", h.MaxTimestamp, wantMax)
	}
}

func checkRecords(t *testing.T, h *Header, got []Record, want []RecordSpec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := &got[i], &want[i]
		if g.OffsetDelta != int32(i) {
			t.Fatalf("record %d: offset delta %d", i, g.OffsetDelta)
		}
		if ts := h.BaseTimestamp + g.TimestampDelta; ts != recordTimestamp(w, h.BaseTimestamp) {
			t.Fatalf("record %d: timestamp %d, want %d", i, ts, recordTimestamp(w, h.BaseTimestamp))
		}
		if !sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) {
			t.Fatalf("record %d: key/value %q/%.20q, want %q/%.20q", i, g.Key, g.Value, w.Key, w.Value)
		}
		if len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(g.Headers), len(w.Headers))
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !sameBytes(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("record %d header %d: %+v, want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

// sameBytes is bytes.Equal that also tells null from empty.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

func TestBuildEmpty(t *testing.T) {
	b := Build(BatchSpec{BaseOffset: 5})
	h, err := Validate(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.RecordCount != 0 || h.MaxTimestamp != -1 {
		t.Fatalf("empty batch header %+v", h)
	}
	recs, err := ReadRecords(b, 0)
	if err != nil || len(recs) != 0 {
		t.Fatalf("ReadRecords = %v, %v", recs, err)
	}
}

func TestForEachRecordTimestampStops(t *testing.T) {
	b := Build(BatchSpec{Codec: CodecLZ4, Records: sampleRecords()})
	calls := 0
	err := ForEachRecordTimestamp(b, func(int32, int64) bool {
		calls++
		return calls < 2
	})
	if err != nil || calls != 2 {
		t.Fatalf("calls = %d, err = %v; want 2, nil", calls, err)
	}
}

// rawBatch wraps encoded records in a valid batch header claiming count
// records, with a correct length and CRC, so that decoding gets as far as
// the records.
func rawBatch(records []byte, count int32, codec int) []byte {
	b := Build(BatchSpec{})
	b = append(b[:HeaderSize], records...)
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(codec))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(count))
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(max(count-1, 0)))
	fixBatch(b)
	return b
}

// fixBatch rewrites the length and CRC of b to match its bytes.
func fixBatch(b []byte) {
	binary.BigEndian.PutUint32(b[offBatchLength:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// rec encodes a record body with the given fields as raw bytes, prefixed by
// its true length.
func rec(body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(binary.AppendVarint(nil, int64(len(b))), b...)
}

func vi(v int64) []byte { return binary.AppendVarint(nil, v) }

func TestReadRecordsMalformed(t *testing.T) {
	attr := []byte{0}
	good := rec(attr, vi(0), vi(0), vi(1), []byte("k"), vi(1), []byte("v"), vi(0))
	tests := []struct {
		name    string
		records []byte
		count   int32
	}{
		{"count larger than records", good, 2},
		{"count smaller than records", append(bytes.Clone(good), good...), 1},
		{"huge count, no records", nil, 1 << 30},
		{"negative record length", append(vi(-1), good[1:]...), 1},
		{"record length past the end", append(vi(100), good[1:]...), 1},
		{"empty record", vi(0), 1},
		{"truncated varint", []byte{0x80}, 1},
		{"varint over 5 bytes", append([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, good[1:]...), 1},
		{"varint out of int32 range", rec(attr, vi(0), vi(1<<40), vi(-1), vi(-1), vi(0)), 1},
		{"key length past the record", rec(attr, vi(0), vi(0), vi(50), []byte("k"), vi(-1), vi(0)), 1},
		{"key length below -1", rec(attr, vi(0), vi(0), vi(-2), vi(-1), vi(0)), 1},
		{"value length below -1", rec(attr, vi(0), vi(0), vi(-1), vi(-5), vi(0)), 1},
		{"missing header count", rec(attr, vi(0), vi(0), vi(-1), vi(-1)), 1},
		{"negative header count", rec(attr, vi(0), vi(0), vi(-1), vi(-1), vi(-1)), 1},
		{"header count past the record", rec(attr, vi(0), vi(0), vi(-1), vi(-1), vi(1<<20)), 1},
		{"null header key", rec(attr, vi(0), vi(0), vi(-1), vi(-1), vi(1), vi(-1), vi(-1)), 1},
		{"bytes left inside a record", rec(attr, vi(0), vi(0), vi(-1), vi(-1), vi(0), []byte("xx")), 1},
	}
	for _, tt := range tests {
		for _, c := range allCodecs {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				comp, _ := Compress(nil, tt.records, c.codec)
				b := rawBatch(comp, tt.count, c.codec)
				if _, err := ReadRecords(b, 1<<20); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("ReadRecords err = %v, want ErrCorrupt", err)
				}
			})
		}
	}
}

func TestForEachRecordTimestampMalformed(t *testing.T) {
	tests := []struct {
		name    string
		records []byte
		count   int32
	}{
		{"count larger than records", rec([]byte{0}, vi(0), vi(0), vi(-1), vi(-1), vi(0)), 2},
		{"record too short for its prefix", rec([]byte{0}, vi(0)), 1},
		{"trailing bytes", append(rec([]byte{0}, vi(0), vi(0), vi(-1), vi(-1), vi(0)), 1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := rawBatch(tt.records, tt.count, CodecNone)
			err := ForEachRecordTimestamp(b, func(int32, int64) bool { return true })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestReadRecordsBatchErrors(t *testing.T) {
	b := Build(BatchSpec{Codec: CodecGzip, Records: sampleRecords()})
	badCRC := bytes.Clone(b)
	badCRC[len(badCRC)-1] ^= 1
	v1 := bytes.Clone(b)
	v1[offMagic] = 1
	bomb := rawBatch(mustCompress(t, make([]byte, 8<<20), CodecZstd), 1, CodecZstd)
	tests := []struct {
		name  string
		batch []byte
		want  error
	}{
		{"bad CRC", badCRC, ErrCorrupt},
		{"truncated", b[:len(b)-1], ErrCorrupt},
		{"trailing byte", append(bytes.Clone(b), 0), ErrCorrupt},
		{"magic 1", v1, ErrUnsupportedMagic},
		{"too large", bomb, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadRecords(tt.batch, 1<<20); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if err := ForEachRecordTimestamp(b[:len(b)-1], func(int32, int64) bool { return true }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ForEachRecordTimestamp of a truncated batch: %v", err)
	}
}

func mustCompress(t *testing.T, b []byte, codec int) []byte {
	t.Helper()
	out, err := Compress(nil, b, codec)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordsAliasing: keys and values must not run into each other when a
// caller appends to one.
func TestRecordsAliasing(t *testing.T) {
	b := Build(BatchSpec{Records: []RecordSpec{{Key: []byte("ab"), Value: []byte("cd")}}})
	recs, err := ReadRecords(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(recs[0].Key, 'X')
	if !reflect.DeepEqual(recs[0].Value, []byte("cd")) {
		t.Fatalf("appending to the key changed the value: %q", recs[0].Value)
	}
}
