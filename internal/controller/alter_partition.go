package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// AlterPartition validates a partition leader's ISR change (Kafka's
// AlterPartition, KIP-497, with KIP-841's eligibility rule) and returns
// its records and the answer, which carries the partition's state after
// the change, or its current state with the error:
//
//   - STALE_BROKER_EPOCH: the leader is not registered with this epoch
//     (BrokerEpoch -1 skips the check, as Kafka's AlterPartition v0-v2);
//   - UNKNOWN_TOPIC_OR_PARTITION: no such topic id or partition;
//   - FENCED_LEADER_EPOCH: the request's leader epoch is not the current
//     one (the leader has not seen the latest leader change);
//   - INVALID_REQUEST: the sender does not lead the partition, or the new
//     ISR is empty, repeats a broker, names a non-replica or leaves the
//     leader out;
//   - INVALID_UPDATE_VERSION: the partition epoch is not the current one
//     (another change got in first: the leader waits for it and retries);
//   - INELIGIBLE_REPLICA: a broker added to the ISR is fenced or unknown.
//
// An accepted change may complete a reassignment (its adding replicas
// are now all in the ISR), unless the completion would take the
// leadership from the sender: then only the ISR changes, and the
// controller completes the reassignment in a change of its own
// (Reconcile), after the sender has its answer.
//
// NB: Kafka completes it here and answers FENCED_LEADER_EPOCH, relying on
// the leader to keep counting the replica it proposed in its high
// watermark until the new state reaches it. A leader that takes an error
// to mean "nothing changed" and forgets that replica would acknowledge
// records the new leader — that very replica — may lack. Answering with
// the ISR it asked for leaves no such window: until the leader learns it
// no longer leads, its high watermark waits for every ISR member.
func AlterPartition(img *metadata.Image, bc config.Broker, req metadata.AlterPartitionRequest) ([]metadata.Record, metadata.AlterPartitionResponse) {
	if req.BrokerEpoch != -1 {
		if br, ok := img.Brokers[req.NodeID]; !ok || br.Epoch != req.BrokerEpoch {
			return nil, metadata.AlterPartitionResponse{ErrorCode: kerr.StaleBrokerEpoch.Code}
		}
	}
	t := img.TopicByID(req.TopicID)
	if t == nil || req.Partition < 0 || int(req.Partition) >= len(t.Partitions) {
		return nil, metadata.AlterPartitionResponse{ErrorCode: kerr.UnknownTopicOrPartition.Code}
	}
	cur := t.Partitions[req.Partition]
	fail := func(e *kerr.Error) ([]metadata.Record, metadata.AlterPartitionResponse) {
		return nil, metadata.AlterPartitionResponse{ErrorCode: e.Code, State: cur}
	}
	switch {
	case req.LeaderEpoch != cur.LeaderEpoch:
		return fail(kerr.FencedLeaderEpoch)
	case req.NodeID != cur.Leader:
		return fail(kerr.InvalidRequest)
	case req.PartitionEpoch != cur.PartitionEpoch:
		return fail(kerr.InvalidUpdateVersion)
	case !validISR(req.NewISR, cur):
		return fail(kerr.InvalidRequest)
	}
	for _, r := range req.NewISR {
		if slices.Contains(cur.ISR, r) {
			continue
		}
		if br, ok := img.Brokers[r]; !ok || br.Fenced {
			return fail(kerr.IneligibleReplica)
		}
	}
	b := newBatch(img)
	c := b.newChange(t, int(req.Partition), uncleanFor(bc, t))
	c.isr = slices.Clone(req.NewISR)
	c.keepLeader = true
	b.change(t, int(req.Partition), c)
	return b.records(), metadata.AlterPartitionResponse{State: b.state(t, int(req.Partition))}
}

// validISR: non-empty, no repeats, replicas only, the leader included.
func validISR(isr []int32, p metadata.Partition) bool {
	if len(isr) == 0 || !slices.Contains(isr, p.Leader) {
		return false
	}
	for i, r := range isr {
		if !slices.Contains(p.Replicas, r) || slices.Contains(isr[:i], r) {
			return false
		}
	}
	return true
}
