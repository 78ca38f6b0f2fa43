package handlers

// ListOffsets (key 2), v1–v8. Special timestamps: -2 earliest, -1 latest
// (the HW; also for read_committed, because without transactions the last
// stable offset is the HW), -3 the record with the largest timestamp
// (KIP-734, v7+), -4 earliest local (KIP-1005, v8+; all data is local, so
// the same as earliest). Other timestamps use the time index: the first
// record whose timestamp is at or after it, or offset -1 if none. Only
// the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere); a request with a
// replica id (a follower's) gets the log end offset for latest.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/partition"
)

func init() {
	register(API{Key: 2, MinVersion: 1, MaxVersion: 8, Handle: listOffsets})
}

const (
	tsLatest        = -1
	tsEarliest      = -2
	tsMax           = -3
	tsEarliestLocal = -4
)

func listOffsets(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	img := env.Meta.Image()
	for _, rt := range r.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset, sp.LeaderEpoch = -1, -1, -1
			p, err := replicaOrNotLeader(env, img, rt.Topic, rp.Partition)
			if err == nil {
				err = listPartitionOffset(req.Version, r.ReplicaID, p, rp, &sp)
			}
			sp.ErrorCode = errorCode(err)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func listPartitionOffset(version int16, replica int32, p *partition.Partition, rp kmsg.ListOffsetsRequestTopicPartition, sp *kmsg.ListOffsetsResponseTopicPartition) error {
	if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
		return err
	}
	epoch := p.State().LeaderEpoch
	switch ts := rp.Timestamp; {
	case ts == tsEarliest, ts == tsEarliestLocal && version >= 8:
		sp.Offset = p.LogStartOffset()
	case ts == tsLatest && replica >= 0:
		sp.Offset = p.LogEndOffset() // a follower's question: Kafka answers the log end
	case ts == tsLatest:
		sp.Offset = p.HighWatermark()
	case ts == tsMax && version >= 7:
		off, mts, err := p.Log().MaxTimestamp()
		if err != nil {
			return err
		}
		sp.Offset, sp.Timestamp = off, mts
	case ts < 0:
		return errUnsupportedTimestamp
	default:
		off, fts, found, err := p.Log().OffsetForTimestamp(ts)
		if err != nil {
			return err
		}
		if found && off < p.HighWatermark() {
			sp.Offset, sp.Timestamp = off, fts
		}
	}
	if sp.Offset >= 0 {
		sp.LeaderEpoch = epoch
	}
	return nil
}
