package group

// The classic rebalance: the join phase (PreparingRebalance) ends when
// every member has rejoined or the rebalance timeout passes; the sync
// phase (CompletingRebalance) ends when the leader's assignment is
// written, or the rebalance timeout passes for members that never sync.

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (g *Group) setStateLocked(s State) {
	g.state = s
	g.stateTime = g.shard.c.now()
}

// maxRebalanceTimeoutLocked is the longest rebalance timeout of the
// members: the join phase waits that long for everyone.
func (g *Group) maxRebalanceTimeoutLocked() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// prepareRebalanceLocked starts a join phase. Members waiting for their
// assignment are told to rejoin. The first rebalance of an empty group
// waits group.initial.rebalance.delay.ms for more members, extended by the
// same delay while members keep arriving, up to the rebalance timeout.
func (g *Group) prepareRebalanceLocked(reason string) {
	c := g.shard.c
	if g.state == StateCompletingRebalance {
		for _, m := range g.members {
			if m.syncWait != nil {
				m.syncWait <- syncError(kerr.RebalanceInProgress.Code)
				m.syncWait = nil
			}
			m.assignment = nil
		}
	}
	if g.syncTimer != nil {
		g.syncTimer.Stop()
		g.syncTimer = nil
	}
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	timeout := g.maxRebalanceTimeoutLocked()
	gen := g.generation
	if g.state == StateEmpty && c.cfg.initialDelay > 0 {
		delay := min(c.cfg.initialDelay, timeout)
		g.initialJoin = true
		g.joinedInDelay = false
		g.initialLeft = timeout - delay
		g.rebalanceTimer = c.afterFunc(delay, func() { g.onInitialDelay(gen) })
	} else {
		g.initialJoin = false
		g.rebalanceTimer = c.afterFunc(timeout, func() { g.onJoinTimeout(gen) })
	}
	g.setStateLocked(StatePreparingRebalance)
	c.log.Info("preparing to rebalance group", "group", g.id, "generation", g.generation, "members", len(g.members), "reason", reason)
}

func (g *Group) onInitialDelay(gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || g.state != StatePreparingRebalance || g.generation != gen || !g.initialJoin {
		return
	}
	c := g.shard.c
	if g.joinedInDelay && g.initialLeft > 0 {
		delay := min(c.cfg.initialDelay, g.initialLeft)
		g.initialLeft -= delay
		g.joinedInDelay = false
		g.rebalanceTimer = c.afterFunc(delay, func() { g.onInitialDelay(gen) })
		return
	}
	g.initialJoin = false
	g.completeJoinLocked()
}

func (g *Group) onJoinTimeout(gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || g.state != StatePreparingRebalance || g.generation != gen {
		return
	}
	g.completeJoinLocked()
}

// maybeCompleteJoinLocked ends the join phase early once every member
// (and every member id handed out by KIP-394) has joined.
func (g *Group) maybeCompleteJoinLocked() {
	if g.state != StatePreparingRebalance || g.initialJoin || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.joinWait == nil {
			return
		}
	}
	g.completeJoinLocked()
}

// completeJoinLocked ends the join phase: members that did not rejoin are
// removed, the generation advances, the protocol is chosen by vote and
// every member gets its JoinGroup response (the leader with all members'
// metadata).
func (g *Group) completeJoinLocked() {
	c := g.shard.c
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
		g.rebalanceTimer = nil
	}
	g.initialJoin = false
	for _, id := range append([]string(nil), g.joinOrder...) {
		if m := g.members[id]; m != nil && m.joinWait == nil {
			g.removeMemberLocked(m, kerr.UnknownMemberID.Code)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocol, g.leader = "", ""
		g.setStateLocked(StateEmpty)
		if err := g.shard.write(recs(g.groupRecordLocked())); err != nil {
			c.log.Warn("writing an empty group's record", "group", g.id, "err", err)
		}
		return
	}
	g.protocol = g.voteLocked()
	if g.members[g.leader] == nil {
		g.leader = g.joinOrder[0]
	}
	g.setStateLocked(StateCompletingRebalance)
	now := c.now()
	for _, id := range g.joinOrder {
		m := g.members[id]
		m.assignment = nil
		m.synced = false
		m.lastSeen = now
		m.joinWait <- g.joinResponseLocked(joinVersionAny, m, true)
		m.joinWait = nil
	}
	gen := g.generation
	g.syncTimer = c.afterFunc(g.maxRebalanceTimeoutLocked(), func() { g.onSyncTimeout(gen) })
	c.log.Info("stabilized group", "group", g.id, "generation", g.generation, "protocol", g.protocol, "members", len(g.members))
}

// joinVersionAny marks a response built before the member's request
// version is known; the handler sets the version when encoding.
const joinVersionAny = -1

