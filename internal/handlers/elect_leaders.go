package handlers

// ElectLeaders (key 43), v0–v2 (KIP-183; v1's election type, KIP-460).
// Forwarded to the active controller (controller/elect.go): a preferred
// election moves each partition's leadership to its first replica when
// that one is alive and in the ISR; an unclean one gives a leaderless
// partition a leader, from outside the ISR if need be. No topics means
// every partition, and then partitions that need no election are left
// out of the answer, as in Kafka. An unknown election type is
// INVALID_REQUEST for the whole request.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 43, MinVersion: 0, MaxVersion: 2, Handle: electLeaders})
}

func electLeaders(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ElectLeadersRequest)
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	creq := metadata.ElectLeadersRequest{Type: metadata.ElectPreferred}
	if req.Version >= 1 {
		creq.Type = r.ElectionType
	}
	if creq.Type != metadata.ElectPreferred && creq.Type != metadata.ElectUnclean {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp, nil
	}
	if r.Topics != nil {
		creq.Partitions = []metadata.PartitionRef{}
		for _, rt := range r.Topics {
			for _, p := range rt.Partitions {
				creq.Partitions = append(creq.Partitions, metadata.PartitionRef{Topic: rt.Topic, Partition: p})
			}
		}
	}
	cctx, cancel := withAdminTimeout(ctx, r.TimeoutMillis)
	defer cancel()
	cresp, err := env.Controller.ElectLeaders(cctx, creq)
	if err == nil && creq.Partitions != nil && len(cresp.Results) != len(creq.Partitions) {
		err = fmt.Errorf("the controller answered %d of %d partitions", len(cresp.Results), len(creq.Partitions))
	}
	if err != nil {
		if creq.Partitions == nil {
			resp.ErrorCode = controllerCallCode(err) // v0 drops it: nothing else to say
			return resp, nil
		}
		cresp.Results = make([]metadata.PartitionResult, len(creq.Partitions))
		for i, ref := range creq.Partitions {
			cresp.Results[i] = metadata.PartitionResult{PartitionRef: ref, ErrorCode: controllerCallCode(err), Message: err.Error()}
		}
	}
	// One response topic per topic, in the order results come.
	index := map[string]int{}
	for _, res := range cresp.Results {
		i, ok := index[res.Topic]
		if !ok {
			i = len(resp.Topics)
			index[res.Topic] = i
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = res.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = res.Partition
		rp.ErrorCode = res.ErrorCode
		if res.Message != "" {
			msg := res.Message
			rp.ErrorMessage = &msg
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp, nil
}
