package clienttest

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzCompression produces a batch with each codec and reads it back.
// It also fetches the raw batches, which the broker must store and serve
// exactly as produced (DESIGN §4): still compressed, with the same codec.
func TestFranzCompression(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	franzCodec := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "franz-" + c.name
			createTopic(t, addr, topic, 1, nil)
			cl := newKgo(t, addr, kgo.ProducerBatchCompression(franzCodec[c.name]))
			rs := make([]*kgo.Record, 20)
			want := make([]rec, 20)
			for i := range rs {
				rs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i), Value: bigValue(i)}
				want[i] = rec{0, int64(i), fmt.Sprintf("k%d", i), string(bigValue(i))}
			}
			requireRecs(t, "acknowledged", produceFranz(t, cl, rs...), want)
			requireBatchCodec(t, addr, topic, 0, 20, c.bits)
			requireRecs(t, "consumed", consumeFranz(t, addr, topic, 0, kgo.NewOffset().AtStart(), 20), want)
		})
	}
}

// requireBatchCodec fetches topic/partition raw from offset 0 and fails
// unless the batches hold exactly n records, all in batches whose codec bits
// are want, and, when compressed, are smaller than their records would be
// uncompressed (the test values repeat, so every codec shrinks them).
func requireBatchCodec(t *testing.T, addr, topic string, partition int32, n int, want int16) {
	t.Helper()
	cl := newKgo(t, addr)
	var records int
	for records < n {
		fp := rawFetch(t, cl, topic, partition, int64(records), 0)
		if fp.ErrorCode != 0 {
			t.Fatalf("raw fetch %s/%d@%d: error code %d", topic, partition, records, fp.ErrorCode)
		}
		bs := batchesOf(t, fp.RecordBatches)
		if len(bs) == 0 {
			t.Fatalf("raw fetch %s/%d@%d: no complete batch; have %d of %d records", topic, partition, records, records, n)
		}
		for _, b := range bs {
			if b.Magic != 2 {
				t.Fatalf("batch at %d: magic %d, want 2", b.FirstOffset, b.Magic)
			}
			if got := b.Attributes & 0x7; got != want {
				t.Fatalf("batch at %d: codec bits %d, want %d", b.FirstOffset, got, want)
			}
			if want != 0 && len(b.Records) >= int(b.NumRecords)*500 {
				t.Fatalf("batch at %d: %d bytes of records for %d records; not compressed", b.FirstOffset, len(b.Records), b.NumRecords)
			}
			if b.FirstOffset != int64(records) {
				t.Fatalf("batch base offset %d, want %d (dense)", b.FirstOffset, records)
			}
			records += int(b.NumRecords)
		}
	}
	if records != n {
		t.Fatalf("%s/%d: %d records in batches, want %d", topic, partition, records, n)
	}
}
