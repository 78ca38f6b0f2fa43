package clienttest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchBatchBoundaries checks what a Fetch returns around batches, which
// the broker serves as stored and never splits: a fetch from the middle of
// a batch starts with that whole batch, and a first batch larger than the
// partition's max bytes is still returned whole (KIP-74), so a consumer can
// always make progress.
func TestFetchBatchBoundaries(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "batches"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr, kgo.DisableIdempotentWrite())

	// Batch one: offsets 0-4, ~5 KB. Batch two: offsets 5-6.
	var first []*kgo.Record
	for i := range 5 {
		first = append(first, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("%d-%s", i, strings.Repeat("b", 1000)))})
	}
	produceFranz(t, cl, first...)
	produceFranz(t, cl, &kgo.Record{Topic: topic, Value: []byte("5")}, &kgo.Record{Topic: topic, Value: []byte("6")})

	req := fetchRequest(topic, topicID(t, cl, topic), 0, 2, 0)
	fp, err := doFetch(testCtx(t), cl, req)
	if err != nil || fp.ErrorCode != 0 {
		t.Fatalf("fetch at 2: %v, error code %d", err, fp.ErrorCode)
	}
	bs := batchesOf(t, fp.RecordBatches)
	if len(bs) != 2 || bs[0].FirstOffset != 0 || bs[0].NumRecords != 5 || bs[1].FirstOffset != 5 || bs[1].NumRecords != 2 {
		t.Fatalf("fetch at 2 (inside batch 0-4): got batches %s, want [0+5 5+2]", batchSummary(bs))
	}

	// Partition max bytes far below the first batch's size.
	req = fetchRequest(topic, topicID(t, cl, topic), 0, 0, 0)
	req.Topics[0].Partitions[0].PartitionMaxBytes = 100
	req.MaxBytes = 100
	fp, err = doFetch(testCtx(t), cl, req)
	if err != nil || fp.ErrorCode != 0 {
		t.Fatalf("fetch with max bytes 100: %v, error code %d", err, fp.ErrorCode)
	}
	bs = batchesOf(t, fp.RecordBatches)
	if len(bs) != 1 || bs[0].FirstOffset != 0 || bs[0].NumRecords != 5 {
		t.Fatalf("fetch with max bytes 100: got batches %s (%d bytes), want exactly the whole first batch [0+5]", batchSummary(bs), len(fp.RecordBatches))
	}
	if fp.HighWatermark != 7 || fp.LastStableOffset != 7 {
		t.Errorf("fetch: high watermark %d, last stable offset %d; want 7 and 7 (no transactions)", fp.HighWatermark, fp.LastStableOffset)
	}
}

// TestFetchLeaderEpochChecks sends fetches naming a current leader epoch
// (KIP-320), as every modern consumer does: the partition's own epoch is
// served, a newer one is UNKNOWN_LEADER_EPOCH (the broker is behind).
func TestFetchLeaderEpochChecks(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "epochs"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)
	produceFranz(t, cl, &kgo.Record{Topic: topic, Value: []byte("x")})
	adm := newAdmin(t, addr)
	md, err := adm.Metadata(testCtx(t), topic)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	epoch := md.Topics[topic].Partitions[0].LeaderEpoch
	if epoch < 0 {
		t.Fatalf("metadata reports leader epoch %d, want >= 0", epoch)
	}

	for _, c := range []struct {
		epoch int32
		want  *kerr.Error // nil: served
	}{
		{epoch, nil},
		{-1, nil}, // -1: the client does not know; no check
		{epoch + 1, kerr.UnknownLeaderEpoch},
	} {
		req := fetchRequest(topic, topicID(t, cl, topic), 0, 0, 0)
		req.Topics[0].Partitions[0].CurrentLeaderEpoch = c.epoch
		fp, err := doFetch(testCtx(t), cl, req)
		if err != nil {
			t.Fatalf("fetch with current leader epoch %d: %v", c.epoch, err)
		}
		got := kerr.ErrorForCode(fp.ErrorCode)
		if c.want == nil && got != nil {
			t.Errorf("fetch with current leader epoch %d (partition's is %d): %v, want it served", c.epoch, epoch, got)
		}
		if c.want != nil && !errorsIs(got, c.want) {
			t.Errorf("fetch with current leader epoch %d (partition's is %d): %v, want %s", c.epoch, epoch, got, c.want.Message)
		}
	}
}

func batchSummary(bs []kmsg.RecordBatch) string {
	var parts []string
	for _, b := range bs {
		parts = append(parts, fmt.Sprintf("%d+%d", b.FirstOffset, b.NumRecords))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
