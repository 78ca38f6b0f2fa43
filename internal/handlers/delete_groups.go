package handlers

// DeleteGroups (key 42), v0–v2: deletes empty groups and their offsets
// (NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for unknown
// groups).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 42, MinVersion: 0, MaxVersion: 2, Handle: deleteGroups})
}

func deleteGroups(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DeleteGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, id := range r.Groups {
		g := kmsg.NewDeleteGroupsResponseGroup()
		g.Group = id
		g.ErrorCode = env.Groups.DeleteGroup(id)
		resp.Groups = append(resp.Groups, g)
	}
	return resp, nil
}
