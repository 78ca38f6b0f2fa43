package controller

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

func reassignOne(t *testing.T, img *metadata.Image, topic string, p int32, replicas []int32, unclean bool) (*metadata.Image, metadata.PartitionResult) {
	t.Helper()
	set := map[string]string{}
	if unclean {
		set[config.UncleanLeaderElect] = "true"
	}
	recs, resp := Reassign(img, brokerConfig(t, set), metadata.ReassignRequest{Entries: []metadata.ReassignEntry{{PartitionRef: metadata.PartitionRef{Topic: topic, Partition: p}, Replicas: replicas}}})
	if len(resp.Results) != 1 {
		t.Fatalf("%d results", len(resp.Results))
	}
	return applyChecked(t, img, recs), resp.Results[0]
}

// A reassignment runs its whole course: targets added, the leader adds
// them to the ISR as they catch up, the last one completes it, the
// removed leader's partition moves to a target replica.
func TestReassignLifecycle(t *testing.T) {
	img := cluster{brokers: []int32{1, 2, 3, 4, 5}, topics: map[string][]string{"t": {"r=1,2,3 isr=1,2,3 l=1"}}}.image(t)
	img, res := reassignOne(t, img, "t", 0, []int32{4, 5, 2}, false)
	if res.ErrorCode != 0 {
		t.Fatalf("start: %+v", res)
	}
	wantPartitions(t, "started", img, "t", "r=4,5,2,1,3 isr=1,2,3 l=1 add=4,5 rm=1,3 le=0 pe=1")

	alter := func(isr ...int32) metadata.AlterPartitionResponse {
		t.Helper()
		p := img.Topic("t").Partitions[0]
		recs, resp := AlterPartition(img, brokerConfig(t, nil), metadata.AlterPartitionRequest{
			NodeID: p.Leader, BrokerEpoch: epochOf, TopicID: img.Topic("t").ID, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, NewISR: isr,
		})
		img = applyChecked(t, img, recs)
		return resp
	}
	if resp := alter(1, 2, 3, 4); resp.ErrorCode != 0 {
		t.Fatalf("adding 4: %+v", resp)
	}
	wantPartitions(t, "4 caught up", img, "t", "r=4,5,2,1,3 isr=1,2,3,4 l=1 add=4,5 rm=1,3 le=0 pe=2")
	// The listing sees it in progress.
	if !Reassigning(img.Topic("t").Partitions[0]) {
		t.Fatal("not reassigning")
	}
	if resp := alter(1, 2, 3, 4, 5); resp.ErrorCode != 0 {
		t.Fatalf("readying: %+v", resp)
	}
	// Leader 1 is being removed: the ISR change does not complete the
	// reassignment; the controller's own change does, moving the leader.
	wantPartitions(t, "ready", img, "t", "r=4,5,2,1,3 isr=1,2,3,4,5 l=1 add=4,5 rm=1,3 le=0 pe=3")
	img = applyChecked(t, img, Reconcile(img, brokerConfig(t, nil)))
	wantPartitions(t, "completed", img, "t", "r=4,5,2 isr=2,4,5 l=4 le=1 pe=4")
}

