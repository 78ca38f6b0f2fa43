package clienttest

// KIP-848 at the kmsg level: every error the consumer group protocol
// answers with, the classic/consumer mixing rules, offsets of consumer
// groups, and the admin APIs' view of consumer groups.

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

type hb848 struct {
	t     *testing.T
	cl    *kgo.Client
	group string
}

func (h hb848) send(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	if req.Group == "" {
		req.Group = h.group
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := req.RequestWith(testCtx(h.t), h.cl)
		if err != nil {
			h.t.Fatalf("ConsumerGroupHeartbeat: %v", err)
		}
		// A broker that just started may still be loading its
		// __consumer_offsets partitions.
		if resp.ErrorCode != kerr.CoordinatorLoadInProgress.Code || time.Now().After(deadline) {
			return resp
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// join is a first heartbeat of member id subscribing to topics.
func join848(id string, topics ...string) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.MemberID = id
	req.MemberEpoch = 0
	req.RebalanceTimeoutMillis = 10000
	req.SubscribedTopicNames = topics
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	return req
}

// beat is a keepalive heartbeat of a joined member reporting owned.
func beat848(id string, epoch int32, owned *kmsg.ConsumerGroupHeartbeatResponseAssignment) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.MemberID = id
	req.MemberEpoch = epoch
	if owned != nil {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, t := range owned.Topics {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t.TopicID, Partitions: t.Partitions})
		}
	}
	return req
}

func wantCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	var wantCode int16
	if want != nil {
		wantCode = want.Code
	}
	if got != wantCode {
		t.Errorf("%s: got %v, want %v", what, kerr.ErrorForCode(got), want)
	}
}

func owned848(a *kmsg.ConsumerGroupHeartbeatResponseAssignment) int {
	n := 0
	if a != nil {
		for _, t := range a.Topics {
			n += len(t.Partitions)
		}
	}
	return n
}

func TestKIP848HeartbeatErrors(t *testing.T) {
	o := kip848Overrides()
	o["group.consumer.max.size"] = "3"
	addr := brokertest.Start(t, o)
	createTopic(t, addr, "t", 4, nil)
	cl := newKgo(t, addr)
	h := hb848{t, cl, "errs"}

	a := h.send(join848("member-a", "t"))
	if a.ErrorCode != 0 || a.MemberEpoch != 1 || owned848(a.Assignment) != 4 || a.HeartbeatIntervalMillis != 250 {
		t.Fatalf("join: %+v", a)
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		req  *kmsg.ConsumerGroupHeartbeatRequest
		want *kerr.Error
	}{
		{"epoch ahead", beat848("member-a", 9, a.Assignment), kerr.FencedMemberEpoch},
		{"rejoin without owned=[]", beat848("member-a", 0, nil), kerr.InvalidRequest},
		{"unknown member", beat848("ghost", 1, nil), kerr.UnknownMemberID},
		{"no member id (v1)", join848("", "t"), kerr.InvalidRequest},
		{"join without rebalance timeout", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := join848("m", "t")
			r.RebalanceTimeoutMillis = -1
			return r
		}(), kerr.InvalidRequest},
		{"join owning partitions", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := join848("m", "t")
			r.Topics = append(r.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: a.Assignment.Topics[0].TopicID, Partitions: []int32{0}})
			return r
		}(), kerr.InvalidRequest},
		{"join without subscription", join848("m"), kerr.InvalidRequest},
		{"epoch -3", beat848("member-a", -3, nil), kerr.InvalidRequest},
		{"unknown assignor", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := join848("m", "t")
			r.ServerAssignor = str("cooperative-sticky")
			return r
		}(), kerr.UnsupportedAssignor},
		{"bad regex", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := join848("m")
			r.SubscribedTopicNames = nil
			r.SubscribedTopicRegex = str("[a-")
			return r
		}(), kerr.InvalidRegularExpression},
		{"static leave without instance id", beat848("member-a", -2, nil), kerr.InvalidRequest},
		{"non-joining heartbeat for an unknown group", func() *kmsg.ConsumerGroupHeartbeatRequest {
			r := beat848("member-a", 1, nil)
			r.Group = "nope"
			return r
		}(), kerr.GroupIDNotFound},
	} {
		wantCode(t, tc.name, h.send(tc.req).ErrorCode, tc.want)
	}

	// Static membership: a second live member with the same instance id.
	s1 := join848("static-1", "t")
	s1.InstanceID = str("inst")
	r1 := h.send(s1)
	wantCode(t, "static join", r1.ErrorCode, nil)
	s2 := join848("static-2", "t")
	s2.InstanceID = str("inst")
	wantCode(t, "second member with the instance id", h.send(s2).ErrorCode, kerr.UnreleasedInstanceID)

	// A third member fills the group (group.consumer.max.size=3); a fourth
	// is refused.
	wantCode(t, "third member", h.send(join848("member-c", "t")).ErrorCode, nil)
	wantCode(t, "fourth member", h.send(join848("member-d", "t")).ErrorCode, kerr.GroupMaxSizeReached)

	// The group still works after all that: member-a is asked to give two
	// of its four partitions to the others.
	b := h.send(beat848("member-a", a.MemberEpoch, a.Assignment))
	if b.ErrorCode != 0 || owned848(b.Assignment) != 2 {
		t.Fatalf("member-a after errors: %+v", b)
	}
}

