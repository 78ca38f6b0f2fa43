package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOffsetForLeaderEpoch asks for the end offset of the partition's
// current leader epoch (what a consumer does to detect log truncation,
// KIP-320): on a single broker it is the log end offset.
func TestOffsetForLeaderEpoch(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "epoch-ends"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)
	produceFranz(t, cl, keyed(topic, "e", 7)...)
	md, err := newAdmin(t, addr).Metadata(testCtx(t), topic)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	epoch := md.Topics[topic].Partitions[0].LeaderEpoch

	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition = 0
	rp.CurrentLeaderEpoch = epoch
	rp.LeaderEpoch = epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("OffsetForLeaderEpoch: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("OffsetForLeaderEpoch: want 1 topic with 1 partition, got %+v", resp.Topics)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil || p.LeaderEpoch != epoch || p.EndOffset != 7 {
		t.Fatalf("OffsetForLeaderEpoch(epoch %d): error %v, epoch %d, end offset %d; want no error, epoch %d, end offset 7", epoch, err, p.LeaderEpoch, p.EndOffset, epoch)
	}
}
