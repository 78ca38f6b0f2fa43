package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestClassicJoinSyncHeartbeatLeave(t *testing.T) {
	ct := newCoordTest(t, nil)
	// First member: KIP-394 id, then a generation of its own.
	a, pa := ct.joinNew("g", "range", "ma")
	ra := pa.wait(t)
	if ra.ErrorCode != 0 || ra.Generation != 1 || ra.LeaderID != a || ra.MemberID != a || len(ra.Members) != 1 || *ra.Protocol != "range" {
		t.Fatalf("first join: %+v", ra)
	}
	if string(ra.Members[0].ProtocolMetadata) != "ma" {
		t.Fatalf("leader sees metadata %q", ra.Members[0].ProtocolMetadata)
	}
	if st := ct.state("g"); st != StateCompletingRebalance {
		t.Fatalf("state %s", st)
	}
	// A commit while the assignment is pending is refused.
	if codes := ct.commit("g", a, 1, map[int32]int64{0: 5}); codes[0] != kerr.RebalanceInProgress.Code {
		t.Fatalf("commit in CompletingRebalance: %v", codes)
	}
	if r := ct.sync(syncReq("g", a, 1, map[string]string{a: "p0p1p2"})).wait(t); r.ErrorCode != 0 || string(r.MemberAssignment) != "p0p1p2" {
		t.Fatalf("sync: %+v", r)
	}
	if code := ct.heartbeat("g", a, 1); code != 0 {
		t.Fatalf("heartbeat: %d", code)
	}
	if codes := ct.commit("g", a, 1, map[int32]int64{0: 5}); codes[0] != 0 {
		t.Fatalf("commit: %v", codes)
	}

	// Second member: the first learns of the rebalance from its heartbeat.
	b, pb := ct.joinNew("g", "range", "mb")
	pb.notYet(t)
	if code := ct.heartbeat("g", a, 1); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during rebalance: %d", code)
	}
	// Commits of the old generation are still accepted while members rejoin.
	if codes := ct.commit("g", a, 1, map[int32]int64{0: 6}); codes[0] != 0 {
		t.Fatalf("commit in PreparingRebalance: %v", codes)
	}
	pa = ct.join(req9, joinReq("g", a, "range", "ma"))
	ra, rb := pa.wait(t), pb.wait(t)
	if ra.Generation != 2 || rb.Generation != 2 || ra.LeaderID != a || len(ra.Members) != 2 || len(rb.Members) != 0 {
		t.Fatalf("second generation: leader %+v follower %+v", ra, rb)
	}
	fs := ct.sync(syncReq("g", b, 2, nil))
	if r := ct.sync(syncReq("g", a, 2, map[string]string{a: "A", b: "B"})).wait(t); string(r.MemberAssignment) != "A" {
		t.Fatalf("leader assignment %q", r.MemberAssignment)
	}
	if r := fs.wait(t); r.ErrorCode != 0 || string(r.MemberAssignment) != "B" {
		t.Fatalf("follower sync %+v", r)
	}
	// Stale generation and unknown members.
	if code := ct.heartbeat("g", a, 1); code != kerr.IllegalGeneration.Code {
		t.Fatalf("stale heartbeat: %d", code)
	}
	if code := ct.heartbeat("g", "nobody", 2); code != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown heartbeat: %d", code)
	}

	// b leaves: a rebalances alone.
	lr := kmsg.NewPtrLeaveGroupRequest()
	lr.Group = "g"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = b
	lr.Members = append(lr.Members, lm)
	if resp := ct.c.LeaveGroup(reqV(5), lr); resp.ErrorCode != 0 || resp.Members[0].ErrorCode != 0 {
		t.Fatalf("leave: %+v", resp)
	}
	if code := ct.heartbeat("g", b, 2); code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat of a member that left: %d", code)
	}
	if code := ct.heartbeat("g", a, 2); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat after a leave: %d", code)
	}
	if r := ct.join(req9, joinReq("g", a, "range", "ma")).wait(t); r.Generation != 3 || len(r.Members) != 1 {
		t.Fatalf("third generation: %+v", r)
	}
	// The last member leaves (v0 form): the group is Empty, offsets stay.
	lr = kmsg.NewPtrLeaveGroupRequest()
	lr.Group, lr.MemberID = "g", a
	if resp := ct.c.LeaveGroup(reqV(0), lr); resp.ErrorCode != 0 {
		t.Fatalf("leave v0: %d", resp.ErrorCode)
	}
	if st := ct.state("g"); st != StateEmpty {
		t.Fatalf("state after the last leave: %s", st)
	}
	if got := ct.committed("g"); got[0] != 6 {
		t.Fatalf("offsets after leave: %v", got)
	}
}

