package handlers

// OffsetCommit (key 8), v0–v9. Offsets are records in __consumer_offsets;
// the response is sent once they are in the log. Generation and member
// are checked against the group (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
// REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID); generation -1 without a
// member is a simple commit, allowed while the group has no members. A
// partition that does not exist is UNKNOWN_TOPIC_OR_PARTITION; metadata
// over offset.metadata.max.bytes is OFFSET_METADATA_TOO_LARGE. v2–v4's
// retention time is honoured; v0 commits are stored like the others (not
// in ZooKeeper). v10 (topic ids) is not advertised.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 8, MinVersion: 0, MaxVersion: 9, Handle: offsetCommit})
}

func offsetCommit(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.OffsetCommitRequest)
	img := env.Meta.Image()
	exists := func(topic string, p int32) bool {
		t := img.Topic(topic)
		return t != nil && p >= 0 && int(p) < len(t.Partitions)
	}
	return env.Groups.OffsetCommit(req.groupRequest(), r, exists), nil
}
