package storage

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

func TestOffsetForTimestamp(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 1000, IndexIntervalBytes: 150})
	// Batch i: 4 records at offsets 4i..4i+3, timestamps 1000+100i+10j.
	for i := 0; i < 40; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 4, valueSize: 30, ts: 1000 + int64(i)*100, tsStep: 10}))
	}
	if len(l.segments()) < 4 {
		t.Fatalf("%d segments", len(l.segments()))
	}
	tests := []struct {
		ts       int64
		wantOff  int64
		wantTs   int64
		notFound bool
	}{
		{0, 0, 1000, false},
		{1000, 0, 1000, false},
		{1001, 1, 1010, false},
		{1030, 3, 1030, false},
		{1031, 4, 1100, false}, // next batch
		{1500, 20, 1500, false},
		{1515, 22, 1520, false},
		{4930, 159, 4930, false}, // last record
		{4931, 0, 0, true},
	}
	for _, tc := range tests {
		off, ts, found, err := l.OffsetForTimestamp(tc.ts)
		if err != nil {
			t.Fatal(err)
		}
		if tc.notFound {
			if found {
				t.Errorf("ts %d: found %d", tc.ts, off)
			}
			continue
		}
		if !found || off != tc.wantOff || ts != tc.wantTs {
			t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d", tc.ts, off, ts, found, tc.wantOff, tc.wantTs)
		}
	}
	// The log start offset bounds the answer.
	l.SetHighWatermark(l.LogEndOffset())
	if err := l.DeleteRecordsBefore(50); err != nil {
		t.Fatal(err)
	}
	if off, _, _, _ := l.OffsetForTimestamp(0); off != 50 {
		t.Errorf("after DeleteRecords: %d", off)
	}
}

func TestMaxTimestamp(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 600})
	if off, ts, err := l.MaxTimestamp(); err != nil || off != -1 || ts != -1 {
		t.Fatalf("empty: %d %d %v", off, ts, err)
	}
	// Out of order timestamps; the max (9000) is record 2 of batch 5.
	for i := 0; i < 12; i++ {
		spec := batchSpec{n: 3, valueSize: 40, ts: 1000 + int64(i)}
		if i == 5 {
			spec.ts, spec.tsStep = 8000, 500
		}
		mustAppend(t, l, makeBatch(spec))
	}
	off, ts, err := l.MaxTimestamp()
	if err != nil || off != 17 || ts != 9000 {
		t.Fatalf("MaxTimestamp = %d %d %v", off, ts, err)
	}
	// In the active segment too.
	mustAppend(t, l, makeBatch(batchSpec{n: 2, ts: 9999}))
	if off, ts, _ := l.MaxTimestamp(); off != 36 || ts != 9999 {
		t.Fatalf("MaxTimestamp = %d %d", off, ts)
	}
}

// TestOffsetForTimestampUndecodableBatch: a batch whose CRC is right but
// whose records cannot be decoded (it claims gzip but is not) is answered
// at batch granularity instead of failing the lookup.
func TestOffsetForTimestampUndecodableBatch(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{})
	mustAppend(t, l, makeBatch(batchSpec{n: 2, ts: 1000}))
	bad := makeBatch(batchSpec{n: 3, ts: 5000})
	binary.BigEndian.PutUint16(bad[21:], binary.BigEndian.Uint16(bad[21:])|record.CodecGzip)
	binary.BigEndian.PutUint32(bad[17:], crc32.Checksum(bad[21:], crc32.MakeTable(crc32.Castagnoli)))
	mustAppend(t, l, bad)

	off, ts, found, err := l.OffsetForTimestamp(4000)
	if err != nil || !found || off != 2 || ts < 4000 {
		t.Fatalf("got offset %d ts %d found %v err %v; want the undecodable batch's first offset 2", off, ts, found, err)
	}
	if _, _, found, err := l.OffsetForTimestamp(1 << 50); found || err != nil {
		t.Fatalf("a timestamp past every batch: found %v err %v", found, err)
	}
}