// A member that stops heartbeating is removed after the session timeout
// and its partitions go to the others.
func TestKIP848SessionTimeout(t *testing.T) {
	addr := brokertest.Start(t, kip848Overrides())
	createTopic(t, addr, "t", 4, nil)
	h := hb848{t, newKgo(t, addr), "sessions"}
	a := h.send(join848("a", "t"))
	b := h.send(join848("b", "t"))
	start := time.Now()
	// a stops heartbeating; b keeps going until it owns everything.
	for owned848(b.Assignment) != 4 || b.ErrorCode != 0 {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("b never got a's partitions: %+v", b)
		}
		time.Sleep(100 * time.Millisecond)
		next := h.send(beat848("b", b.MemberEpoch, b.Assignment))
		if next.ErrorCode != 0 {
			t.Fatalf("b: %v", kerr.ErrorForCode(next.ErrorCode))
		}
		next.Assignment = keepAssignment(next.Assignment, b.Assignment)
		b = next
	}
	if since := time.Since(start); since < 2*time.Second {
		t.Errorf("a was removed after %v, before its 3 s session could end", since)
	}
	wantCode(t, "a after its session", h.send(beat848("a", a.MemberEpoch, a.Assignment)).ErrorCode, kerr.UnknownMemberID)
}

// keepAssignment is the assignment a client holds after a response: the
// new one if the response had one, else the old.
func keepAssignment(next, prev *kmsg.ConsumerGroupHeartbeatResponseAssignment) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	if next != nil {
		return next
	}
	return prev
}

// Groups of the two protocols do not mix, as in Kafka: a consumer-protocol
// heartbeat cannot join a classic group with members, JoinGroup cannot
// join a consumer group with members; an empty classic group (offsets
// only) is taken over and keeps its offsets.
func TestKIP848ProtocolMixing(t *testing.T) {
	o := kip848Overrides()
	o["group.initial.rebalance.delay.ms"] = "0"
	addr := brokertest.Start(t, o)
	createTopic(t, addr, "t", 2, nil)
	cl := newKgo(t, addr)
	ctx := testCtx(t)

	// A classic group with a member.
	classicJoin := func(group, member string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group = group
		req.MemberID = member
		req.SessionTimeoutMillis = 10000
		req.RebalanceTimeoutMillis = 10000
		req.ProtocolType = "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: (&kmsg.ConsumerMemberMetadata{Topics: []string{"t"}}).AppendTo(nil)}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	j := classicJoin("classic", "")
	if j.ErrorCode == kerr.MemberIDRequired.Code {
		j = classicJoin("classic", j.MemberID)
	}
	wantCode(t, "classic join", j.ErrorCode, nil)
	h := hb848{t, cl, "classic"}
	r := h.send(join848("m", "t"))
	wantCode(t, "heartbeat to a classic group with members", r.ErrorCode, kerr.GroupIDNotFound)
	if r.ErrorMessage == nil || *r.ErrorMessage != "Cannot upgrade classic group classic to consumer group because online upgrade is disabled." {
		t.Errorf("message: %v", r.ErrorMessage)
	}
	wantCode(t, "non-joining heartbeat to a classic group", h.send(beat848("m", 3, nil)).ErrorCode, kerr.GroupIDNotFound)

	// A consumer group with a member refuses JoinGroup.
	h = hb848{t, cl, "modern"}
	wantCode(t, "consumer join", h.send(join848("m", "t")).ErrorCode, nil)
	wantCode(t, "JoinGroup to a consumer group", classicJoin("modern", "").ErrorCode, kerr.GroupIDNotFound)

	// Offsets only (an admin commit): the consumer protocol takes the group
	// over, the offsets stay.
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group = "offsets-only"
	commit.Generation = -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 7, LeaderEpoch: -1}}}}
	cresp, err := commit.RequestWith(ctx, cl)
	if err != nil || cresp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("admin commit: %v %+v", err, cresp)
	}
	h = hb848{t, cl, "offsets-only"}
	wantCode(t, "take over an offsets-only group", h.send(join848("m", "t")).ErrorCode, nil)
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "offsets-only"
	fetch.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	fresp, err := fetch.RequestWith(ctx, cl)
	if err != nil || fresp.ErrorCode != 0 || len(fresp.Topics) != 1 || fresp.Topics[0].Partitions[0].Offset != 7 {
		t.Fatalf("offsets after the takeover: %v %+v", err, fresp)
	}
}

