package handlers

// OffsetForLeaderEpoch (key 23), v0–v4 (KIP-101, KIP-279, KIP-320): for
// each partition, the end offset of the requested leader epoch (the start
// of the next larger epoch, or the log end offset for the latest one),
// and from v1 the largest epoch at or below the requested one that the
// log knows. An unknown epoch gives epoch -1 and offset -1 without an
// error, as in Kafka. The current leader epoch (v2+) is checked first:
// FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH; a broker that does not lead
// the partition answers NOT_LEADER_OR_FOLLOWER. Followers (replica id,
// v3+) are served like consumers: Strata's followers learn divergence
// from Fetch (KIP-320) and ask this only through it.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 23, MinVersion: 0, MaxVersion: 4, Handle: offsetForLeaderEpoch})
}

func offsetForLeaderEpoch(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	img := env.Meta.Image()
	for _, rt := range r.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LeaderEpoch, sp.EndOffset = -1, -1
			p, err := replicaOrNotLeader(env, img, rt.Topic, rp.Partition)
			switch {
			case err != nil:
				sp.ErrorCode = errorCode(err)
			default:
				// Before v2 there is no current epoch; the decoded
				// default (-1) skips the check.
				if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
					sp.ErrorCode = errorCode(err)
					break
				}
				sp.LeaderEpoch, sp.EndOffset = p.Log().EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
