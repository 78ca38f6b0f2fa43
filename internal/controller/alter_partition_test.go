package controller

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/metadata"
)

func TestAlterPartition(t *testing.T) {
	base := cluster{brokers: []int32{1, 2, 3, -4}, topics: map[string][]string{"t": {
		"r=1,2,3 isr=1,2 l=1 le=5 pe=8",
		"r=1,2,4 isr=1,2 l=1 le=5 pe=8",
		"r=2,3,1 isr=2,3,1 l=2 add=3 rm=1 le=2 pe=3",
	}}}
	tid := metadata.UUID{1}
	req := func(mod func(r *metadata.AlterPartitionRequest)) metadata.AlterPartitionRequest {
		r := metadata.AlterPartitionRequest{NodeID: 1, BrokerEpoch: epochOf, TopicID: tid, Partition: 0, LeaderEpoch: 5, PartitionEpoch: 8, NewISR: []int32{1, 2, 3}}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	cases := []struct {
		name string
		req  metadata.AlterPartitionRequest
		code *kerr.Error
		want string // partition 0 or the changed partition, after
	}{
		{"expand", req(nil), nil, "r=1,2,3 isr=1,2,3 l=1 le=5 pe=9"},
		{"shrink", req(func(r *metadata.AlterPartitionRequest) { r.NewISR = []int32{1} }), nil, "r=1,2,3 isr=1 l=1 le=5 pe=9"},
		{"no change", req(func(r *metadata.AlterPartitionRequest) { r.NewISR = []int32{1, 2} }), nil, "r=1,2,3 isr=1,2 l=1 le=5 pe=8"},
		{"old leader epoch", req(func(r *metadata.AlterPartitionRequest) { r.LeaderEpoch = 4 }), kerr.FencedLeaderEpoch, ""},
		{"newer leader epoch", req(func(r *metadata.AlterPartitionRequest) { r.LeaderEpoch = 6 }), kerr.FencedLeaderEpoch, ""},
		{"old partition epoch", req(func(r *metadata.AlterPartitionRequest) { r.PartitionEpoch = 7 }), kerr.InvalidUpdateVersion, ""},
		{"not the leader", req(func(r *metadata.AlterPartitionRequest) { r.NodeID = 2 }), kerr.InvalidRequest, ""},
		{"stale broker epoch", req(func(r *metadata.AlterPartitionRequest) { r.BrokerEpoch = 1 }), kerr.StaleBrokerEpoch, ""},
		{"broker epoch unchecked", req(func(r *metadata.AlterPartitionRequest) { r.BrokerEpoch = -1 }), nil, "r=1,2,3 isr=1,2,3 l=1 le=5 pe=9"},
		{"leader left out", req(func(r *metadata.AlterPartitionRequest) { r.NewISR = []int32{2, 3} }), kerr.InvalidRequest, ""},
		{"not a replica", req(func(r *metadata.AlterPartitionRequest) { r.NewISR = []int32{1, 5} }), kerr.InvalidRequest, ""},
		{"repeated", req(func(r *metadata.AlterPartitionRequest) { r.NewISR = []int32{1, 1} }), kerr.InvalidRequest, ""},
		{"empty", req(func(r *metadata.AlterPartitionRequest) { r.NewISR = nil }), kerr.InvalidRequest, ""},
		{"fenced broker added", req(func(r *metadata.AlterPartitionRequest) { r.Partition = 1; r.NewISR = []int32{1, 2, 4} }), kerr.IneligibleReplica, ""},
		{"unknown topic", req(func(r *metadata.AlterPartitionRequest) { r.TopicID = metadata.UUID{9} }), kerr.UnknownTopicOrPartition, ""},
		{"unknown partition", req(func(r *metadata.AlterPartitionRequest) { r.Partition = 7 }), kerr.UnknownTopicOrPartition, ""},
		{
			// The leader drops the removing replica 1, which completes the
			// reassignment: replicas become the target.
			"completes a reassignment",
			metadata.AlterPartitionRequest{NodeID: 2, BrokerEpoch: epochOf, TopicID: tid, Partition: 2, LeaderEpoch: 2, PartitionEpoch: 3, NewISR: []int32{2, 3}},
			nil, "r=2,3 isr=2,3 l=2 le=2 pe=4",
		},
	}
	bc := brokerConfig(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := base.image(t)
			recs, resp := AlterPartition(img, bc, tc.req)
			if tc.code != nil {
				if resp.ErrorCode != tc.code.Code || len(recs) != 0 {
					t.Fatalf("got code %d with %d records, want %s and none", resp.ErrorCode, len(recs), tc.code.Message)
				}
				return
			}
			if resp.ErrorCode != 0 {
				t.Fatalf("error %v", kerr.ErrorForCode(resp.ErrorCode))
			}
			next := applyChecked(t, img, recs)
			got := next.Topic("t").Partitions[tc.req.Partition]
			if describe(got) != tc.want || describe(resp.State) != tc.want {
				t.Fatalf("partition %s, answer %s, want %s", describe(got), describe(resp.State), tc.want)
			}
		})
	}
}

// A leader whose ISR change readies a reassignment that removes it gets
// the ISR it asked for and keeps leading; the completion, which moves the
// leadership, is a change of its own (Reconcile), so the old leader never
// stops counting the new one in its high watermark while it still leads.
func TestAlterPartitionReadyingReassignmentKeepsLeader(t *testing.T) {
	img := cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {"r=2,3,1 isr=1,2 l=1 add=2,3 rm=1 le=2 pe=3"}}}.image(t)
	bc := brokerConfig(t, nil)
	recs, resp := AlterPartition(img, bc, metadata.AlterPartitionRequest{
		NodeID: 1, BrokerEpoch: epochOf, TopicID: metadata.UUID{1}, LeaderEpoch: 2, PartitionEpoch: 3, NewISR: []int32{1, 2, 3},
	})
	if resp.ErrorCode != 0 || describe(resp.State) != "r=2,3,1 isr=1,2,3 l=1 add=2,3 rm=1 le=2 pe=4" {
		t.Fatalf("answer %d %s", resp.ErrorCode, describe(resp.State))
	}
	img = applyChecked(t, img, recs)
	wantPartitions(t, "ISR expanded", img, "t", "r=2,3,1 isr=1,2,3 l=1 add=2,3 rm=1 le=2 pe=4")
	wantPartitions(t, "completed", applyChecked(t, img, Reconcile(img, bc)), "t", "r=2,3 isr=2,3 l=2 le=3 pe=5")
}