// Offsets of a consumer group are committed and fetched with the member
// epoch (OffsetCommit v9 / OffsetFetch v9), and the admin APIs see the
// group with its type and state.
func TestKIP848OffsetsAndAdmin(t *testing.T) {
	addr := brokertest.Start(t, kip848Overrides())
	createTopic(t, addr, "t", 2, nil)
	cl := newKgo(t, addr)
	ctx := testCtx(t)
	h := hb848{t, cl, "admin848"}
	a := h.send(join848("a", "t"))
	if a.ErrorCode != 0 {
		t.Fatal(a.ErrorCode)
	}

	commit := func(member string, epoch int32) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 9
		req.Group = "admin848"
		req.MemberID = member
		req.Generation = epoch
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5, LeaderEpoch: -1}}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	wantCode(t, "commit at the member epoch", commit("a", a.MemberEpoch), nil)
	wantCode(t, "commit at an old epoch", commit("a", a.MemberEpoch-1), kerr.StaleMemberEpoch)
	wantCode(t, "commit by an unknown member", commit("ghost", a.MemberEpoch), kerr.UnknownMemberID)
	wantCode(t, "admin commit to a group with members", commit("", -1), kerr.UnknownMemberID)

	fetch := func(member string, epoch int32) *kmsg.OffsetFetchResponseGroup {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 9
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = "admin848"
		g.MemberID = &member
		g.MemberEpoch = epoch
		g.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}
		req.Groups = append(req.Groups, g)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return &resp.Groups[0]
	}
	if f := fetch("a", a.MemberEpoch); f.ErrorCode != 0 || f.Topics[0].Partitions[0].Offset != 5 {
		t.Errorf("fetch at the member epoch: %+v", f)
	}
	wantCode(t, "fetch at a stale epoch", fetch("a", a.MemberEpoch+1).ErrorCode, kerr.StaleMemberEpoch)
	wantCode(t, "fetch by an unknown member", fetch("ghost", 1).ErrorCode, kerr.UnknownMemberID)

	// ListGroups v5 filters by type.
	list := kmsg.NewPtrListGroupsRequest()
	list.TypesFilter = []string{"consumer"}
	lresp, err := list.RequestWith(ctx, cl)
	if err != nil || len(lresp.Groups) != 1 || lresp.Groups[0].Group != "admin848" || lresp.Groups[0].GroupType != "consumer" || lresp.Groups[0].GroupState != "Stable" {
		t.Fatalf("ListGroups(consumer): %v %+v", err, lresp)
	}
	list.TypesFilter = []string{"classic"}
	if lresp, err = list.RequestWith(ctx, cl); err != nil || len(lresp.Groups) != 0 {
		t.Fatalf("ListGroups(classic): %v %+v", err, lresp)
	}

	// DescribeGroups (classic) does not describe it; ConsumerGroupDescribe does.
	dreq := kmsg.NewPtrDescribeGroupsRequest()
	dreq.Groups = []string{"admin848"}
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil || dresp.Groups[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("DescribeGroups of a consumer group: %v %+v", err, dresp)
	}
	d := describe848(t, cl, "admin848")
	if d.ErrorCode != 0 || len(d.Members) != 1 || d.Members[0].MemberID != "a" || len(d.Members[0].Assignment.TopicPartitions) != 1 ||
		d.Members[0].Assignment.TopicPartitions[0].Topic != "t" || d.Members[0].MemberType != 1 {
		t.Errorf("ConsumerGroupDescribe: %+v", d)
	}
	if d := describe848(t, cl, "nope"); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("ConsumerGroupDescribe of an unknown group: %+v", d)
	}

	// DeleteGroups: refused while the member is there, fine once it left.
	del := func() int16 {
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Groups = []string{"admin848"}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Groups[0].ErrorCode
	}
	wantCode(t, "delete with a member", del(), kerr.NonEmptyGroup)
	wantCode(t, "leave", h.send(beat848("a", -1, nil)).ErrorCode, nil)
	wantCode(t, "delete once empty", del(), nil)
	if d := describe848(t, cl, "admin848"); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("describe after delete: %+v", d)
	}
}
