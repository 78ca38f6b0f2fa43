package group

// SyncGroup, Heartbeat and LeaveGroup of the classic protocol.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func syncError(code int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.ErrorCode = code
	resp.MemberAssignment = []byte{}
	return resp
}

// SyncGroup handles a SyncGroup request: the leader's assignment is
// written and handed to every member; followers wait (holding no lock)
// for it.
func (c *Coordinator) SyncGroup(ctx context.Context, req Request, r *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	ch, resp := c.syncGroup(req, r)
	if ch != nil {
		select {
		case resp = <-ch:
		case <-ctx.Done():
			resp = syncError(kerr.RebalanceInProgress.Code)
		}
	}
	resp.Version = req.Version
	return resp
}

func (c *Coordinator) syncGroup(req Request, r *kmsg.SyncGroupRequest) (chan *kmsg.SyncGroupResponse, *kmsg.SyncGroupResponse) {
	fail := func(code int16) (chan *kmsg.SyncGroupResponse, *kmsg.SyncGroupResponse) { return nil, syncError(code) }
	if !validGroupID(r.Group) {
		return fail(kerr.InvalidGroupID.Code)
	}
	g, code := c.lockGroupByID(r.Group, false)
	if code != 0 {
		return fail(code)
	}
	if g == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	defer g.mu.Unlock()
	m, code := g.classicMemberLocked(r.MemberID, r.InstanceID, r.Generation)
	if code != 0 {
		return fail(code)
	}
	if req.Version >= 5 && (r.ProtocolType != nil && *r.ProtocolType != g.protocolType || r.Protocol != nil && *r.Protocol != g.protocol) {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	m.lastSeen = c.now()
	switch g.state {
	case StatePreparingRebalance:
		return fail(kerr.RebalanceInProgress.Code)
	case StateStable:
		resp := g.syncResponseLocked(m)
		g.maybeStopSyncTimerLocked()
		return nil, resp
	case StateCompletingRebalance:
	default:
		return fail(kerr.UnknownMemberID.Code)
	}
	if m.syncWait != nil {
		m.syncWait <- syncError(kerr.RebalanceInProgress.Code)
	}
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	m.syncWait = ch
	if m.id != g.leader {
		return ch, nil
	}
	// The leader's assignment: members it left out get an empty one.
	for _, mm := range g.members {
		mm.assignment = []byte{}
	}
	for _, a := range r.GroupAssignment {
		if mm := g.members[a.MemberID]; mm != nil {
			mm.assignment = append([]byte(nil), a.MemberAssignment...)
		}
	}
	if err := g.shard.write(recs(g.groupRecordLocked())); err != nil {
		code := writeErrorCode(err)
		if code == kerr.InvalidCommitOffsetSize.Code {
			code = kerr.UnknownServerError.Code // Kafka's answer to a group record too large
		}
		c.log.Warn("writing a group's assignment", "group", g.id, "err", err)
		for _, mm := range g.members {
			if mm.syncWait != nil {
				mm.syncWait <- syncError(code)
				mm.syncWait = nil
			}
		}
		g.prepareRebalanceLocked("the assignment could not be written")
		return nil, <-ch
	}
	g.setStateLocked(StateStable)
	for _, mm := range g.members {
		if mm.syncWait != nil {
			mm.syncWait <- g.syncResponseLocked(mm)
			mm.syncWait = nil
		}
	}
	g.maybeStopSyncTimerLocked()
	return ch, nil
}

// maybeStopSyncTimerLocked stops the pending-sync timer once every member
// has its assignment. Until then it runs on in Stable too: a member that
// never asks for its assignment is removed when it fires, as in Kafka.
func (g *Group) maybeStopSyncTimerLocked() {
	for _, m := range g.members {
		if !m.synced {
			return
		}
	}
	if g.syncTimer != nil {
		g.syncTimer.Stop()
		g.syncTimer = nil
	}
}

func (g *Group) syncResponseLocked(m *classicMember) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType = &pt
	resp.Protocol = &p
	resp.MemberAssignment = m.assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	m.synced = true
	return resp
}