// joinResponseLocked is m's JoinGroup response for the current generation;
// withMembers lists the members for the leader.
func (g *Group) joinResponseLocked(version int16, m *classicMember, withMembers bool) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	if version >= 0 {
		resp.Version = version
	}
	resp.Generation = g.generation
	pt, p := g.protocolType, g.protocol
	resp.ProtocolType = &pt
	resp.Protocol = &p
	resp.LeaderID = g.leader
	resp.MemberID = m.id
	if withMembers && m.id == g.leader {
		for _, id := range g.joinOrder {
			o := g.members[id]
			jm := kmsg.NewJoinGroupResponseMember()
			jm.MemberID = o.id
			if o.instanceID != "" {
				inst := o.instanceID
				jm.InstanceID = &inst
			}
			jm.ProtocolMetadata = o.metadataFor(g.protocol)
			if jm.ProtocolMetadata == nil {
				jm.ProtocolMetadata = []byte{}
			}
			resp.Members = append(resp.Members, jm)
		}
	}
	return resp
}

// voteLocked picks the protocol for the generation as Kafka does: among
// the protocols every member supports, each member votes for the one it
// lists first; most votes wins, ties going to the leader's (or oldest
// member's) preference.
func (g *Group) voteLocked() string {
	var pref *classicMember
	if m := g.members[g.leader]; m != nil {
		pref = m
	} else {
		pref = g.members[g.joinOrder[0]]
	}
	var candidates []string
	for _, p := range pref.protocols {
		if g.allSupportLocked(p.Name, "") {
			candidates = append(candidates, p.Name)
		}
	}
	if len(candidates) == 0 {
		return pref.protocols[0].Name // unreachable: joins check support
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// onSyncTimeout removes the members that did not ask for their assignment
// within the rebalance timeout of the join's end (Kafka's pending-sync
// timeout), and rebalances without them.
func (g *Group) onSyncTimeout(gen int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || g.state != StateCompletingRebalance && g.state != StateStable || g.generation != gen {
		return
	}
	g.syncTimer = nil
	for _, id := range append([]string(nil), g.joinOrder...) {
		if m := g.members[id]; m != nil && m.syncWait == nil && !m.synced {
			g.removeMemberLocked(m, kerr.UnknownMemberID.Code)
		}
	}
	g.afterMembershipChangeLocked()
}

// afterMembershipChangeLocked rebalances after members left or expired.
func (g *Group) afterMembershipChangeLocked() {
	switch g.state {
	case StateStable, StateCompletingRebalance:
		g.prepareRebalanceLocked("members left or expired")
		g.maybeCompleteJoinLocked()
	case StatePreparingRebalance:
		g.maybeCompleteJoinLocked()
	}
}

// removeMemberLocked drops m; its waiting requests get code.
func (g *Group) removeMemberLocked(m *classicMember, code int16) {
	g.failWaitersLocked(m, code)
	if m.sessionTimer != nil {
		m.sessionTimer.Stop()
	}
	delete(g.members, m.id)
	for i, id := range g.joinOrder {
		if id == m.id {
			g.joinOrder = append(g.joinOrder[:i], g.joinOrder[i+1:]...)
			break
		}
	}
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
	}
}

// failWaitersLocked answers m's waiting JoinGroup/SyncGroup with code.
func (g *Group) failWaitersLocked(m *classicMember, code int16) {
	if m.joinWait != nil {
		m.joinWait <- joinError(joinVersionAny, m.id, code)
		m.joinWait = nil
	}
	if m.syncWait != nil {
		m.syncWait <- syncError(code)
		m.syncWait = nil
	}
}

// scheduleSessionLocked arms m's session timer for m.lastSeen +
// session timeout. Heartbeats only move lastSeen; the timer re-arms itself
// for the rest of the session when it finds a newer heartbeat.
func (g *Group) scheduleSessionLocked(m *classicMember) {
	c := g.shard.c
	wait := m.lastSeen.Add(m.sessionTimeout).Sub(c.now())
	m.sessionTimer = c.afterFunc(max(wait, 0), func() { g.onSessionCheck(m) })
}

func (g *Group) onSessionCheck(m *classicMember) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || g.members[m.id] != m {
		return
	}
	c := g.shard.c
	// A member waiting for its join or sync response is alive: the
	// phase's own timeout decides about it (Kafka's hasSatisfiedHeartbeat).
	waiting := m.joinWait != nil || m.syncWait != nil
	if waiting || c.now().Sub(m.lastSeen) < m.sessionTimeout {
		if waiting {
			m.lastSeen = c.now()
		}
		g.scheduleSessionLocked(m)
		return
	}
	c.log.Info("group member session expired", "group", g.id, "member", m.id, "session_timeout", m.sessionTimeout)
	g.removeMemberLocked(m, kerr.UnknownMemberID.Code)
	g.afterMembershipChangeLocked()
}

// expirePending forgets a KIP-394 member id that was never used.
func (g *Group) expirePending(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead {
		return
	}
	if _, ok := g.pending[id]; !ok {
		return
	}
	delete(g.pending, id)
	g.maybeCompleteJoinLocked()
}
