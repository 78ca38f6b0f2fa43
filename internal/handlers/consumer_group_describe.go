package handlers

// ConsumerGroupDescribe (key 69), v0–v1: KIP-848 consumer groups' epochs,
// assignor and members with their current and target assignments (v1 adds
// the member type, always "consumer" here). A group that does not exist
// or is not a consumer group is GROUP_ID_NOT_FOUND, as in Kafka. With no
// authorizer every group operation is authorized.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 69, MinVersion: 0, MaxVersion: 1, Enabled: consumerProtocolEnabled, Handle: consumerGroupDescribe})
}

func consumerGroupDescribe(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ConsumerGroupDescribeRequest)
	resp := r.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
	for _, id := range r.Groups {
		resp.Groups = append(resp.Groups, env.Groups.DescribeConsumerGroup(req.Version, id, r.IncludeAuthorizedOperations))
	}
	return resp, nil
}