// classicMemberLocked finds the member of a SyncGroup, Heartbeat or
// OffsetCommit and checks its instance id and generation, in Kafka's
// order: fenced instance, unknown member, stale generation.
func (g *Group) classicMemberLocked(memberID string, instanceID *string, generation int32) (*classicMember, int16) {
	if g.kind == KindConsumer && !g.emptyLocked() {
		return nil, kerr.GroupIDNotFound.Code
	}
	if instanceID != nil {
		if cur, ok := g.static[*instanceID]; ok && cur != memberID {
			return nil, kerr.FencedInstanceID.Code
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, kerr.UnknownMemberID.Code
	}
	if generation != g.generation {
		return nil, kerr.IllegalGeneration.Code
	}
	return m, 0
}

// Heartbeat handles a Heartbeat request: it keeps the member's session
// alive and tells it when to rejoin.
func (c *Coordinator) Heartbeat(req Request, r *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.Version = req.Version
	if !validGroupID(r.Group) {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, code := c.lockGroupByID(r.Group, false)
	if code != 0 {
		resp.ErrorCode = code
		return resp
	}
	if g == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp
	}
	defer g.mu.Unlock()
	m, code := g.classicMemberLocked(r.MemberID, r.InstanceID, r.Generation)
	if code != 0 {
		resp.ErrorCode = code
		return resp
	}
	switch g.state {
	case StatePreparingRebalance:
		m.lastSeen = c.now()
		resp.ErrorCode = kerr.RebalanceInProgress.Code
	case StateCompletingRebalance, StateStable:
		m.lastSeen = c.now()
	default:
		resp.ErrorCode = kerr.UnknownMemberID.Code
	}
	return resp
}

// LeaveGroup handles a LeaveGroup request: v0–v2 name one member, v3+ a
// batch of members by member id and/or group.instance.id (KIP-345).
func (c *Coordinator) LeaveGroup(req Request, r *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	resp.Version = req.Version
	leaving := r.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: r.MemberID}}
	}
	if !validGroupID(r.Group) {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, code := c.lockGroupByID(r.Group, false)
	if code != 0 {
		resp.ErrorCode = code
		return resp
	}
	if g == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp
	}
	defer g.mu.Unlock()
	if g.kind == KindConsumer && !g.emptyLocked() {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	removed := false
	for _, l := range leaving {
		lm := kmsg.NewLeaveGroupResponseMember()
		lm.MemberID, lm.InstanceID = l.MemberID, l.InstanceID
		lm.ErrorCode = g.leaveOneLocked(l.MemberID, l.InstanceID, &removed)
		if lm.ErrorCode == 0 {
			reason := "not given"
			if l.Reason != nil {
				reason = *l.Reason // KIP-800
			}
			c.log.Info("member left group", "group", g.id, "member", l.MemberID, "reason", reason)
		}
		resp.Members = append(resp.Members, lm)
	}
	if req.Version < 3 {
		resp.ErrorCode = resp.Members[0].ErrorCode
		resp.Members = nil
	}
	if removed {
		g.afterMembershipChangeLocked()
	}
	return resp
}

func (g *Group) leaveOneLocked(memberID string, instanceID *string, removed *bool) int16 {
	if instanceID != nil {
		cur, ok := g.static[*instanceID]
		switch {
		case !ok:
			return kerr.UnknownMemberID.Code
		case memberID != "" && memberID != cur:
			return kerr.FencedInstanceID.Code
		}
		memberID = cur
	}
	if t, ok := g.pending[memberID]; ok {
		t.Stop()
		delete(g.pending, memberID)
		*removed = true
		return 0
	}
	m := g.members[memberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	g.removeMemberLocked(m, kerr.UnknownMemberID.Code)
	*removed = true
	return 0
}
