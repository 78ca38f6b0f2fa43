package group

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

// benchGroup is a settled group of members on 10 topics of partitions/10
// partitions each, driven without the test harness's checks.
type benchGroup struct {
	g      *ConsumerGroup
	img    *metadata.Image
	topics []string
	now    time.Time
	epochs map[string]int32
	owned  map[string]TopicPartitions
}

func newBenchGroup(b *testing.B, members, partitions int) *benchGroup {
	bg := &benchGroup{g: NewConsumerGroup("bench", DefaultConsumerConfig()), now: time.Unix(1, 0),
		img: &metadata.Image{Offset: 1, Topics: map[string]*metadata.Topic{}}, epochs: map[string]int32{}, owned: map[string]TopicPartitions{}}
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("topic-%d", i)
		bg.topics = append(bg.topics, name)
		bg.img.Topics[name] = &metadata.Topic{Name: name, ID: topicID(name), Partitions: make([]metadata.Partition, partitions/10)}
	}
	for i := 0; i < members; i++ {
		bg.beat(b, fmt.Sprintf("member-%05d", i))
	}
	bg.settle(b)
	return bg
}

func (bg *benchGroup) beat(b *testing.B, id string) {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group = "bench"
	req.MemberID = id
	req.MemberEpoch = bg.epochs[id]
	req.RebalanceTimeoutMillis = 30000
	req.SubscribedTopicNames = bg.topics
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if req.MemberEpoch != 0 {
		for tid, ps := range bg.owned[id] {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: tid, Partitions: ps})
		}
	}
	resp, _ := bg.g.Heartbeat(HeartbeatInput{Req: req, Version: 1, Now: bg.now, Image: bg.img})
	if resp.ErrorCode != 0 {
		b.Fatalf("%s: error %d", id, resp.ErrorCode)
	}
	bg.epochs[id] = resp.MemberEpoch
	if resp.Assignment != nil {
		o := TopicPartitions{}
		for _, t := range resp.Assignment.Topics {
			o[t.TopicID] = slices.Clone(t.Partitions)
		}
		bg.owned[id] = o
	}
}

// settle heartbeats every member until the group is stable and returns
// the number of heartbeat rounds it took.
func (bg *benchGroup) settle(b *testing.B) int {
	ids := sortedMemberIDs(bg.g)
	for round := 1; round <= 20; round++ {
		for _, id := range ids {
			bg.beat(b, id)
		}
		if bg.g.State() == ConsumerStateStable {
			return round
		}
	}
	b.Fatalf("no stable group after 20 rounds: %s", bg.g.State())
	return 0
}

// BenchmarkConsumerHeartbeat is one steady-state heartbeat (the member
// reports what it owns, nothing changes) in a large group.
func BenchmarkConsumerHeartbeat(b *testing.B) {
	for _, size := range []struct{ members, partitions int }{{10, 100}, {1000, 10000}} {
		b.Run(fmt.Sprintf("%dx%d", size.members, size.partitions), func(b *testing.B) {
			bg := newBenchGroup(b, size.members, size.partitions)
			ids := sortedMemberIDs(bg.g)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bg.beat(b, ids[i%len(ids)])
			}
		})
	}
}

// BenchmarkConsumerRebalance is a member joining a settled group and
// every member heartbeating until the group is stable again (the
// coordinator's whole share of a rebalance, without the network).
func BenchmarkConsumerRebalance(b *testing.B) {
	for _, size := range []struct{ members, partitions int }{{10, 100}, {1000, 10000}} {
		b.Run(fmt.Sprintf("%dx%d", size.members, size.partitions), func(b *testing.B) {
			bg := newBenchGroup(b, size.members-1, size.partitions)
			rounds := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := fmt.Sprintf("joiner-%d", i)
				bg.beat(b, id)
				rounds += bg.settle(b)
				b.StopTimer()
				req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
				req.Group, req.MemberID, req.MemberEpoch = "bench", id, -1
				bg.g.Heartbeat(HeartbeatInput{Req: req, Version: 1, Now: bg.now, Image: bg.img})
				delete(bg.owned, id)
				delete(bg.epochs, id)
				bg.settle(b)
				b.StartTimer()
			}
			b.ReportMetric(float64(rounds)/float64(b.N), "rounds")
		})
	}
}
