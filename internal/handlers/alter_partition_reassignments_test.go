package handlers_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// On one broker a reassignment can only keep the partition where it is;
// the requests and their errors are checked here, the moves between
// brokers in the cluster tests (internal/controller).
func TestAlterPartitionReassignmentsOneBroker(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("r", 2, nil)

	res, err := e.adm.AlterPartitionAssignments(e.ctx(), kadm.AlterPartitionAssignmentsReq{"r": {0: {1}, 1: {1, 2}}, "nope": {0: {1}}})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "same replicas", res["r"][0].Err, res["r"][0].ErrMessage, nil, "")
	wantErr(t, "unknown broker", res["r"][1].Err, res["r"][1].ErrMessage, kerr.InvalidReplicaAssignment, "broker 2")
	wantErr(t, "unknown topic", res["nope"][0].Err, res["nope"][0].ErrMessage, kerr.UnknownTopicOrPartition, "")

	// Cancelling where nothing runs.
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = "r"
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition = 0
	rp.Replicas = nil
	rt.Partitions = append(rt.Partitions, rp)
	// v1 without a replication factor change allowed: a longer target is
	// refused before it reaches the controller.
	rp2 := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp2.Partition = 1
	rp2.Replicas = []int32{1, 1}
	rt.Partitions = append(rt.Partitions, rp2)
	req.Topics = append(req.Topics, rt)
	req.AllowReplicationFactorChange = false
	resp := e.request(req).(*kmsg.AlterPartitionAssignmentsResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("response %+v", resp)
	}
	if resp.AllowReplicationFactorChange {
		t.Error("AllowReplicationFactorChange not echoed")
	}
	ps := resp.Topics[0].Partitions
	wantCode(t, "cancel without reassignment", ps[0].ErrorCode, ps[0].ErrorMessage, kerr.NoReassignmentInProgress, "")
	wantCode(t, "rf change forbidden", ps[1].ErrorCode, ps[1].ErrorMessage, kerr.InvalidReplicationFactor, "2 replicas")

	lres, err := e.adm.ListPartitionReassignments(e.ctx(), kadm.TopicsSet{"r": {0: {}, 1: {}}, "nope": {0: {}}})
	if err != nil || len(lres) != 0 {
		t.Fatalf("list: %v %+v", err, lres)
	}
	all := kmsg.NewPtrListPartitionReassignmentsRequest()
	if l := e.request(all).(*kmsg.ListPartitionReassignmentsResponse); l.ErrorCode != 0 || len(l.Topics) != 0 {
		t.Fatalf("list all: %+v", l)
	}
}

func TestElectLeadersOneBroker(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("el", 2, nil)
	res, err := e.adm.ElectLeaders(e.ctx(), kadm.ElectPreferredReplica, kadm.TopicsSet{"el": {0: {}, 1: {}, 5: {}}})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "preferred leads", res["el"][0].Err, "", kerr.ElectionNotNeeded, "")
	wantErr(t, "preferred leads", res["el"][1].Err, "", kerr.ElectionNotNeeded, "")
	wantErr(t, "unknown partition", res["el"][5].Err, "", kerr.UnknownTopicOrPartition, "")

	// All partitions: nothing needs an election, so nothing is listed.
	res, err = e.adm.ElectLeaders(e.ctx(), kadm.ElectLiveReplica, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("all partitions: %v %+v", err, res)
	}

	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = 3
	resp := e.request(req).(*kmsg.ElectLeadersResponse)
	wantCode(t, "bad election type", resp.ErrorCode, nil, kerr.InvalidRequest, "")
}
