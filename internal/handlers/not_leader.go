package handlers

// Requests that only a partition's leader serves (Produce, Fetch,
// ListOffsets, OffsetForLeaderEpoch) answer NOT_LEADER_OR_FOLLOWER on any
// other broker, including one that holds no replica of the partition, as
// Kafka does; Produce v10 adds the current leader and its endpoint
// (KIP-951) so the client need not refresh its metadata first.

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
)

// partitionExists reports whether the image has topic/index.
func partitionExists(img *metadata.Image, topic string, index int32) bool {
	t := img.Topic(topic)
	return t != nil && index >= 0 && int(index) < len(t.Partitions)
}

// replicaOrNotLeader returns this broker's replica of topic/index, or the
// error to answer: UNKNOWN_TOPIC_OR_PARTITION for a partition the image
// does not have, NOT_LEADER_OR_FOLLOWER for one this broker holds no
// replica of.
func replicaOrNotLeader(env *Env, img *metadata.Image, topic string, index int32) (*partition.Partition, error) {
	if !partitionExists(img, topic, index) {
		return nil, metadata.ErrUnknownTopic
	}
	if p := env.Parts.Get(topic, index); p != nil {
		return p, nil
	}
	return nil, partition.ErrNotLeader
}

// produceLeaderHint fills a v10 Produce answer's current leader of
// topic/index and adds the leader's endpoint to resp.Brokers once.
func produceLeaderHint(img *metadata.Image, topic string, index int32, sp *kmsg.ProduceResponseTopicPartition, resp *kmsg.ProduceResponse) {
	if resp.Version < 10 || !partitionExists(img, topic, index) {
		return
	}
	pm := img.Topic(topic).Partitions[index]
	sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = pm.Leader, pm.LeaderEpoch
	b, ok := img.Brokers[pm.Leader]
	if !ok || b.Fenced {
		return
	}
	for _, have := range resp.Brokers {
		if have.NodeID == b.NodeID {
			return
		}
	}
	nb := kmsg.NewProduceResponseBroker()
	nb.NodeID, nb.Host, nb.Port = b.NodeID, b.Host, b.Port
	if b.Rack != "" {
		rack := b.Rack
		nb.Rack = &rack
	}
	resp.Brokers = append(resp.Brokers, nb)
}
