package clienttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRetention checks that retention deletes whole old segments: by
// retention.bytes down to, never below, the limit (Kafka deletes a segment
// only if what stays still holds at least retention.bytes), and by
// retention.ms every segment whose newest record is older, the active one
// included (rolled first, as Kafka does). Consumers then read exactly the
// retained tail, and the end offset never moves.
func TestRetention(t *testing.T) {
	t.Parallel()
	const segmentBytes, retentionBytes = 16384, 40000
	addr := startBroker(t, map[string]string{
		"log.retention.check.interval.ms": "100",
		"log.segment.bytes":               fmt.Sprint(segmentBytes),
	})
	createTopic(t, addr, "by-bytes", 1, map[string]*string{"retention.bytes": kadm.StringPtr(fmt.Sprint(retentionBytes))})
	createTopic(t, addr, "by-time", 1, map[string]*string{"retention.ms": kadm.StringPtr("60000")})
	cl := newKgo(t, addr, kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.NoCompression()))

	old := time.UnixMilli(1_000_000_000_000) // 2001
	var acked []rec
	for i := range 20 { // 20 batches of 10 1-KB records: 200 KB, a dozen segments
		var batch, expired []*kgo.Record
		for j := range 10 {
			v := fmt.Sprintf("%03d-%x", i*10+j, incompressible(500))
			batch = append(batch, &kgo.Record{Topic: "by-bytes", Value: []byte(v)})
			expired = append(expired, &kgo.Record{Topic: "by-time", Value: []byte(v), Timestamp: old})
		}
		acked = append(acked, produceFranz(t, cl, batch...)...)
		produceFranz(t, cl, expired...)
	}

	// retained is the bytes of batches from the log start to the end, or
	// -1 if retention moved the start while it was reading.
	raw := newKgo(t, addr)
	retained := func() (size int, start, end int64) {
		start, end = startOffsets(t, addr, "by-bytes")[0], endOffsets(t, addr, "by-bytes")[0]
		for off := start; off < end; {
			fp := rawFetch(t, raw, "by-bytes", 0, off, 0)
			if errorsIs(kerr.ErrorForCode(fp.ErrorCode), kerr.OffsetOutOfRange) && fp.LogStartOffset > off {
				return -1, start, end
			}
			bs := batchesOf(t, fp.RecordBatches)
			if len(bs) == 0 {
				t.Fatalf("by-bytes: raw fetch at %d returned no batch (error code %d)", off, fp.ErrorCode)
			}
			for _, b := range bs {
				size += 12 + int(b.Length)
				off = b.FirstOffset + int64(b.NumRecords)
			}
		}
		return size, start, end
	}
	limit := retentionBytes + segmentBytes + 12_000 // plus a segment, and a batch of slack
	waitFor(t, fmt.Sprintf("retention.bytes to cut by-bytes below %d bytes", limit), func() bool {
		size, _, _ := retained()
		return size >= 0 && size < limit
	})
	size, start, end := retained()
	for size < 0 { // moved again just now; it cannot go below the limit
		size, start, end = retained()
	}
	if size < retentionBytes {
		t.Errorf("by-bytes: %d bytes retained in [%d, %d), want at least retention.bytes %d", size, start, end, retentionBytes)
	}
	if end != 200 {
		t.Fatalf("by-bytes: end offset %d after retention, want 200 (retention never moves the end)", end)
	}
	got := consumeFranz(t, addr, "by-bytes", 0, kgo.NewOffset().AtStart(), int(end-start))
	requireRecs(t, "by-bytes: records retained", got, acked[start:])

	// Every by-time record is 25 years old: the whole log goes.
	waitFor(t, "retention.ms to delete all of by-time", func() bool {
		return startOffsets(t, addr, "by-time")[0] == 200
	})
	if e := endOffsets(t, addr, "by-time")[0]; e != 200 {
		t.Errorf("by-time: end offset %d after retention, want 200", e)
	}
}
