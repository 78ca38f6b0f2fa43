package clienttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFranzListOffsets checks ListOffsets for earliest (-2), latest (-1) and
// by timestamp, where Kafka answers the first offset whose timestamp is at
// or after the target, and offset -1 with timestamp -1 past the last record.
func TestFranzListOffsets(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "timed"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)

	t0 := int64(1_700_000_000_000)
	rs := make([]*kgo.Record, 10)
	for i := range rs {
		rs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i), Timestamp: time.UnixMilli(t0 + int64(i)*1000)}
	}
	// Records 0-4 go in one batch (the broker must look inside it), 5-9 in
	// a batch each (the broker must pick the right batch).
	produceFranz(t, cl, rs[:5]...)
	for _, r := range rs[5:] {
		produceFranz(t, cl, r)
	}

	for _, c := range []struct {
		name       string
		ts         int64
		wantOffset int64
		wantTS     int64
	}{
		{"earliest", -2, 0, -1},
		{"latest", -1, 10, -1},
		{"before all", t0 - 1, 0, t0},
		{"exact first", t0, 0, t0},
		{"between, in first batch", t0 + 2500, 3, t0 + 3000},
		{"exact, in first batch", t0 + 4000, 4, t0 + 4000},
		{"between batches", t0 + 4001, 5, t0 + 5000},
		{"exact last", t0 + 9000, 9, t0 + 9000},
		{"after all", t0 + 9001, -1, -1},
	} {
		off, ts := listOffset(t, cl, topic, 0, c.ts)
		if off != c.wantOffset || (c.wantTS != -1 && ts != c.wantTS) {
			t.Errorf("%s (timestamp %d): got offset %d timestamp %d, want offset %d timestamp %d", c.name, c.ts, off, ts, c.wantOffset, c.wantTS)
		}
	}

	// kadm wraps the same request; past the end it reports the end offset.
	adm := newAdmin(t, addr)
	l, err := adm.ListOffsetsAfterMilli(testCtx(t), t0+2500, topic)
	if err != nil {
		t.Fatalf("kadm ListOffsetsAfterMilli: %v", err)
	}
	if o, _ := l.Lookup(topic, 0); o.Err != nil || o.Offset != 3 {
		t.Errorf("kadm ListOffsetsAfterMilli(t0+2500) = %+v, want offset 3", o)
	}
	if s, e := startOffsets(t, addr, topic)[0], endOffsets(t, addr, topic)[0]; s != 0 || e != 10 {
		t.Errorf("kadm start/end = %d/%d, want 0/10", s, e)
	}
}

// listOffset sends one raw ListOffsets request and returns the partition's
// offset and timestamp, failing on any error code.
func listOffset(t *testing.T, cl *kgo.Client, topic string, partition int32, ts int64) (offset, timestamp int64) {
	t.Helper()
	p, err := listOffsetErr(t, cl, topic, partition, ts)
	if err != nil {
		t.Fatalf("list offsets %s/%d at %d: %v", topic, partition, ts, err)
	}
	return p.Offset, p.Timestamp
}

func listOffsetErr(t *testing.T, cl *kgo.Client, topic string, partition int32, ts int64) (kmsg.ListOffsetsResponseTopicPartition, error) {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = ts
	rp.CurrentLeaderEpoch = -1
	rp.MaxNumOffsets = 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("list offsets request: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("list offsets: want 1 topic with 1 partition, got %+v", resp.Topics)
	}
	p := resp.Topics[0].Partitions[0]
	if resp.Version == 0 && len(p.OldStyleOffsets) > 0 {
		p.Offset = p.OldStyleOffsets[0]
	}
	return p, kerr.ErrorForCode(p.ErrorCode)
}