func TestReassign(t *testing.T) {
	base := cluster{brokers: []int32{1, 2, 3, 4, -5}, topics: map[string][]string{"t": {
		"r=1,2,3 isr=1,2,3 l=1",
		"r=1,2 isr=1 l=1",
		"r=3,1,4,2 isr=1 l=1 add=3,4 rm=2 le=1 pe=2", // reassigning from 1,2; 2 out of ISR
		"r=3,4,1 isr=1,3,4 l=1 add=3,4 rm=1 le=1 pe=2",
		"r=3,1 isr=3 l=3 add=3 rm=1 le=1 pe=2", // no original replica left in the ISR
	}}}
	cases := []struct {
		name     string
		p        int32
		replicas []int32
		unclean  bool
		code     *kerr.Error
		want     string
	}{
		{"reorder completes at once, leader stays", 0, []int32{3, 2, 1}, false, nil, "r=3,2,1 isr=1,2,3 l=1 le=0 pe=1"},
		{"shrink completes at once, leader moves", 0, []int32{2, 3}, false, nil, "r=2,3 isr=2,3 l=2 le=1 pe=1"},
		{"same replicas: nothing to do", 0, []int32{1, 2, 3}, false, nil, "r=1,2,3 isr=1,2,3 l=1 le=0 pe=0"},
		{"a fenced target is accepted; it joins when it comes back", 0, []int32{5, 2, 3}, false, nil, "r=5,2,3,1 isr=1,2,3 l=1 add=5 rm=1 le=0 pe=1"},
		{"dropping the only ISR member waits", 1, []int32{2}, false, nil, "r=2,1 isr=1 l=1 rm=1 le=0 pe=1"},
		{"cancel restores the original replicas", 2, nil, false, nil, "r=1,2 isr=1 l=1 le=1 pe=3"},
		{"a new target replaces the running one", 2, []int32{3, 1}, false, nil, "r=3,1,4,2 isr=1 l=1 add=3 rm=4,2 le=1 pe=3"},
		{"cancel drops the adding replicas from the ISR", 3, nil, false, nil, "r=1 isr=1 l=1 le=1 pe=3"},
		{"cancel that needs an unclean election is refused", 4, nil, false, kerr.InvalidReplicaAssignment, ""},
		{"cancel with unclean election allowed", 4, nil, true, nil, "r=1 isr=1 l=1 le=2 pe=3"},
		{"cancel without a reassignment", 0, nil, false, kerr.NoReassignmentInProgress, ""},
		{"unknown broker", 0, []int32{1, 9}, false, kerr.InvalidReplicaAssignment, ""},
		{"repeated broker", 0, []int32{1, 1}, false, kerr.InvalidReplicaAssignment, ""},
		{"empty target", 0, []int32{}, false, kerr.InvalidReplicaAssignment, ""},
		{"unknown partition", 9, []int32{1}, false, kerr.UnknownTopicOrPartition, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := base.image(t)
			next, res := reassignOne(t, img, "t", tc.p, tc.replicas, tc.unclean)
			if tc.code != nil {
				if res.ErrorCode != tc.code.Code || res.Message == "" {
					t.Fatalf("result %+v, want %s with a message", res, tc.code.Message)
				}
				if next.Offset != img.Offset {
					t.Fatal("a refused entry wrote records")
				}
				return
			}
			if res.ErrorCode != 0 {
				t.Fatalf("result %+v", res)
			}
			if got := describe(next.Topic("t").Partitions[tc.p]); got != tc.want {
				t.Fatalf("partition %d is %s, want %s", tc.p, got, tc.want)
			}
		})
	}
	if _, res := reassignOne(t, base.image(t), "nope", 0, []int32{1}, false); res.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %+v", res)
	}
}

// Reconcile completes a reassignment that became ready without a change
// of this partition's own (a fenced removing replica's departure), and
// elects leaderless partitions whose ISR member is back.
func TestReconcile(t *testing.T) {
	img := cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {
		"r=2,1 isr=2,1 l=1 add=2 rm=1",
		"r=1,2 isr=2 l=-1",
		"r=1,2 isr=1,2 l=1",
	}}}.image(t)
	next := applyChecked(t, img, Reconcile(img, brokerConfig(t, nil)))
	wantPartitions(t, "reconciled", next, "t",
		"r=2 isr=2 l=2 le=1 pe=1",
		"r=1,2 isr=2 l=2 le=1 pe=1",
		"r=1,2 isr=1,2 l=1 le=0 pe=0",
	)
	if recs := Reconcile(next, brokerConfig(t, nil)); len(recs) != 0 {
		t.Fatalf("second pass wrote %d records", len(recs))
	}
}
