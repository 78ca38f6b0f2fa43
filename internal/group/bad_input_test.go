package group

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

// TestBadInputChangesNothing sends every kind of bad request to a Stable
// group with committed offsets: each gets Kafka's error and the group's
// observable state (members, assignments, offsets, generation) is the same
// afterwards.
func TestBadInputChangesNothing(t *testing.T) {
	ct := newCoordTest(t, map[string]string{"group.max.size": "2"})
	ids, gen := ct.stableGroup("g", 2)
	if codes := ct.commit("g", ids[0], gen, map[int32]int64{0: 10, 1: 20}); codes[0] != 0 || codes[1] != 0 {
		t.Fatalf("commit: %v", codes)
	}
	before := ct.snapshot()
	long := strings.Repeat("x", maxStringLen+1)
	huge := string(make([]byte, maxMemberMetadataBytes+1))

	joinCode := func(r *kmsg.JoinGroupRequest) int16 { return ct.join(req9, r).wait(t).ErrorCode }
	withSession := func(ms int32) *kmsg.JoinGroupRequest {
		r := joinReq("g", ids[0], "range", "m0")
		r.SessionTimeoutMillis = ms
		return r
	}
	withType := func(pt string) *kmsg.JoinGroupRequest {
		r := joinReq("g", ids[0], "range", "m0")
		r.ProtocolType = pt
		return r
	}
	bigMeta := func() *kmsg.JoinGroupRequest { return joinReq("g", ids[0], "range", huge) }
	syncCode := func(member string, g int32) int16 { return ct.sync(syncReq("g", member, g, nil)).wait(t).ErrorCode }
	commitCode := func(member string, g int32, p int32) int16 {
		return ct.commit("g", member, g, map[int32]int64{p: 99})[p]
	}
	metaCommit := func() int16 {
		r := kmsg.NewPtrOffsetCommitRequest()
		r.Group, r.MemberID, r.Generation = "g", ids[0], gen
		md := strings.Repeat("m", 4097)
		r.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, Metadata: &md}}}}
		return ct.c.OffsetCommit(reqV(9), r, func(string, int32) bool { return true }).Topics[0].Partitions[0].ErrorCode
	}
	// A commit whose records cannot fit one batch of the offsets topic
	// (max.message.bytes): Kafka's INVALID_COMMIT_OFFSET_SIZE.
	hugeCommit := func() int16 {
		r := kmsg.NewPtrOffsetCommitRequest()
		r.Group, r.MemberID, r.Generation = "g", ids[0], gen
		md := strings.Repeat("m", 4000)
		rt := kmsg.OffsetCommitRequestTopic{Topic: "t"}
		for p := range int32(400) {
			rt.Partitions = append(rt.Partitions, kmsg.OffsetCommitRequestTopicPartition{Partition: p, Offset: 1, Metadata: &md})
		}
		r.Topics = []kmsg.OffsetCommitRequestTopic{rt}
		return ct.c.OffsetCommit(reqV(9), r, func(string, int32) bool { return true }).Topics[0].Partitions[0].ErrorCode
	}
	leaveUnknown := func() int16 {
		lr := kmsg.NewPtrLeaveGroupRequest()
		lr.Group = "g"
		lr.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "ghost"}}
		return ct.c.LeaveGroup(reqV(5), lr).Members[0].ErrorCode
	}
	groupSync := func(r *kmsg.SyncGroupRequest) int16 { return ct.sync(r).wait(t).ErrorCode }
	wrongProto := syncReq("g", ids[1], gen, nil)
	other := "roundrobin"
	wrongProto.Protocol = &other

	cases := []struct {
		name string
		got  func() int16
		want int16
	}{
		{"join with an empty group id", func() int16 { return joinCode(joinReq("", "", "range", "")) }, kerr.InvalidGroupID.Code},
		{"join with a group id too long for the record key", func() int16 { return joinCode(joinReq(long, "", "range", "")) }, kerr.InvalidGroupID.Code},
		{"session timeout below group.min.session.timeout.ms", func() int16 { return joinCode(withSession(999)) }, kerr.InvalidSessionTimeout.Code},
		{"session timeout above group.max.session.timeout.ms", func() int16 { return joinCode(withSession(1800001)) }, kerr.InvalidSessionTimeout.Code},
		{"join without a protocol type", func() int16 { return joinCode(withType("")) }, kerr.InconsistentGroupProtocol.Code},
		{"join with another protocol type", func() int16 { return joinCode(withType("connect")) }, kerr.InconsistentGroupProtocol.Code},
		{"join with a huge metadata blob", func() int16 { return joinCode(bigMeta()) }, kerr.InvalidRequest.Code},
		{"join with an unknown member id", func() int16 { return joinCode(joinReq("g", "ghost", "range", "")) }, kerr.UnknownMemberID.Code},
		{"join beyond group.max.size", func() int16 { return joinCode(joinReq("g", "", "range", "")) }, kerr.GroupMaxSizeReached.Code},
		{"sync from an unknown member", func() int16 { return syncCode("ghost", gen) }, kerr.UnknownMemberID.Code},
		{"sync with a stale generation", func() int16 { return syncCode(ids[1], gen-1) }, kerr.IllegalGeneration.Code},
		{"sync with another protocol name (v5)", func() int16 { return groupSync(wrongProto) }, kerr.InconsistentGroupProtocol.Code},
		{"sync with an empty group id", func() int16 { return groupSync(syncReq("", ids[1], gen, nil)) }, kerr.InvalidGroupID.Code},
		{"heartbeat from an unknown member", func() int16 { return ct.heartbeat("g", "ghost", gen) }, kerr.UnknownMemberID.Code},
		{"heartbeat with a stale generation", func() int16 { return ct.heartbeat("g", ids[0], gen-1) }, kerr.IllegalGeneration.Code},
		{"heartbeat to an unknown group", func() int16 { return ct.heartbeat("nogroup", ids[0], gen) }, kerr.UnknownMemberID.Code},
		{"heartbeat with an empty group id", func() int16 { return ct.heartbeat("", ids[0], gen) }, kerr.InvalidGroupID.Code},
		{"leave of an unknown member", leaveUnknown, kerr.UnknownMemberID.Code},
		{"commit from an unknown member", func() int16 { return commitCode("ghost", gen, 0) }, kerr.UnknownMemberID.Code},
		{"commit with a stale generation", func() int16 { return commitCode(ids[0], gen-1, 0) }, kerr.IllegalGeneration.Code},
		{"simple commit to a group with members", func() int16 { return commitCode("", -1, 0) }, kerr.UnknownMemberID.Code},
		{"commit for a partition that does not exist", func() int16 { return commitCode(ids[0], gen, 7) }, kerr.UnknownTopicOrPartition.Code},
		{"commit with metadata over offset.metadata.max.bytes", metaCommit, kerr.OffsetMetadataTooLarge.Code},
		{"commit too large for one record batch", hugeCommit, kerr.InvalidCommitOffsetSize.Code},
		{"commit to an unknown group with a generation", func() int16 {
			return ct.commit("nogroup", "x", 3, map[int32]int64{0: 1})[0]
		}, kerr.IllegalGeneration.Code},
		{"delete a group with members", func() int16 { return ct.c.DeleteGroup("g") }, kerr.NonEmptyGroup.Code},
		{"delete an unknown group", func() int16 { return ct.c.DeleteGroup("nogroup") }, kerr.GroupIDNotFound.Code},
	}
	for _, tc := range cases {
		if got := tc.got(); got != tc.want {
			t.Errorf("%s: error %d (%s), want %d (%s)", tc.name, got, kerr.ErrorForCode(got), tc.want, kerr.ErrorForCode(tc.want))
		}
		if after := ct.snapshot(); after != before {
			t.Fatalf("%s changed the group:\nbefore:\n%s\nafter:\n%s", tc.name, before, after)
		}
	}
}

