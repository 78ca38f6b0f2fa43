package handlers

// DescribeGroups (key 15), v0–v6: classic groups' state, protocol and
// members (metadata and assignments while Stable). An unknown group is
// Dead without error before v6, GROUP_ID_NOT_FOUND with a message from v6,
// as in Kafka. With no authorizer every group operation is authorized.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 15, MinVersion: 0, MaxVersion: 6, Handle: describeGroups})
}

func describeGroups(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DescribeGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range r.Groups {
		resp.Groups = append(resp.Groups, env.Groups.DescribeGroup(req.Version, id, r.IncludeAuthorizedOperations))
	}
	return resp, nil
}
