package handlers

// OffsetDelete (key 47), v0 (KIP-496): deletes a group's committed offsets
// for partitions no member is subscribed to (GROUP_SUBSCRIBED_TO_TOPIC
// otherwise; NON_EMPTY_GROUP for a non-consumer group with members).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 47, MinVersion: 0, MaxVersion: 0, Handle: offsetDelete})
}

func offsetDelete(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.OffsetDeleteRequest)
	return env.Groups.OffsetDelete(req.groupRequest(), r), nil
}
