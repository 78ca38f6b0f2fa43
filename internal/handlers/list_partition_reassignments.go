package handlers

// ListPartitionReassignments (key 46), v0 (KIP-455). The partitions being
// reassigned, with their replicas and the ones being added and removed,
// from this broker's metadata image: all of them when no topics are
// named, else the named partitions that are being reassigned (unknown
// topics and partitions are left out, as Kafka's controller does).
//
// NB: Kafka forwards this to the controller; the local image may trail
// the controller's by the time a change takes to reach this broker.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/controller"
	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 46, MinVersion: 0, MaxVersion: 0, Handle: listPartitionReassignments})
}

func listPartitionReassignments(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ListPartitionReassignmentsRequest)
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	img := env.Meta.Image()
	list := func(t *metadata.Topic, parts []int32) {
		st := kmsg.NewListPartitionReassignmentsResponseTopic()
		st.Topic = t.Name
		for _, p := range parts {
			if p < 0 || int(p) >= len(t.Partitions) || !controller.Reassigning(t.Partitions[p]) {
				continue
			}
			part := t.Partitions[p]
			sp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			sp.Partition = p
			sp.Replicas = part.Replicas
			sp.AddingReplicas = nonNil(part.AddingReplicas)
			sp.RemovingReplicas = nonNil(part.RemovingReplicas)
			st.Partitions = append(st.Partitions, sp)
		}
		if len(st.Partitions) > 0 {
			resp.Topics = append(resp.Topics, st)
		}
	}
	if r.Topics == nil {
		for _, name := range img.TopicNames() {
			t := img.Topic(name)
			all := make([]int32, len(t.Partitions))
			for i := range all {
				all[i] = int32(i)
			}
			list(t, all)
		}
		return resp, nil
	}
	for _, rt := range r.Topics {
		if t := img.Topic(rt.Topic); t != nil {
			list(t, slices.Compact(slices.Sorted(slices.Values(rt.Partitions))))
		}
	}
	return resp, nil
}

// nonNil returns s, or an empty slice for nil: the wire's arrays are not
// nullable here.
func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
