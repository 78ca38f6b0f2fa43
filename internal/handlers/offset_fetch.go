package handlers

// OffsetFetch (key 9), v0–v9: one group up to v7, a batch of groups from
// v8 (KIP-709), member id and epoch from v9 (KIP-848 groups). A null topic
// list (v2+) asks for every committed offset. An unknown group or
// partition has offset -1, not an error. RequireStable (v7+, KIP-447) is
// always satisfied: without transactions no offset is ever pending. v10
// (topic ids) is not advertised.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 9, MinVersion: 0, MaxVersion: 9, Handle: offsetFetch})
}

func offsetFetch(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.OffsetFetchRequest)
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range r.Groups {
			var memberID string
			if rg.MemberID != nil {
				memberID = *rg.MemberID
			}
			f := env.Groups.FetchOffsets(rg.Group, memberID, rg.MemberEpoch, rg.Topics, r.RequireStable)
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group = rg.Group
			g.ErrorCode = f.Code
			g.Topics = f.Topics
			resp.Groups = append(resp.Groups, g)
		}
		return resp, nil
	}
	var topics []kmsg.OffsetFetchRequestGroupTopic
	if r.Topics != nil || req.Version < 2 {
		topics = make([]kmsg.OffsetFetchRequestGroupTopic, 0, len(r.Topics))
		for _, t := range r.Topics {
			topics = append(topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
		}
	}
	f := env.Groups.FetchOffsets(r.Group, "", -1, topics, r.RequireStable)
	if f.Code != 0 && req.Version < 2 {
		// v0–v1 have no group-level error: it goes on every partition.
		for _, t := range r.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.ErrorCode = p, -1, f.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil
	}
	resp.ErrorCode = f.Code
	for _, t := range f.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if f.Code == kerr.CoordinatorLoadInProgress.Code || f.Code == kerr.NotCoordinator.Code {
		resp.Topics = nil
	}
	return resp, nil
}
