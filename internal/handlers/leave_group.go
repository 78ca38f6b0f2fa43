package handlers

// LeaveGroup (key 13), v0–v5: v0–v2 name one member; v3+ a batch by
// member id and/or group.instance.id (KIP-345), each with its own error.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 13, MinVersion: 0, MaxVersion: 5, Handle: leaveGroup})
}

func leaveGroup(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.LeaveGroupRequest)
	return env.Groups.LeaveGroup(req.groupRequest(), r), nil
}