func TestClassicSessionTimeoutEvicts(t *testing.T) {
	ct := newCoordTest(t, nil)
	ids, gen := ct.stableGroup("g", 2)
	// a keeps heartbeating, b goes silent; sessions are 10 s.
	for range 4 {
		ct.clock.Advance(3 * time.Second)
		if code := ct.heartbeat("g", ids[0], gen); code != 0 && ct.state("g") == StateStable {
			t.Fatalf("heartbeat: %d", code)
		}
	}
	if st := ct.state("g"); st != StatePreparingRebalance {
		t.Fatalf("after b's session expired the group is %s", st)
	}
	if code := ct.heartbeat("g", ids[1], gen); code != kerr.UnknownMemberID.Code {
		t.Fatalf("evicted member's heartbeat: %d", code)
	}
	if code := ct.heartbeat("g", ids[0], gen); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("survivor's heartbeat: %d", code)
	}
	r := ct.join(req9, joinReq("g", ids[0], "range", "m0")).wait(t)
	if r.Generation != gen+1 || len(r.Members) != 1 || r.Members[0].MemberID != ids[0] {
		t.Fatalf("rejoin after eviction: %+v", r)
	}
}

func TestClassicRebalanceTimeoutKicksLaggard(t *testing.T) {
	ct := newCoordTest(t, nil)
	ids, gen := ct.stableGroup("g", 2)
	// a rejoins with new metadata; b never rejoins but keeps heartbeating.
	p := ct.join(req9, joinReq("g", ids[0], "range", "changed"))
	ct.waitAwaiting("g", 1, false)
	for range 10 { // rebalance timeout 30 s
		p.notYet(t)
		ct.clock.Advance(3 * time.Second)
		ct.heartbeat("g", ids[1], gen)
	}
	r := p.wait(t)
	if r.ErrorCode != 0 || r.Generation != gen+1 || len(r.Members) != 1 {
		t.Fatalf("join after the rebalance timeout: %+v", r)
	}
	if code := ct.heartbeat("g", ids[1], gen); code != kerr.UnknownMemberID.Code {
		t.Fatalf("laggard's heartbeat: %d", code)
	}
}

func TestClassicSyncTimeoutRemovesMembersThatNeverSync(t *testing.T) {
	ct := newCoordTest(t, nil)
	ids, _ := ct.stableGroup("g", 2)
	pa := ct.join(req9, joinReq("g", ids[0], "range", "m0"))
	pb := ct.join(req9, joinReq("g", ids[1], "range", "m1x"))
	ra, rb := pa.wait(t), pb.wait(t)
	// Only the leader syncs; b heartbeats but never asks for its assignment.
	if r := ct.sync(syncReq("g", ids[0], ra.Generation, map[string]string{ids[0]: "A", ids[1]: "B"})).wait(t); r.ErrorCode != 0 {
		t.Fatalf("leader's sync: %d", r.ErrorCode)
	}
	for range 10 {
		ct.clock.Advance(3100 * time.Millisecond)
		ct.heartbeat("g", ids[0], ra.Generation)
		ct.heartbeat("g", ids[1], rb.Generation)
	}
	g := ct.group("g")
	g.mu.Lock()
	_, bThere := g.members[ids[1]]
	g.mu.Unlock()
	if bThere {
		t.Fatal("a member that never synced is still in the group")
	}
	if st := ct.state("g"); st != StatePreparingRebalance {
		t.Fatalf("state %s, want PreparingRebalance without the member", st)
	}
}

func TestClassicInitialRebalanceDelay(t *testing.T) {
	ct := newCoordTest(t, map[string]string{"group.initial.rebalance.delay.ms": "3000"})
	_, pa := ct.joinNew("g", "range", "a")
	ct.waitAwaiting("g", 1, false)
	ct.clock.Advance(2 * time.Second)
	pa.notYet(t)
	_, pb := ct.joinNew("g", "range", "b") // extends the delay by 3 s
	ct.waitAwaiting("g", 2, false)
	ct.clock.Advance(2 * time.Second) // t=4: the first delay ended at t=3 with b new: one more
	pa.notYet(t)
	ct.clock.Advance(2500 * time.Millisecond) // t=6.5
	ra, rb := pa.wait(t), pb.wait(t)
	if ra.Generation != 1 || rb.Generation != 1 {
		t.Fatalf("one generation for both: %d %d", ra.Generation, rb.Generation)
	}
}

