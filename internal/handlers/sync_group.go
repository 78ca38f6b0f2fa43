package handlers

// SyncGroup (key 14), v0–v5: the leader hands in the assignment, every
// member gets its own. From v5 the protocol type and name must match the
// group's (INCONSISTENT_GROUP_PROTOCOL). Followers wait for the leader
// without holding a lock.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 14, MinVersion: 0, MaxVersion: 5, Handle: syncGroup})
}

func syncGroup(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.SyncGroupRequest)
	return env.Groups.SyncGroup(ctx, req.groupRequest(), r), nil
}