func TestShardStatesAnswerCoordinatorErrors(t *testing.T) {
	ct := newCoordTest(t, map[string]string{"offsets.topic.num.partitions": "1"})
	// A shard the metadata says this broker leads but that is not
	// registered yet (the image is published before it is applied): it is
	// about to load.
	s := ct.c.shards()[0]
	ct.c.mu.Lock()
	delete(ct.c.mu.shards, s.index)
	ct.c.mu.Unlock()
	if code := ct.heartbeat("g", "m", 1); code != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("shard led here, not yet registered: %d", code)
	}
	// A shard another broker leads: NOT_COORDINATOR.
	err := ct.meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		top := img.Topic(metadata.OffsetsTopic)
		st := top.Partitions[0]
		st.Leader, st.LeaderEpoch, st.PartitionEpoch = 2, st.LeaderEpoch+1, st.PartitionEpoch+1
		return []metadata.Record{{Type: metadata.TypePartitionChange, TopicID: top.ID, Partition: 0, PartitionState: &st}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := ct.heartbeat("g", "m", 1); code != kerr.NotCoordinator.Code {
		t.Fatalf("shard led elsewhere: %d", code)
	}
	if f := ct.c.FetchOffsets("g", "", -1, nil, false); f.Code != kerr.NotCoordinator.Code {
		t.Fatalf("shard led elsewhere, fetch: %d", f.Code)
	}
	// A shard still loading: COORDINATOR_LOAD_IN_PROGRESS.
	loading := newShard(ct.c, s.index, s.epoch, s.part)
	ct.c.mu.Lock()
	ct.c.mu.shards[s.index] = loading
	ct.c.mu.Unlock()
	if code := ct.join(req9, joinReq("g", "", "range", "")).wait(t).ErrorCode; code != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("loading shard: %d", code)
	}
	if codes := ct.commit("g", "", -1, map[int32]int64{0: 1}); codes[0] != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("loading shard commit: %v", codes)
	}
	if lg := ct.c.ListGroups(reqV(5), kmsg.NewPtrListGroupsRequest()); lg.ErrorCode != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("loading shard list: %d", lg.ErrorCode)
	}
	loading.load()
	if codes := ct.commit("g", "", -1, map[int32]int64{0: 1}); codes[0] != 0 {
		t.Fatalf("after load: %v", codes)
	}
}