func TestClassicStaticMemberReplacement(t *testing.T) {
	ct := newCoordTest(t, nil)
	inst := "instance-1"
	jr := joinReq("g", "", "range", "m")
	jr.InstanceID = &inst
	r := ct.join(req9, jr).wait(t) // static members need no KIP-394 round
	if r.ErrorCode != 0 {
		t.Fatalf("static join: %d", r.ErrorCode)
	}
	old := r.MemberID
	ct.sync(syncReq("g", old, r.Generation, map[string]string{old: "A"})).wait(t)

	// The same instance restarts: new member id, same generation, no rebalance.
	jr2 := joinReq("g", "", "range", "m")
	jr2.InstanceID = &inst
	r2 := ct.join(req9, jr2).wait(t)
	if r2.ErrorCode != 0 || r2.MemberID == old || r2.Generation != r.Generation || !r2.SkipAssignment {
		t.Fatalf("static rejoin: %+v", r2)
	}
	if st := ct.state("g"); st != StateStable {
		t.Fatalf("static replacement rebalanced: %s", st)
	}
	if rs := ct.sync(syncReq("g", r2.MemberID, r2.Generation, nil)).wait(t); string(rs.MemberAssignment) != "A" {
		t.Fatalf("replacement's assignment %q", rs.MemberAssignment)
	}
	// The old incarnation is fenced.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "g", old, r.Generation, &inst
	if code := ct.c.Heartbeat(reqV(4), hb).ErrorCode; code != kerr.FencedInstanceID.Code {
		t.Fatalf("old incarnation's heartbeat: %d", code)
	}
	jr3 := joinReq("g", old, "range", "m")
	jr3.InstanceID = &inst
	if code := ct.join(req9, jr3).wait(t).ErrorCode; code != kerr.FencedInstanceID.Code {
		t.Fatalf("old incarnation's join: %d", code)
	}
	// Leave by instance id with the wrong member id is fenced; with none it works.
	lr := kmsg.NewPtrLeaveGroupRequest()
	lr.Group = "g"
	lr.Members = []kmsg.LeaveGroupRequestMember{{MemberID: old, InstanceID: &inst}, {MemberID: "", InstanceID: &inst}}
	resp := ct.c.LeaveGroup(reqV(5), lr)
	if resp.Members[0].ErrorCode != kerr.FencedInstanceID.Code || resp.Members[1].ErrorCode != 0 {
		t.Fatalf("leave by instance: %+v", resp.Members)
	}
	if st := ct.state("g"); st != StateEmpty {
		t.Fatalf("after the static member left: %s", st)
	}
}

func TestClassicProtocolVote(t *testing.T) {
	ct := newCoordTest(t, nil)
	mk := func(memberID string, protos ...string) *kmsg.JoinGroupRequest {
		r := joinReq("g", memberID, protos[0], "")
		r.Protocols = nil
		for _, p := range protos {
			r.Protocols = append(r.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte(p)})
		}
		return r
	}
	ra := ct.join(reqV(3), mk("", "cooperative-sticky", "range")).wait(t) // v3: no KIP-394 round
	ct.sync(syncReq("g", ra.MemberID, ra.Generation, nil)).wait(t)
	pb := ct.join(reqV(3), mk("", "range", "cooperative-sticky", "roundrobin"))
	ct.waitAwaiting("g", 1, false)
	pc := ct.join(reqV(3), mk("", "range", "cooperative-sticky"))
	ct.waitAwaiting("g", 2, false)
	pa := ct.join(reqV(3), mk(ra.MemberID, "cooperative-sticky", "range"))
	for _, r := range []*kmsg.JoinGroupResponse{pa.wait(t), pb.wait(t), pc.wait(t)} {
		if *r.Protocol != "range" {
			t.Fatalf("protocol %q, want range (two votes of three)", *r.Protocol)
		}
	}
	// A member with no protocol in common is refused.
	if code := ct.join(reqV(3), mk("", "roundrobin")).wait(t).ErrorCode; code != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("join without a common protocol: %d", code)
	}
}
