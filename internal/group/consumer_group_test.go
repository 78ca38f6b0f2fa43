package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestConsumerJoinSplitLeaveRejoin(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 6)
	c1 := h.client("c1", "t")
	resp := h.mustBeat(c1)
	if resp.MemberEpoch != 1 || c1.count() != 6 || h.g.State() != ConsumerStateStable {
		t.Fatalf("first member: epoch %d, %d partitions, %s", resp.MemberEpoch, c1.count(), h.g.State())
	}
	if resp.HeartbeatIntervalMillis != 5000 {
		t.Errorf("heartbeat interval %d", resp.HeartbeatIntervalMillis)
	}

	// A second member: it waits for c1 to revoke half.
	c2 := h.client("c2", "t")
	h.mustBeat(c2)
	if c2.count() != 0 || h.g.Members["c2"].State != MemberUnreleasedPartitions || c2.epoch != 2 {
		t.Fatalf("c2 should wait for unreleased partitions: %s", snapshot(h.g))
	}
	h.mustBeat(c1) // told to revoke 3, stays at epoch 1
	if c1.count() != 3 || c1.epoch != 1 || h.g.Members["c1"].State != MemberUnrevokedPartitions {
		t.Fatalf("c1 should revoke: %s", snapshot(h.g))
	}
	h.mustBeat(c1) // acks the revocation: epoch 2
	if c1.epoch != 2 || h.g.Members["c1"].State != MemberStable {
		t.Fatalf("c1 after revoking: %s", snapshot(h.g))
	}
	h.mustBeat(c2)
	if c2.count() != 3 || h.g.State() != ConsumerStateStable {
		t.Fatalf("split: %s", snapshot(h.g))
	}

	// c2 leaves: c1 gets everything.
	if resp := h.leave(c2, LeaveGroupMemberEpoch); resp.ErrorCode != 0 || resp.MemberEpoch != -1 {
		t.Fatalf("leave: %v %d", kerr.ErrorForCode(resp.ErrorCode), resp.MemberEpoch)
	}
	h.settle(c1)
	if c1.count() != 6 {
		t.Fatalf("after leave: %s", snapshot(h.g))
	}

	// It comes back: split again.
	c2 = h.client("c2", "t")
	h.settle(c1, c2)
	if c1.count() != 3 || c2.count() != 3 {
		t.Fatalf("after rejoin: %s", snapshot(h.g))
	}
}

func TestConsumerManyMembersSettle(t *testing.T) {
	for _, assignor := range []string{"uniform", "range"} {
		t.Run(assignor, func(t *testing.T) {
			h := newHarness(t, DefaultConsumerConfig())
			h.setTopic("a", 10)
			h.setTopic("b", 7)
			var cs []*sim
			for i := 0; i < 5; i++ {
				c := h.client(string(rune('a'+i)), "a", "b")
				c.assignor = &assignor
				cs = append(cs, c)
				h.settle(cs...)
			}
			total := 0
			for _, c := range cs {
				total += c.count()
				if c.count() < 3 || c.count() > 4 {
					t.Errorf("%s owns %d", c.id, c.count())
				}
			}
			if total != 17 {
				t.Fatalf("owned %d of 17", total)
			}
		})
	}
}

