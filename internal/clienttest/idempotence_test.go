package clienttest

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIdempotentReplayAndGap sends hand-built idempotent batches: a replay
// of an acknowledged batch must be acknowledged again at its original offset
// without being stored twice, and a sequence gap must be refused with
// OUT_OF_ORDER_SEQUENCE_NUMBER. This is what lets an idempotent producer
// retry after a lost response without duplicating records.
func TestIdempotentReplayAndGap(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "idem"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)
	pid, epoch := initProducerID(t, cl)

	first := batchSpec{pid, epoch, 0, []string{"a", "b", "c"}}.encode()
	for try := range 2 {
		p := rawProduce(t, cl, topic, 0, first)
		if p.ErrorCode != 0 || p.BaseOffset != 0 {
			t.Fatalf("send %d of the first batch: error code %d base offset %d, want 0 and 0", try+1, p.ErrorCode, p.BaseOffset)
		}
	}
	if e := endOffsets(t, addr, topic)[0]; e != 3 {
		t.Fatalf("end offset after a replayed batch = %d, want 3 (stored once)", e)
	}

	p := rawProduce(t, cl, topic, 0, batchSpec{pid, epoch, 3, []string{"d", "e"}}.encode())
	if p.ErrorCode != 0 || p.BaseOffset != 3 {
		t.Fatalf("next batch (seq 3): error code %d base offset %d, want 0 and 3", p.ErrorCode, p.BaseOffset)
	}

	p = rawProduce(t, cl, topic, 0, batchSpec{pid, epoch, 10, []string{"gap"}}.encode())
	requireKerr(t, "batch with sequence 10 after 5", kerr.ErrorForCode(p.ErrorCode), kerr.OutOfOrderSequenceNumber)

	want := []rec{{0, 0, "", "a"}, {0, 1, "", "b"}, {0, 2, "", "c"}, {0, 3, "", "d"}, {0, 4, "", "e"}}
	requireRecs(t, "consumed", consumeFranz(t, addr, topic, 0, kgo.NewOffset().AtStart(), 5), want)
	if e := endOffsets(t, addr, topic)[0]; e != 5 {
		t.Fatalf("end offset = %d, want 5", e)
	}

	for _, b := range batchesOf(t, rawFetch(t, cl, topic, 0, 0, 0).RecordBatches) {
		if b.ProducerID != pid || b.ProducerEpoch != epoch {
			t.Errorf("stored batch at %d: producer %d epoch %d, want %d and %d", b.FirstOffset, b.ProducerID, b.ProducerEpoch, pid, epoch)
		}
	}
}

// TestFranzIdempotentProducer runs franz-go's default producer (idempotent,
// acks=all, several requests in flight) over three partitions and checks
// that every batch it stored carries its producer ID and that nothing is
// lost or duplicated.
func TestFranzIdempotentProducer(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "idem-franz"
	createTopic(t, addr, topic, 3, nil)
	cl := newKgo(t, addr, kgo.ProducerLinger(0))

	var rs []*kgo.Record
	for i := range 300 {
		rs = append(rs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%17), Value: fmt.Appendf(nil, "v%d", i)})
	}
	acked := byPartition(produceFranz(t, cl, rs...))
	pid := rs[0].ProducerID
	if pid < 0 {
		t.Fatalf("record produced by the default (idempotent) producer has producer ID %d", pid)
	}
	raw := newKgo(t, addr)
	for p, want := range acked {
		requireRecs(t, fmt.Sprintf("partition %d", p), consumeFranz(t, addr, topic, p, kgo.NewOffset().AtStart(), len(want)), want)
		for _, b := range batchesOf(t, rawFetch(t, raw, topic, p, 0, 0).RecordBatches) {
			if b.ProducerID != pid {
				t.Errorf("partition %d batch at %d: producer ID %d, want %d", p, b.FirstOffset, b.ProducerID, pid)
			}
		}
	}
}
