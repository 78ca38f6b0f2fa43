package handlers

// JoinGroup (key 11), v0–v9: the classic group protocol's join phase.
// Member ids are handed out on the first join from v4 (KIP-394,
// MEMBER_ID_REQUIRED); static members (group.instance.id, KIP-345) from
// v5; the leader's SkipAssignment (KIP-814) from v9. The request waits
// until the rebalance's join phase ends, holding no lock (see
// group.Coordinator.JoinGroup); a closing broker ends the wait.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 11, MinVersion: 0, MaxVersion: 9, Handle: joinGroup})
}

func joinGroup(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.JoinGroupRequest)
	return env.Groups.JoinGroup(ctx, req.groupRequest(), r), nil
}