func TestConsumerSessionTimeout(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 6)
	c1, c2 := h.client("c1", "t"), h.client("c2", "t")
	h.settle(c1, c2)
	// c2 goes silent; c1 keeps heartbeating every 5 s.
	for i := 0; i < 8; i++ {
		if gone := h.advance(5 * time.Second); len(gone) != 0 {
			t.Fatalf("removed %v after %d s", gone, (i+1)*5)
		}
		h.mustBeat(c1)
	}
	if gone := h.advance(5 * time.Second); len(gone) != 1 || gone[0] != "c2" {
		t.Fatalf("after 45 s: removed %v", gone)
	}
	h.settle(c1)
	if c1.count() != 6 {
		t.Fatalf("survivor has %d", c1.count())
	}
	// The removed member's heartbeat is refused.
	if resp := h.send(h.request(c2)); resp.ErrorCode != kerr.UnknownMemberID.Code || derefString(resp.ErrorMessage) != "Member c2 is not a member of group g." {
		t.Fatalf("removed member heartbeat: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

func TestConsumerRebalanceTimeout(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 4)
	c1 := h.client("c1", "t")
	h.settle(c1)
	c2 := h.client("c2", "t")
	h.mustBeat(c2)
	// c1 is told to revoke but keeps reporting all four partitions.
	req := h.request(c1)
	if resp := h.send(req); resp.ErrorCode != 0 || h.g.Members["c1"].State != MemberUnrevokedPartitions {
		t.Fatalf("c1 not revoking: %s", snapshot(h.g))
	}
	for i := 0; i < 5; i++ {
		h.advance(5 * time.Second)
		h.send(req) // still owning everything
		h.mustBeat(c2)
	}
	if gone := h.advance(5 * time.Second); len(gone) != 1 || gone[0] != "c1" {
		t.Fatalf("after the 30 s rebalance timeout: removed %v", gone)
	}
	h.settle(c2)
	if c2.count() != 4 {
		t.Fatalf("c2 has %d", c2.count())
	}
}

func TestConsumerLostResponse(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 4)
	c1 := h.client("c1", "t")
	h.settle(c1)
	c2 := h.client("c2", "t")
	h.mustBeat(c2)
	h.mustBeat(c1) // revoke 2
	// c1's ack moves it to epoch 2, but the response is lost.
	req := h.request(c1)
	if resp := h.send(req); resp.ErrorCode != 0 || resp.MemberEpoch != 2 {
		t.Fatalf("ack: %v", resp)
	}
	// It retries with the previous epoch and a subset: accepted.
	if resp := h.beat(c1); resp.ErrorCode != 0 || c1.epoch != 2 {
		t.Fatalf("retry with the previous epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// The previous epoch with a partition outside the assignment is
	// fenced, and so is an epoch from the future.
	h.mustBeat(c2)
	stale := h.request(c1)
	stale.MemberEpoch = 1
	stale.Topics = append(stale.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: topicID("t"), Partitions: []int32{0, 1, 2, 3}})
	if resp := h.send(stale); resp.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("previous epoch owning too much: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	future := h.request(c1)
	future.MemberEpoch = 7
	if resp := h.send(future); resp.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("future epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

func TestConsumerFencedRejoinSameID(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 4)
	c1, c2 := h.client("c1", "t"), h.client("c2", "t")
	h.settle(c1, c2)
	// c1 is fenced by a bad epoch, drops its partitions and rejoins with
	// the same id at epoch 0 (franz-go and the Java client do this).
	bad := h.request(c1)
	bad.MemberEpoch = c1.epoch + 5
	if resp := h.send(bad); resp.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("want FENCED_MEMBER_EPOCH, got %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	c1.owned, c1.epoch = TopicPartitions{}, 0
	h.settle(c1, c2)
	if c1.count() != 2 || c2.count() != 2 || len(h.g.Members) != 2 {
		t.Fatalf("after rejoin: %s", snapshot(h.g))
	}
}

func TestConsumerStaticMembership(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 6)
	inst := "instance-1"
	c1 := h.client("c1", "t")
	c1.instance = &inst
	c2 := h.client("c2", "t")
	h.settle(c1, c2)
	epoch := h.g.Epoch
	owned := c1.owned.Clone()

	// Another process with the same instance id while c1 is active.
	dup := h.client("c1-bis", "t")
	dup.instance = &inst
	if resp := h.beat(dup); resp.ErrorCode != kerr.UnreleasedInstanceID.Code {
		t.Fatalf("want UNRELEASED_INSTANCE_ID, got %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	delete(h.clients, "c1-bis")

	// c1 restarts: static leave keeps its partitions reserved.
	if resp := h.leave(c1, LeaveGroupStaticMemberEpoch); resp.ErrorCode != 0 || resp.MemberEpoch != -2 {
		t.Fatalf("static leave: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	h.mustBeat(c2)
	if c2.count() != 3 || h.g.Epoch != epoch {
		t.Fatalf("static leave rebalanced: %s", snapshot(h.g))
	}
	// Back with a new member id: same partitions, no new group epoch.
	back := h.client("c1-new", "t")
	back.instance = &inst
	h.mustBeat(back)
	if !back.owned.Equal(owned) || h.g.Epoch != epoch || h.g.Members["c1"] != nil {
		t.Fatalf("static rejoin: owned %s want %s; %s", render(back.owned), render(owned), snapshot(h.g))
	}
	// The old member id is fenced now.
	old := h.request(&sim{id: "c1", epoch: epoch, instance: &inst, topics: []string{"t"}, owned: TopicPartitions{}})
	if resp := h.send(old); resp.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("old static id: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// A static member that left and never returns is removed at its
	// session timeout.
	if resp := h.leave(back, LeaveGroupStaticMemberEpoch); resp.ErrorCode != 0 {
		t.Fatal(resp.ErrorCode)
	}
	for i := 0; i < 9; i++ {
		h.advance(5 * time.Second)
		h.mustBeat(c2)
	}
	if h.g.Members["c1-new"] != nil {
		t.Fatalf("departed static member still there: %s", snapshot(h.g))
	}
	h.settle(c2)
	if c2.count() != 6 {
		t.Fatalf("c2 has %d", c2.count())
	}
}

func TestConsumerMetadataChanges(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 2)
	c1, c2 := h.client("c1", "t", "later"), h.client("c2", "t", "later")
	h.settle(c1, c2)
	epoch := h.g.Epoch

	h.setTopic("t", 6) // partitions added
	h.settle(c1, c2)
	if h.g.Epoch <= epoch || c1.count() != 3 || c2.count() != 3 {
		t.Fatalf("after adding partitions: %s", snapshot(h.g))
	}
	h.setTopic("later", 4) // a subscribed topic is created
	h.settle(c1, c2)
	if c1.count() != 5 || c2.count() != 5 {
		t.Fatalf("after creating a subscribed topic: %s", snapshot(h.g))
	}
	h.setTopic("unrelated", 3) // no epoch bump for other topics
	epoch = h.g.Epoch
	h.settle(c1, c2)
	if h.g.Epoch != epoch {
		t.Fatalf("an unsubscribed topic bumped the epoch")
	}
	h.deleteTopic("t")
	h.settle(c1, c2)
	if c1.count() != 2 || c2.count() != 2 {
		t.Fatalf("after deleting a topic: %s", snapshot(h.g))
	}
}

func TestConsumerRegexSubscription(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("orders-eu", 2)
	h.setTopic("payments", 2)
	re := "orders-.*"
	c := h.client("c1")
	c.regex = &re
	h.settle(c)
	if c.count() != 2 || c.owned[topicID("orders-eu")] == nil {
		t.Fatalf("regex: %s", snapshot(h.g))
	}
	h.setTopic("orders-us", 3)
	h.settle(c)
	if c.count() != 5 {
		t.Fatalf("a new matching topic was not picked up: %s", snapshot(h.g))
	}
	// Full match, as Kafka: "xorders-1" does not match.
	h.setTopic("xorders-1", 1)
	h.settle(c)
	if c.count() != 5 {
		t.Fatalf("partial match taken: %s", snapshot(h.g))
	}
}

func TestConsumerSubscriptionChange(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("a", 2)
	h.setTopic("b", 2)
	c := h.client("c1", "a")
	h.settle(c)
	c.topics = []string{"b"}
	h.settle(c)
	if c.owned[topicID("a")] != nil || len(c.owned[topicID("b")]) != 2 {
		t.Fatalf("subscription change: %s", snapshot(h.g))
	}
}

func TestConsumerHeartbeatErrors(t *testing.T) {
	cfg := DefaultConsumerConfig()
	cfg.MaxSize = 3
	h := newHarness(t, cfg)
	h.setTopic("t", 3)
	c1, c2, c3 := h.client("c1", "t"), h.client("c2", "t"), h.client("c3", "t")
	h.settle(c1, c2, c3)

	str := func(s string) *string { return &s }
	join := func(mod func(r *kmsg.ConsumerGroupHeartbeatRequest)) *kmsg.ConsumerGroupHeartbeatRequest {
		r := h.request(&sim{id: "new", topics: []string{"t"}, owned: TopicPartitions{}})
		mod(r)
		return r
	}
	for _, tc := range []struct {
		name string
		req  *kmsg.ConsumerGroupHeartbeatRequest
		want *kerr.Error
		msg  string
	}{
		{"group full", join(func(*kmsg.ConsumerGroupHeartbeatRequest) {}), kerr.GroupMaxSizeReached, "The consumer group has reached its maximum capacity of 3 members."},
		{"empty member id on v1", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }), kerr.InvalidRequest, "MemberId can't be empty."},
		{"blank group", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = " " }), kerr.InvalidRequest, "GroupId can't be empty."},
		{"empty instance id", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.InstanceID = str("") }), kerr.InvalidRequest, "InstanceId can't be empty."},
		{"empty rack", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RackID = str("\t") }), kerr.InvalidRequest, "RackId can't be empty."},
		{"no rebalance timeout", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = -1 }), kerr.InvalidRequest, "RebalanceTimeoutMs must be provided in first request."},
		{"null owned on join", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }), kerr.InvalidRequest, "TopicPartitions must be empty when (re-)joining."},
		{"owned on join", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{TopicID: topicID("t"), Partitions: []int32{0}}}
		}), kerr.InvalidRequest, "TopicPartitions must be empty when (re-)joining."},
		{"no subscription", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = nil }), kerr.InvalidRequest, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining."},
		{"static leave without instance", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -2 }), kerr.InvalidRequest, "InstanceId can't be null."},
		{"epoch below -2", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -3 }), kerr.InvalidRequest, "MemberEpoch is invalid."},
		{"unknown assignor", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = str("sticky") }), kerr.UnsupportedAssignor, "ServerAssignor sticky is not supported. Supported assignors: uniform, range."},
		{"bad regex", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.SubscribedTopicNames = nil
			r.SubscribedTopicRegex = str("(")
		}), kerr.InvalidRegularExpression, ""},
		{"unknown member in a full group", h.request(&sim{id: "ghost", epoch: 3, topics: []string{"t"}, owned: TopicPartitions{}}), kerr.GroupMaxSizeReached, ""},
		{"epoch ahead", h.request(&sim{id: "c1", epoch: 99, topics: []string{"t"}, owned: TopicPartitions{}}), kerr.FencedMemberEpoch, ""},
		{"epoch behind", h.request(&sim{id: "c1", epoch: 1, topics: []string{"t"}, owned: TopicPartitions{topicID("t"): {0, 1}}}), kerr.FencedMemberEpoch, ""},
		{"leave unknown", join(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "ghost"; r.MemberEpoch = -1 }), kerr.UnknownMemberID, ""},
		{"static heartbeat unknown instance", h.request(&sim{id: "c1", epoch: 2, instance: str("nope"), topics: []string{"t"}, owned: TopicPartitions{}}), kerr.UnknownMemberID, "Instance id nope is unknown."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.send(tc.req)
			if resp.ErrorCode != tc.want.Code {
				t.Fatalf("got %v (%s), want %v", kerr.ErrorForCode(resp.ErrorCode), derefString(resp.ErrorMessage), tc.want)
			}
			if tc.msg != "" && derefString(resp.ErrorMessage) != tc.msg {
				t.Errorf("message %q, want %q", derefString(resp.ErrorMessage), tc.msg)
			}
		})
	}
	// The group is untouched by all of that.
	h.settle(c1, c2, c3)
	if c1.count() != 1 || c2.count() != 1 || c3.count() != 1 || len(h.g.Members) != 3 {
		t.Fatalf("errors changed the group: %s", snapshot(h.g))
	}
}

