package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/record"
)

// TestReplayRebuildsGroups writes groups, offsets and deletions through
// the coordinator, rebuilds a new coordinator from the log alone, and
// compares what clients can observe.
func TestReplayRebuildsGroups(t *testing.T) {
	ct := newCoordTest(t, map[string]string{"offsets.topic.num.partitions": "3"})
	ids, gen := ct.stableGroup("stable", 2)
	ct.commit("stable", ids[0], gen, map[int32]int64{0: 10, 1: 11, 2: 12})
	ct.commit("stable", ids[1], gen, map[int32]int64{1: 21}) // overwrites
	inst := "static-1"
	jr := joinReq("static", "", "range", "s")
	jr.InstanceID = &inst
	rs := ct.join(req9, jr).wait(t)
	ct.sync(syncReq("static", rs.MemberID, rs.Generation, map[string]string{rs.MemberID: "S"})).wait(t)

	ct.commit("simple", "", -1, map[int32]int64{0: 5, 1: 6})
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "simple"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	if r := ct.c.OffsetDelete(reqV(0), od); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", r)
	}
	ct.commit("deleted", "", -1, map[int32]int64{0: 1})
	if code := ct.c.DeleteGroup("deleted"); code != 0 {
		t.Fatalf("delete group: %d", code)
	}
	// A group whose members all left: Empty with its protocol type.
	lid, lp := ct.joinNew("left", "range", "l")
	lr := lp.wait(t)
	ct.sync(syncReq("left", lid, lr.Generation, nil)).wait(t)
	ct.commit("left", lid, lr.Generation, map[int32]int64{2: 3})
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = "left", lid
	ct.c.LeaveGroup(reqV(1), leave)

	before := ct.snapshot()
	ct.restart()
	after := ct.snapshot()
	if before != after {
		t.Fatalf("state after replay differs:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := ct.committed("stable"); got[0] != 10 || got[1] != 21 || got[2] != 12 {
		t.Fatalf("stable offsets %v", got)
	}
	if got := ct.committed("simple"); got[0] != 5 || got[1] != -1 {
		t.Fatalf("simple offsets %v", got)
	}
	if ct.group("deleted") != nil {
		t.Fatal("a deleted group came back on replay")
	}
	// The loaded Stable group carries on: same generation, members can
	// heartbeat and commit, and the static member keeps its identity.
	if code := ct.heartbeat("stable", ids[1], gen); code != 0 {
		t.Fatalf("heartbeat after replay: %d", code)
	}
	if codes := ct.commit("stable", ids[0], gen, map[int32]int64{0: 100}); codes[0] != 0 {
		t.Fatalf("commit after replay: %v", codes)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "static", "someone-else", rs.Generation, &inst
	if code := ct.c.Heartbeat(reqV(4), hb).ErrorCode; code != kerr.FencedInstanceID.Code {
		t.Fatalf("static fencing after replay: %d", code)
	}
	// Members that do not come back are evicted after their session.
	ct.clock.Advance(11 * time.Second)
	if st := ct.state("static"); st != StateEmpty {
		t.Fatalf("static group after its member's session: %s", st)
	}
}

// TestOffsetsExpiry follows KIP-211: offsets of a group with members never
// expire; an emptied group's expire retention after it became empty; a
// simple group's retention after each commit; a group with nothing left
// is deleted, durably.
func TestOffsetsExpiry(t *testing.T) {
	ct := newCoordTest(t, map[string]string{"offsets.retention.minutes": "10", "offsets.retention.check.interval.ms": "60000"})
	ids, gen := ct.stableGroup("live", 1)
	ct.commit("live", ids[0], gen, map[int32]int64{0: 1})
	ct.commit("simple", "", -1, map[int32]int64{0: 2})
	eid, ep := ct.joinNew("emptied", "range", "e")
	er := ep.wait(t)
	ct.sync(syncReq("emptied", eid, er.Generation, nil)).wait(t)
	ct.commit("emptied", eid, er.Generation, map[int32]int64{0: 3})

	// 6 minutes on: the emptied group's member leaves now.
	for range 6 * 20 { // heartbeats every 3 s keep the 10 s sessions
		ct.clock.Advance(3 * time.Second)
		ct.heartbeat("live", ids[0], gen)
		ct.heartbeat("emptied", eid, er.Generation)
	}
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = "emptied", eid
	ct.c.LeaveGroup(reqV(1), leave)
	// 6 more minutes: the simple group's commit is 12 minutes old, the
	// emptied group has been empty for 6.
	for range 6 * 20 {
		ct.clock.Advance(3 * time.Second)
		ct.heartbeat("live", ids[0], gen)
	}
	if ct.group("simple") != nil {
		t.Fatal("simple group's offsets did not expire after retention")
	}
	if got := ct.committed("emptied"); got[0] != 3 {
		t.Fatalf("emptied group's offsets expired early: %v", got)
	}
	for range 5 * 20 {
		ct.clock.Advance(3 * time.Second)
		ct.heartbeat("live", ids[0], gen)
	}
	if ct.group("emptied") != nil {
		t.Fatal("emptied group's offsets did not expire retention after it became empty")
	}
	if got := ct.committed("live"); got[0] != 1 {
		t.Fatalf("a live group lost its offsets: %v", got)
	}
	ct.restart()
	if ct.group("simple") != nil || ct.group("emptied") != nil {
		t.Fatal("expired groups came back after a restart")
	}
	if got := ct.committed("live"); got[0] != 1 {
		t.Fatalf("live offsets after restart: %v", got)
	}
}

// TestReplaySkipsCorruptRecords: a record that does not decode is skipped
// with the rest of the shard loaded.
func TestReplaySkipsCorruptRecords(t *testing.T) {
	ct := newCoordTest(t, nil)
	ct.commit("g", "", -1, map[int32]int64{0: 7})
	p := ct.parts.Get(metadata.OffsetsTopic, 0)
	junk := record.Build(record.BatchSpec{LeaderEpoch: -1, Records: []record.RecordSpec{
		{Key: []byte{0, 1, 0xff}, Value: []byte{1}},           // truncated offset key
		{Key: []byte{0, 2, 0, 1, 'g'}, Value: []byte{0, 3}},   // truncated group value
		{Key: []byte{0xff, 0xff}, Value: nil},                 // negative key version
		{Key: offsetKey("g", "t", 1), Value: []byte{0, 9, 1}}, // unknown value version
	}})
	if _, err := p.Append(junk, -1); err != nil {
		t.Fatal(err)
	}
	ct.restart()
	if got := ct.committed("g"); got[0] != 7 || got[1] != -1 {
		t.Fatalf("offsets after a corrupt tail: %v", got)
	}
}

// TestLeadershipMovesUnloadAndReload: when another broker leads the
// shard's partition the groups are unloaded (waiting joins get
// NOT_COORDINATOR); when leadership comes back they are replayed.
func TestLeadershipMovesUnloadAndReload(t *testing.T) {
	ct := newCoordTest(t, nil)
	ids, gen := ct.stableGroup("g", 2)
	ct.commit("g", ids[0], gen, map[int32]int64{0: 42})
	p := ct.join(req9, joinReq("g", ids[0], "range", "new-metadata"))
	ct.waitAwaiting("g", 1, false)
	setLeader := func(leader, epoch int32) {
		err := ct.meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
			top := img.Topic(metadata.OffsetsTopic)
			st := top.Partitions[0]
			st.Leader, st.LeaderEpoch, st.PartitionEpoch = leader, epoch, st.PartitionEpoch+1
			return []metadata.Record{{Type: metadata.TypePartitionChange, TopicID: top.ID, Partition: 0, PartitionState: &st}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setLeader(2, 1)
	ct.c.SyncLeadership(ct.meta.Image())
	if r := p.wait(t); r.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("waiting join after losing leadership: %d", r.ErrorCode)
	}
	if code := ct.heartbeat("g", ids[0], gen); code != kerr.NotCoordinator.Code {
		t.Fatalf("heartbeat to a former coordinator: %d", code)
	}
	setLeader(1, 2)
	ct.parts.Get(metadata.OffsetsTopic, 0).SetState(partitionStateOf(ct.meta.Image()))
	ct.syncLeadership()
	if got := ct.committed("g"); got[0] != 42 {
		t.Fatalf("offsets after leadership came back: %v", got)
	}
	if code := ct.heartbeat("g", ids[0], gen); code != 0 {
		t.Fatalf("heartbeat after reload: %d", code)
	}
}

func partitionStateOf(img *metadata.Image) partition.State {
	pm := img.Topic(metadata.OffsetsTopic).Partitions[0]
	return partition.State{Leader: pm.Leader, LeaderEpoch: pm.LeaderEpoch, Replicas: pm.Replicas, ISR: pm.ISR}
}

// TestRecordsUseTheConfiguredCodec: offsets.topic.compression.codec
// compresses the coordinator's batches, and they replay.
func TestRecordsUseTheConfiguredCodec(t *testing.T) {
	for codec := 1; codec <= 4; codec++ {
		ct := newCoordTest(t, map[string]string{"offsets.topic.compression.codec": string(rune('0' + codec))})
		ct.commit("g", "", -1, map[int32]int64{0: int64(codec), 1: 9})
		p := ct.parts.Get(metadata.OffsetsTopic, 0)
		res, err := p.Read(0, 1<<20, true)
		if err != nil {
			t.Fatal(err)
		}
		buf, err := res.Data.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		it := record.NewBatches(buf)
		h, _, ok := it.Next()
		if !ok || h.Codec() != codec {
			t.Fatalf("codec %d: stored batch codec %d (ok=%v)", codec, h.Codec(), ok)
		}
		ct.restart()
		if got := ct.committed("g"); got[0] != int64(codec) || got[1] != 9 {
			t.Fatalf("codec %d: offsets after replay %v", codec, got)
		}
		ct.stop()
	}
}

// TestDeletedTopicsOffsetsGo: deleting a topic deletes every group's
// committed offsets of it, durably, as Kafka does.
func TestDeletedTopicsOffsetsGo(t *testing.T) {
	ct := newCoordTest(t, nil)
	ct.commit("g", "", -1, map[int32]int64{0: 1, 1: 2})
	ct.c.SyncLeadership(ct.meta.Image()) // the coordinator learns the topics
	err := ct.meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		return []metadata.Record{{Type: metadata.TypeDeleteTopic, TopicID: img.Topic("t").ID}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ct.c.SyncLeadership(ct.meta.Image())
	deadline := time.Now().Add(10 * time.Second)
	for {
		f := ct.c.FetchOffsets("g", "", -1, nil, false)
		if len(f.Topics) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets of a deleted topic are still there: %+v", f.Topics)
		}
		time.Sleep(time.Millisecond)
	}
	ct.restart()
	if f := ct.c.FetchOffsets("g", "", -1, nil, false); len(f.Topics) != 0 {
		t.Fatalf("offsets of a deleted topic came back after a restart: %+v", f.Topics)
	}
}
