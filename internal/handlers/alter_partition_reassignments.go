package handlers

// AlterPartitionReassignments (key 45), v0–v1 (KIP-455; v1 adds
// AllowReplicationFactorChange, KIP-860). Forwarded to the active
// controller, which starts, replaces or (null replicas) cancels each
// partition's reassignment; controller/reassign.go has the state machine.
// The response comes once the change is in the metadata log: a
// reassignment is then running, not finished (ListPartitionReassignments
// shows it until the new replicas are in the ISR). Without
// AllowReplicationFactorChange, a target whose length differs from the
// partition's replication factor is refused with INVALID_REPLICATION_FACTOR
// here, before forwarding, as Kafka does.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 45, MinVersion: 0, MaxVersion: 1, Handle: alterPartitionReassignments})
}

func alterPartitionReassignments(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.AlterPartitionAssignmentsRequest)
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.AllowReplicationFactorChange = r.AllowReplicationFactorChange
	img := env.Meta.Image()
	var creq metadata.ReassignRequest
	// forwarded[i] is where the result of creq.Entries[i] goes.
	var forwarded []*kmsg.AlterPartitionAssignmentsResponseTopicPartition
	resp.Topics = make([]kmsg.AlterPartitionAssignmentsResponseTopic, len(r.Topics))
	for ti, rt := range r.Topics {
		st := &resp.Topics[ti]
		*st = kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.AlterPartitionAssignmentsResponseTopicPartition, len(rt.Partitions))
		for pi, rp := range rt.Partitions {
			sp := &st.Partitions[pi]
			*sp = kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			if req.Version >= 1 && !r.AllowReplicationFactorChange && rp.Replicas != nil {
				if rf, ok := replicationFactor(img, rt.Topic, rp.Partition); ok && rf != len(rp.Replicas) {
					sp.ErrorCode = kerr.InvalidReplicationFactor.Code
					sp.ErrorMessage = errorMessage(fmt.Errorf("the target has %d replicas, the partition %d, and the request does not allow changing the replication factor", len(rp.Replicas), rf))
					continue
				}
			}
			creq.Entries = append(creq.Entries, metadata.ReassignEntry{
				PartitionRef: metadata.PartitionRef{Topic: rt.Topic, Partition: rp.Partition},
				Replicas:     rp.Replicas,
			})
			forwarded = append(forwarded, sp)
		}
	}
	if len(creq.Entries) == 0 {
		return resp, nil
	}
	cctx, cancel := withAdminTimeout(ctx, r.TimeoutMillis)
	defer cancel()
	cresp, err := env.Controller.Reassign(cctx, creq)
	if err == nil && len(cresp.Results) != len(creq.Entries) {
		err = fmt.Errorf("the controller answered %d of %d partitions", len(cresp.Results), len(creq.Entries))
	}
	for i, sp := range forwarded {
		if err != nil {
			sp.ErrorCode = controllerCallCode(err)
			sp.ErrorMessage = errorMessage(err)
			continue
		}
		res := cresp.Results[i]
		sp.ErrorCode = res.ErrorCode
		if res.Message != "" {
			sp.ErrorMessage = &res.Message
		}
	}
	if err == nil {
		env.Logger.Info("partition reassignments altered", "partitions", len(creq.Entries))
	}
	return resp, nil
}

// replicationFactor is a partition's replica count without the replicas a
// running reassignment is adding.
func replicationFactor(img *metadata.Image, topic string, p int32) (int, bool) {
	t := img.Topic(topic)
	if t == nil || p < 0 || int(p) >= len(t.Partitions) {
		return 0, false
	}
	part := t.Partitions[p]
	return len(part.Replicas) - len(part.AddingReplicas), true
}