func TestConsumerV0ServerMemberID(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 1)
	req := h.request(&sim{id: "", topics: []string{"t"}, owned: TopicPartitions{}})
	if e := ValidateHeartbeat(req, 0, h.g.cfg); e != nil {
		t.Fatalf("v0 join without member id refused: %v", e)
	}
	resp, _ := h.g.Heartbeat(HeartbeatInput{Req: req, Version: 0, Now: h.now, Image: h.img})
	if resp.ErrorCode != 0 || resp.MemberID == nil || *resp.MemberID == "" || h.g.Members[*resp.MemberID] == nil {
		t.Fatalf("v0 join: %+v", resp)
	}
}

func TestConsumerOffsetValidation(t *testing.T) {
	h := newHarness(t, DefaultConsumerConfig())
	h.setTopic("t", 2)
	if e := h.g.ValidateOffsetCommit("", -1, 9); e != nil {
		t.Fatalf("admin commit to an empty group: %v", e)
	}
	c := h.client("c1", "t")
	h.settle(c)
	for _, tc := range []struct {
		member  string
		epoch   int32
		version int16
		want    *kerr.Error
	}{
		{"c1", c.epoch, 9, nil},
		{"c1", c.epoch - 1, 9, kerr.StaleMemberEpoch},
		{"c1", c.epoch + 1, 9, kerr.StaleMemberEpoch},
		{"ghost", c.epoch, 9, kerr.UnknownMemberID},
		{"", -1, 9, kerr.UnknownMemberID},
		{"c1", c.epoch, 8, kerr.UnsupportedVersion},
	} {
		e := h.g.ValidateOffsetCommit(tc.member, tc.epoch, tc.version)
		if (e == nil) != (tc.want == nil) || (e != nil && e.Err != tc.want) {
			t.Errorf("commit %+v: got %v", tc, e)
		}
	}
	if e := h.g.ValidateOffsetFetch("", -1); e != nil {
		t.Errorf("admin fetch: %v", e)
	}
	if e := h.g.ValidateOffsetFetch("c1", c.epoch-1); e == nil || e.Err != kerr.StaleMemberEpoch {
		t.Errorf("stale fetch: %v", e)
	}
	if e := h.g.ValidateOffsetFetch("ghost", 1); e == nil || e.Err != kerr.UnknownMemberID {
		t.Errorf("unknown fetch: %v", e)
	}
	if h.g.ValidateDelete() != kerr.NonEmptyGroup {
		t.Error("a group with members deleted")
	}
	h.leave(c, -1)
	if h.g.ValidateDelete() != nil {
		t.Error("an empty group not deletable")
	}
	// The delete tombstones replay to a deleted group.
	fresh := NewConsumerGroup("g", h.g.cfg)
	deleted := false
	for _, r := range append(h.records, h.g.DeleteRecords()...) {
		deleted = fresh.Apply(r)
	}
	if !deleted {
		t.Fatal("delete records do not delete the group")
	}
}
