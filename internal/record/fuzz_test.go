package record

// Fuzz targets for every decoder of untrusted batch bytes. They must never
// panic, and memory stays bounded by the decompression limits. Run one with
//
//	go test -run='^$' -fuzz=FuzzReadRecords -fuzztime=60s ./internal/record/
//
// The seed corpus lives in testdata/fuzz/<target>/; crashers found there
// are kept as regression seeds.

import (
	"encoding/binary"
	"errors"
	"testing"
)

// fuzzLimit bounds decompression in the fuzz targets.
const fuzzLimit = 1 << 20

// seedBatches are valid batches of every codec and shape, added to the
// checked-in corpus.
func seedBatches() [][]byte {
	var seeds [][]byte
	for _, c := range allCodecs {
		seeds = append(seeds,
			Build(BatchSpec{Codec: c.codec, Records: sampleRecords()[:5]}),
			Build(BatchSpec{Codec: c.codec, Attributes: AttrLogAppendTime, MaxTimestamp: 99, Records: []RecordSpec{{Value: []byte("v")}}}),
		)
	}
	seeds = append(seeds, Build(BatchSpec{}))
	return seeds
}

func FuzzParseBatches(f *testing.F) {
	seeds := seedBatches()
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(append(append([]byte(nil), seeds[0]...), seeds[1][:30]...)) // torn tail
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseHeader(data); err == nil {
			_, _ = Validate(data)
		}
		it := NewBatches(data)
		prev := 0
		for {
			h, raw, ok := it.Next()
			if !ok {
				break
			}
			if len(raw) != h.Size() || it.Pos() != prev+len(raw) || it.Pos() > len(data) {
				t.Fatalf("batch of %d bytes, header size %d, pos %d -> %d of %d", len(raw), h.Size(), prev, it.Pos(), len(data))
			}
			prev = it.Pos()
			if _, err := Validate(raw); err == nil && !CRCValid(raw) {
				t.Fatal("Validate accepted a batch CRCValid rejects")
			}
			_, _ = ReadRecords(raw, fuzzLimit)
		}
		if it.Err() == nil && it.Pos() != len(data) {
			t.Fatalf("clean end at %d of %d bytes", it.Pos(), len(data))
		}
	})
}

func FuzzReadRecords(f *testing.F) {
	for _, s := range seedBatches() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// As given: almost always a bad CRC, except for the seeds.
		checkReadRecords(t, data)
		if len(data) < HeaderSize {
			return
		}
		// With a fixed-up length and CRC, under every codec bit pattern
		// (5..7 are undefined), so the fuzzer reaches the decompressors
		// and the record decoder.
		for codec := range 8 {
			b := append([]byte(nil), data...)
			attrs := binary.BigEndian.Uint16(b[offAttributes:])
			binary.BigEndian.PutUint16(b[offAttributes:], attrs&^AttrCompressionMask|uint16(codec))
			fixBatch(b)
			checkReadRecords(t, b)
		}
		// The records part compressed with each codec, so that malformed
		// records are also decoded behind every decompressor.
		for _, c := range allCodecs[1:] {
			comp, err := Compress(nil, data[HeaderSize:], c.codec)
			if err != nil {
				t.Fatal(err)
			}
			b := append(append([]byte(nil), data[:HeaderSize]...), comp...)
			attrs := binary.BigEndian.Uint16(b[offAttributes:])
			binary.BigEndian.PutUint16(b[offAttributes:], attrs&^AttrCompressionMask|uint16(c.codec))
			b[offMagic] = 2
			fixBatch(b)
			checkReadRecords(t, b)
		}
	})
}

// checkReadRecords decodes b both ways; whatever ReadRecords accepts must
// survive a rebuild unchanged, and ForEachRecordTimestamp must agree with it.
func checkReadRecords(t *testing.T, b []byte) {
	recs, err := ReadRecords(b, fuzzLimit)
	var deltas []int32
	ferr := ForEachRecordTimestamp(b, func(d int32, _ int64) bool {
		deltas = append(deltas, d)
		return true
	})
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedMagic) {
			t.Fatalf("ReadRecords: unexpected error kind: %v", err)
		}
		return
	}
	if ferr != nil {
		t.Fatalf("ReadRecords accepted what ForEachRecordTimestamp rejects: %v", ferr)
	}
	if len(deltas) != len(recs) {
		t.Fatalf("ForEachRecordTimestamp saw %d records, ReadRecords %d", len(deltas), len(recs))
	}
	h, _ := ParseHeader(b)
	specs := make([]RecordSpec, len(recs))
	for i, r := range recs {
		if deltas[i] != r.OffsetDelta {
			t.Fatalf("record %d: offset delta %d vs %d", i, deltas[i], r.OffsetDelta)
		}
		specs[i] = RecordSpec{Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: h.BaseTimestamp + r.TimestampDelta}
	}
	again, err := ReadRecords(Build(BatchSpec{BaseTimestamp: h.BaseTimestamp, Codec: h.Codec(), Records: specs}), 4*fuzzLimit)
	if err != nil {
		t.Fatalf("rebuilt batch does not read back: %v", err)
	}
	for i := range recs {
		r, a := &recs[i], &again[i]
		if !sameBytes(r.Key, a.Key) || !sameBytes(r.Value, a.Value) || len(r.Headers) != len(a.Headers) {
			t.Fatalf("record %d changed in a rebuild", i)
		}
		for j := range r.Headers {
			if r.Headers[j].Key != a.Headers[j].Key || !sameBytes(r.Headers[j].Value, a.Headers[j].Value) {
				t.Fatalf("record %d header %d changed in a rebuild", i, j)
			}
		}
	}
}

// FuzzRecordIter: the compaction path's record iterator never panics, and
// a batch rebuilt from every record it yields decodes to the same records.
func FuzzRecordIter(f *testing.F) {
	for _, s := range seedBatches() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Validate(data)
		if err != nil {
			return
		}
		recs, err := RecordsData(nil, data, &h, fuzzLimit)
		if err != nil {
			return
		}
		it := NewRecordIter(recs, h.RecordCount)
		var v RecordView
		var out []byte
		n := int32(0)
		for it.Next(&v) {
			out = AppendRecord(out, &v, v.TimestampDelta-1)
			n++
		}
		if it.Err() != nil {
			return
		}
		nb, err := RebuildBatch(nil, data, RebuildSpec{Attributes: h.Attributes, BaseTimestamp: h.BaseTimestamp + 1, MaxTimestamp: h.MaxTimestamp, RecordCount: n}, out)
		if err != nil {
			t.Fatal(err)
		}
		nh, err := Validate(nb)
		if err != nil {
			t.Fatalf("rebuilt batch invalid: %v", err)
		}
		nrecs, err := RecordsData(nil, nb, &nh, 4*fuzzLimit)
		if err != nil && n > 0 {
			t.Fatalf("rebuilt batch does not decompress: %v", err)
		}
		it2 := NewRecordIter(nrecs, n)
		var w RecordView
		m := int32(0)
		for it2.Next(&w) {
			m++
		}
		if it2.Err() != nil || m != n {
			t.Fatalf("rebuilt %d records, read back %d: %v", n, m, it2.Err())
		}
	})
}
