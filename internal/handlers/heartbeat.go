package handlers

// Heartbeat (key 12), v0–v4: keeps a classic group member's session alive;
// REBALANCE_IN_PROGRESS tells it to rejoin.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 12, MinVersion: 0, MaxVersion: 4, Handle: heartbeat})
}

func heartbeat(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.HeartbeatRequest)
	return env.Groups.Heartbeat(req.groupRequest(), r), nil
}
