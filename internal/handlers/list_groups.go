package handlers

// ListGroups (key 16), v0–v5: the groups this broker coordinates, with a
// state filter from v4 (KIP-518) and a type filter (classic, consumer)
// from v5 (KIP-848).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 16, MinVersion: 0, MaxVersion: 5, Handle: listGroups})
}

func listGroups(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ListGroupsRequest)
	return env.Groups.ListGroups(req.groupRequest(), r), nil
}
