package record

import (
	"bytes"
	"fmt"
	"testing"
)

// TestRebuildBatchKeepsSubset rebuilds batches of every codec from some of
// their records, with and without a delete horizon, and checks the result
// decodes to exactly the kept records with their offsets and timestamps.
func TestRebuildBatchKeepsSubset(t *testing.T) {
	for _, codec := range []int{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		for _, horizon := range []int64{-1, 5_000_000} {
			t.Run(fmt.Sprintf("codec%d/horizon%d", codec, horizon), func(t *testing.T) {
				spec := BatchSpec{BaseOffset: 100, Codec: codec, Idempotent: true, ProducerID: 7, ProducerEpoch: 1, BaseSequence: 40}
				for i := range 6 {
					r := RecordSpec{Key: []byte{'k', byte('0' + i%3)}, Value: []byte(fmt.Sprintf("v%d", i)), Timestamp: 1000 + int64(i)*10}
					if i == 4 {
						r.Value = nil
					}
					if i == 5 {
						r.Headers = []RecordHeader{{Key: "h", Value: []byte("x")}}
					}
					spec.Records = append(spec.Records, r)
				}
				orig := Build(spec)
				h, err := Validate(orig)
				if err != nil {
					t.Fatal(err)
				}
				data, err := RecordsData(nil, orig, &h, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				keep := map[int32]bool{1: true, 4: true, 5: true}
				it := NewRecordIter(data, h.RecordCount)
				var v RecordView
				var out []byte
				base := h.BaseTimestamp
				attrs := h.Attributes
				if horizon >= 0 {
					base = horizon
					attrs |= AttrDeleteHorizon
				}
				n := int32(0)
				maxTs := int64(-1)
				for it.Next(&v) {
					if (v.NullValue) != (v.OffsetDelta == 4) {
						t.Fatalf("record %d null value %v", v.OffsetDelta, v.NullValue)
					}
					if !keep[v.OffsetDelta] {
						continue
					}
					ts := h.BaseTimestamp + v.TimestampDelta
					maxTs = max(maxTs, ts)
					out = AppendRecord(out, &v, ts-base)
					n++
				}
				if it.Err() != nil {
					t.Fatal(it.Err())
				}
				nb, err := RebuildBatch(nil, orig, RebuildSpec{Attributes: attrs, BaseTimestamp: base, MaxTimestamp: maxTs, RecordCount: n}, out)
				if err != nil {
					t.Fatal(err)
				}
				nh, err := Validate(nb)
				if err != nil {
					t.Fatal(err)
				}
				if nh.BaseOffset != 100 || nh.LastOffsetDelta != 5 || nh.RecordCount != 3 || nh.ProducerID != 7 ||
					nh.BaseSequence != 40 || nh.Codec() != codec || nh.HasDeleteHorizon() != (horizon >= 0) || nh.MaxTimestamp != 1050 {
					t.Fatalf("header %+v", nh)
				}
				recs, err := ReadRecords(nb, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				want := []int32{1, 4, 5}
				for i, r := range recs {
					o := want[i]
					if r.OffsetDelta != o || nh.BaseTimestamp+r.TimestampDelta != 1000+int64(o)*10 ||
						!bytes.Equal(r.Key, spec.Records[o].Key) || !bytes.Equal(r.Value, spec.Records[o].Value) || (r.Value == nil) != (o == 4) {
						t.Fatalf("record %d: %+v", i, r)
					}
				}
				if len(recs) != 3 || len(recs[2].Headers) != 1 {
					t.Fatalf("records %+v", recs)
				}
			})
		}
	}
}

// TestRebuildEmptyBatch: a batch all of whose records go keeps its offsets
// and producer fields, with no records and no compression.
func TestRebuildEmptyBatch(t *testing.T) {
	orig := Build(BatchSpec{BaseOffset: 9, Codec: CodecZstd, Idempotent: true, ProducerID: 3, BaseSequence: 5,
		Records: []RecordSpec{{Key: []byte("a"), Value: []byte("b")}, {Key: []byte("a"), Value: []byte("c")}}})
	h, _ := ParseHeader(orig)
	nb, err := RebuildBatch(nil, orig, RebuildSpec{Attributes: h.Attributes, BaseTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nh, err := Validate(nb)
	if err != nil {
		t.Fatal(err)
	}
	if nh.RecordCount != 0 || nh.LastOffset() != 10 || nh.Codec() != CodecNone || nh.LastSequence() != 6 || len(nb) != HeaderSize {
		t.Fatalf("%+v (%d bytes)", nh, len(nb))
	}
}

// TestRecordIterRejectsBadFraming: lying counts and lengths are errors.
func TestRecordIterRejectsBadFraming(t *testing.T) {
	b := Build(BatchSpec{Records: []RecordSpec{{Key: []byte("k"), Value: []byte("v")}}})
	h, _ := ParseHeader(b)
	data := b[HeaderSize:]
	for _, tc := range []struct {
		name  string
		data  []byte
		count int32
	}{
		{"count too high", data, 2},
		{"count too low", data, 0},
		{"cut", data[:len(data)-1], 1},
	} {
		it := NewRecordIter(tc.data, tc.count)
		var v RecordView
		for it.Next(&v) {
		}
		if it.Err() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	it := NewRecordIter(data, h.RecordCount)
	var v RecordView
	if !it.Next(&v) || string(v.Key) != "k" || v.NullValue || it.Next(&v) || it.Err() != nil {
		t.Fatalf("good batch: %+v %v", v, it.Err())
	}
}

func BenchmarkRecordIter(b *testing.B) {
	spec := BatchSpec{}
	for i := range 100 {
		spec.Records = append(spec.Records, RecordSpec{Key: []byte(fmt.Sprintf("key-%d", i)), Value: make([]byte, 100)})
	}
	batch := Build(spec)
	h, _ := ParseHeader(batch)
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		data, _ := RecordsData(nil, batch, &h, 1<<20)
		it := NewRecordIter(data, h.RecordCount)
		var v RecordView
		for it.Next(&v) {
		}
	}
}
