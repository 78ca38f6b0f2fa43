package controller

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// reassign.go: partition reassignment (KIP-455), Kafka's state machine.
//
//  1. Start: Replicas becomes the target followed by the current replicas
//     not in it; AddingReplicas = target − original replicas,
//     RemovingReplicas = current − target. The adding brokers open the
//     partition and fetch from the leader like any follower.
//  2. Wait until every adding replica is in the ISR (the leader adds it
//     with AlterPartition once it has caught up).
//  3. Complete, in the same change that satisfies step 2: Replicas becomes
//     the target, the removing replicas leave the ISR, and if the leader
//     was among them the first live target replica in the ISR leads.
//
// A reassignment that only reorders replicas or drops some that leave an
// ISR member completes at once. Cancelling restores the original replicas
// and drops the adding ones from the ISR; if no ISR member would remain
// that needs an unclean election and is refused unless allowed.

// Reassign applies AlterPartitionReassignments entries in order and
// returns the records and one result per entry.
func Reassign(img *metadata.Image, bc config.Broker, req metadata.ReassignRequest) ([]metadata.Record, metadata.ReassignResponse) {
	b := newBatch(img)
	var resp metadata.ReassignResponse
	for _, e := range req.Entries {
		res := metadata.PartitionResult{PartitionRef: e.PartitionRef}
		if err := b.reassign(bc, e); err != nil {
			res.ErrorCode, res.Message = err.code, err.msg
		}
		resp.Results = append(resp.Results, res)
	}
	return b.records(), resp
}

// codedError is a Kafka error code with its message.
type codedError struct {
	code int16
	msg  string
}

func errorf(e *kerr.Error, format string, args ...any) *codedError {
	return &codedError{code: e.Code, msg: fmt.Sprintf(format, args...)}
}

func (b *batch) reassign(bc config.Broker, e metadata.ReassignEntry) *codedError {
	t := b.img.Topic(e.Topic)
	if t == nil || e.Partition < 0 || int(e.Partition) >= len(t.Partitions) {
		return errorf(kerr.UnknownTopicOrPartition, "no partition %d of topic %q", e.Partition, e.Topic)
	}
	i := int(e.Partition)
	cur := b.partition(t, i)
	unclean := uncleanFor(bc, t)
	if e.Replicas == nil {
		if len(cur.AddingReplicas) == 0 && len(cur.RemovingReplicas) == 0 {
			return errorf(kerr.NoReassignmentInProgress, "partition %s-%d is not being reassigned", e.Topic, e.Partition)
		}
		c := b.newChange(t, i, unclean)
		c.replicas = without(cur.Replicas, cur.AddingReplicas)
		c.isr = without(cur.ISR, cur.AddingReplicas)
		c.adding, c.removing = nil, nil
		if len(c.isr) == 0 && (!unclean || !slices.ContainsFunc(c.replicas, b.live)) {
			return errorf(kerr.InvalidReplicaAssignment, "cancelling the reassignment of %s-%d would need an unclean leader election: no original replica is in the ISR", e.Topic, e.Partition)
		}
		b.change(t, i, c)
		return nil
	}
	if len(e.Replicas) == 0 {
		return errorf(kerr.InvalidReplicaAssignment, "the target replica list of %s-%d is empty", e.Topic, e.Partition)
	}
	for j, r := range e.Replicas {
		if _, ok := b.broker(r); !ok {
			return errorf(kerr.InvalidReplicaAssignment, "the target replicas of %s-%d name broker %d, which is not registered", e.Topic, e.Partition, r)
		}
		if slices.Contains(e.Replicas[:j], r) {
			return errorf(kerr.InvalidReplicaAssignment, "the target replicas of %s-%d name broker %d twice", e.Topic, e.Partition, r)
		}
	}
	original := without(cur.Replicas, cur.AddingReplicas)
	c := b.newChange(t, i, unclean)
	c.replicas = append(slices.Clone(e.Replicas), without(cur.Replicas, e.Replicas)...)
	c.adding = without(e.Replicas, original)
	c.removing = without(cur.Replicas, e.Replicas)
	b.change(t, i, c)
	return nil
}

// Reassigning reports whether a partition is being reassigned.
func Reassigning(p metadata.Partition) bool {
	return len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
}
