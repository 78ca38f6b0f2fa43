package clienttest

// group_silent_member_test.go: a member that joins with raw requests
// (JoinGroup, SyncGroup) and then never heartbeats is removed after its
// session timeout, a real client that joins meanwhile gets every
// partition, and the removed member's late requests get Kafka's errors.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestGroupSilentMemberEvicted(t *testing.T) {
	addr := startGroupBroker(t)
	const topic, group = "silent", "silent-group"
	createTopic(t, addr, topic, 6, nil)
	raw := newKgo(t, addr, kgo.ClientID("silent"))
	ctx := testCtx(t)

	// Join: the first JoinGroup (v4+) answers MEMBER_ID_REQUIRED with the
	// id to join with.
	meta := (&kmsg.ConsumerMemberMetadata{Version: 0, Topics: []string{topic}}).AppendTo(nil)
	join := func(memberID string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group = group
		req.SessionTimeoutMillis = int32(groupSession.Milliseconds())
		req.RebalanceTimeoutMillis = int32(groupRebalance.Milliseconds())
		req.MemberID = memberID
		req.ProtocolType = "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", meta
		req.Protocols = append(req.Protocols, p)
		resp, err := req.RequestWith(ctx, raw)
		if err != nil {
			t.Fatalf("JoinGroup: %v", err)
		}
		return resp
	}
	resp := join("")
	if err := kerr.ErrorForCode(resp.ErrorCode); err != kerr.MemberIDRequired || resp.MemberID == "" {
		t.Fatalf("first JoinGroup: error %v with member id %q, want MEMBER_ID_REQUIRED and an id", err, resp.MemberID)
	}
	memberID := resp.MemberID
	resp = join(memberID)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil || resp.LeaderID != memberID {
		t.Fatalf("JoinGroup with the id: %v, leader %q, want no error and leadership", err, resp.LeaderID)
	}
	gen := resp.Generation

	// As leader, assign all 6 partitions to itself.
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = group, gen, memberID
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID = memberID
	a.MemberAssignment = (&kmsg.ConsumerMemberAssignment{Topics: []kmsg.ConsumerMemberAssignmentTopic{
		{Topic: topic, Partitions: []int32{0, 1, 2, 3, 4, 5}},
	}}).AppendTo(nil)
	sync.GroupAssignment = append(sync.GroupAssignment, a)
	sresp, err := sync.RequestWith(ctx, raw)
	if err == nil {
		err = kerr.ErrorForCode(sresp.ErrorCode)
	}
	if err != nil {
		t.Fatalf("SyncGroup: %v", err)
	}
	adm := newAdmin(t, addr)
	waitSplit(t, adm, group, topic, 6, map[string]int{"silent": 6})

	// From now on the raw member is silent. A real member joins: the
	// rebalance waits for the silent one until its session expires, then
	// goes on without it.
	l := &ledger{}
	newFranzMember(kgo.RangeBalancer)(t, addr, group, topic, "survivor", l)
	owners := waitSplit(t, adm, group, topic, 6, map[string]int{"survivor": 6})
	prod := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	probe(t, prod, l, topic, "after-eviction", owners)

	// The evicted member's late requests: its heartbeat and its commit
	// for its old generation get UNKNOWN_MEMBER_ID.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.Generation, hb.MemberID = group, gen, memberID
	hresp, err := hb.RequestWith(ctx, raw)
	if err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	requireKerr(t, "heartbeat of the evicted member", kerr.ErrorForCode(hresp.ErrorCode), kerr.UnknownMemberID)

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation, commit.MemberID = group, gen, memberID
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = topic
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset, cp.LeaderEpoch = 0, 5, -1 // an offset nobody else commits
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	cresp, err := commit.RequestWith(ctx, raw)
	if err != nil {
		t.Fatalf("OffsetCommit: %v", err)
	}
	requireKerr(t, "commit of the evicted member", kerr.ErrorForCode(cresp.Topics[0].Partitions[0].ErrorCode), kerr.UnknownMemberID)
	if got := fetchCommitted(t, addr, group, topic); got[0] == 5 {
		t.Errorf("the evicted member's commit was applied: committed offsets %v", got)
	}
}
