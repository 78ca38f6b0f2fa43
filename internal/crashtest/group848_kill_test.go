package crashtest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestConsumerGroup848SurvivesKill runs a KIP-848 member that commits its
// offsets (OffsetCommit v9, member epoch) over and over while the broker
// is killed with SIGKILL. After the restart the group is back from
// __consumer_offsets: the member continues with its epoch and partitions
// (no rejoin), and every acknowledged commit is there.
func TestConsumerGroup848SurvivesKill(t *testing.T) {
	rng := seeded(t)
	b := newBroker(t,
		"--override", "group.consumer.heartbeat.interval.ms=200",
		"--override", "group.consumer.min.heartbeat.interval.ms=100",
		"--override", "group.consumer.session.timeout.ms=10000",
		"--override", "group.consumer.min.session.timeout.ms=1000",
	)
	b.start()
	const topic, group, partitions = "k848", "k848-group", 3
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := kadm.NewClient(cl).CreateTopic(waitCtx(t, 30*time.Second), partitions, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	join := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	join.Group, join.MemberID, join.RebalanceTimeoutMillis = group, "member-1", 10000
	join.SubscribedTopicNames = []string{topic}
	join.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	var jr *kmsg.ConsumerGroupHeartbeatResponse
	for deadline := time.Now().Add(30 * time.Second); ; {
		jr, err = join.RequestWith(waitCtx(t, 30*time.Second), cl)
		if err != nil || jr.ErrorCode != kerr.CoordinatorLoadInProgress.Code || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // __consumer_offsets still loading
	}
	if err != nil || jr.ErrorCode != 0 || jr.Assignment == nil {
		t.Fatalf("join: %v %+v", err, jr)
	}
	epoch := jr.MemberEpoch
	cl.Close()

	lo, hi := killWhileCommitting(t, b, int64(10+rng.IntN(200)), math.MaxInt64, func(ctx context.Context, cl *kgo.Client, n int64) error {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 9
		req.Group, req.MemberID, req.Generation = group, "member-1", epoch
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		for p := range int32(partitions) {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset = p, n
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
		}
		return err
	})

	b.start()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The member heartbeats on at its epoch, owning what it owned.
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Group, hb.MemberID, hb.MemberEpoch = group, "member-1", epoch
	for _, at := range jr.Assignment.Topics {
		hb.Topics = append(hb.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: at.TopicID, Partitions: at.Partitions})
	}
	var hr *kmsg.ConsumerGroupHeartbeatResponse
	for deadline := time.Now().Add(30 * time.Second); ; {
		hr, err = hb.RequestWith(waitCtx(t, 30*time.Second), cl)
		if err == nil && hr.ErrorCode == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // loading: COORDINATOR_LOAD_IN_PROGRESS
	}
	if err != nil || hr.ErrorCode != 0 || hr.MemberEpoch != epoch {
		t.Fatalf("heartbeat after the restart: %v %+v", err, hr)
	}
	got, err := kadm.NewClient(cl).FetchOffsets(waitCtx(t, 30*time.Second), group)
	if err == nil {
		err = got.Error()
	}
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	for p := range int32(partitions) {
		o, ok := got.Lookup(topic, p)
		if !ok || o.At < lo || o.At > hi {
			t.Errorf("partition %d: committed %v, want between %d and %d", p, o.At, lo, hi)
		}
	}
	b.requireNoPanic()
}
