package group

// JoinGroup of the classic protocol (KIP-394 member ids, KIP-345 static
// membership, KIP-814 skip assignment), following Kafka's group
// coordinator state machine.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/record"
)

// maxMemberMetadataBytes bounds the protocol metadata of one JoinGroup
// (all its protocols together). Kafka has no such limit short of
// socket.request.max.bytes, but every member's metadata goes into the
// group's record in __consumer_offsets, which must fit one batch of
// message.max.bytes (1 MiB by default); one member filling it would make
// the whole group unable to complete a rebalance. A real subscription
// (topic names and owned partitions) is far smaller.
const maxMemberMetadataBytes = 256 << 10

// Request is the caller's identity, from the request header and the
// connection.
type Request struct {
	Version    int16
	ClientID   string
	ClientHost string
}

// lockGroup looks up id in s and locks it, retrying if it went Dead in
// between. create makes an empty group if there is none. It returns nil
// (unlocked) when there is no such group or the shard is gone.
func (s *shard) lockGroup(id string, create bool) *Group {
	for {
		var g *Group
		if create {
			g = s.groupOrCreate(id)
		} else {
			g = s.group(id)
		}
		if g == nil {
			return nil
		}
		g.mu.Lock()
		if !g.dead {
			return g
		}
		g.mu.Unlock()
		if s.ready() != 0 {
			return nil
		}
	}
}

// validGroupID is Kafka's rule for the group APIs of the classic
// protocol: a non-empty id. The length limit is that of the record key
// (see maxStringLen).
func validGroupID(id string) bool { return id != "" && len(id) <= maxStringLen }

// JoinGroup handles a JoinGroup request. It returns at once with an error
// or MEMBER_ID_REQUIRED, or waits (holding no lock) until the join phase
// of the rebalance ends, ctx is done, or the shard is unloaded.
func (c *Coordinator) JoinGroup(ctx context.Context, req Request, r *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	ch, resp := c.joinGroup(req, r)
	if ch != nil {
		select {
		case resp = <-ch:
		case <-ctx.Done():
			resp = joinError(req.Version, r.MemberID, kerr.RebalanceInProgress.Code)
		}
	}
	resp.Version = req.Version
	return resp
}

func joinError(version int16, memberID string, code int16) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	if version >= 0 {
		resp.Version = version
	}
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = memberID
	return resp
}

func (c *Coordinator) joinGroup(req Request, r *kmsg.JoinGroupRequest) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	fail := func(code int16) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
		return nil, joinError(req.Version, r.MemberID, code)
	}
	if !validGroupID(r.Group) {
		return fail(kerr.InvalidGroupID.Code)
	}
	s, code := c.shardFor(r.Group)
	if code != 0 {
		return fail(code)
	}
	session := time.Duration(r.SessionTimeoutMillis) * time.Millisecond
	if session < c.cfg.minSession || session > c.cfg.maxSession {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	rebalance := time.Duration(r.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 || rebalance <= 0 {
		rebalance = session // v0 has no rebalance timeout: Kafka uses the session timeout
	}
	if r.ProtocolType == "" || len(r.Protocols) == 0 {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	size := 0
	for _, p := range r.Protocols {
		size += len(p.Name) + len(p.Metadata)
	}
	instance := ""
	if r.InstanceID != nil {
		instance = *r.InstanceID
	}
	if size > maxMemberMetadataBytes || len(instance) > maxStringLen || len(r.ProtocolType) > maxStringLen {
		return fail(kerr.InvalidRequest.Code)
	}

	g := s.lockGroup(r.Group, r.MemberID == "")
	if g == nil {
		if s.ready() != 0 {
			return fail(s.ready())
		}
		return fail(kerr.UnknownMemberID.Code)
	}
	defer g.mu.Unlock()
	if g.kind == KindConsumer {
		if !g.emptyLocked() {
			// Kafka: "Group %s is not a classic group."
			return fail(kerr.GroupIDNotFound.Code)
		}
		// An empty consumer group becomes classic, as in Kafka: its
		// records are deleted first so a reload does not bring it back.
		var tomb []record.RecordSpec
		for _, k := range g.consumer.TombstoneKeys() {
			tomb = append(tomb, recordTombstone(k))
		}
		if err := s.write(tomb); err != nil {
			return fail(writeErrorCode(err))
		}
		g.consumer.Close()
		g.consumer = nil
		g.kind = KindNone
	}
	if len(g.members) > 0 && (r.ProtocolType != g.protocolType || !g.supportsLocked(r.Protocols)) {
		return fail(kerr.InconsistentGroupProtocol.Code)
	}
	m := &classicMember{
		instanceID:       instance,
		clientID:         req.ClientID,
		clientHost:       req.ClientHost,
		sessionTimeout:   session,
		rebalanceTimeout: rebalance,
		protocolType:     r.ProtocolType,
		protocols:        cloneProtocols(r.Protocols),
	}
	if r.MemberID == "" {
		return g.joinUnknownLocked(req, m)
	}
	return g.joinKnownLocked(req, r.MemberID, m)
}

func cloneProtocols(ps []kmsg.JoinGroupRequestProtocol) []kmsg.JoinGroupRequestProtocol {
	out := make([]kmsg.JoinGroupRequestProtocol, len(ps))
	for i, p := range ps {
		out[i] = kmsg.JoinGroupRequestProtocol{Name: p.Name, Metadata: append([]byte(nil), p.Metadata...)}
	}
	return out
}

// supportsLocked reports whether some protocol of ps is supported by every
// member (Kafka's supportsProtocols).
func (g *Group) supportsLocked(ps []kmsg.JoinGroupRequestProtocol) bool {
	for _, p := range ps {
		if g.allSupportLocked(p.Name, "") {
			return true
		}
	}
	return false
}

// allSupportLocked reports whether every member but skip lists protocol.
func (g *Group) allSupportLocked(protocol, skip string) bool {
	for id, m := range g.members {
		if id != skip && !hasProtocol(m, protocol) {
			return false
		}
	}
	return true
}

func hasProtocol(m *classicMember, name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

func (g *Group) newMemberID(clientID string) string {
	return clientID + "-" + metadata.NewUUID().String()
}

func (g *Group) joinUnknownLocked(req Request, m *classicMember) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	c := g.shard.c
	m.id = g.newMemberID(req.ClientID)
	if m.instanceID != "" {
		if oldID, ok := g.static[m.instanceID]; ok && g.members[oldID] != nil {
			return g.replaceStaticLocked(req, g.members[oldID], m)
		}
	}
	if len(g.members)+len(g.pending) >= c.cfg.maxSize {
		return nil, joinError(req.Version, "", kerr.GroupMaxSizeReached.Code)
	}
	if m.instanceID == "" && req.Version >= 4 {
		// KIP-394: hand out the id; the member joins again with it.
		id := m.id
		g.pending[id] = c.afterFunc(m.sessionTimeout, func() { g.expirePending(id) })
		return nil, joinError(req.Version, id, kerr.MemberIDRequired.Code)
	}
	return g.addMemberLocked(req, m)
}

func (g *Group) joinKnownLocked(req Request, memberID string, m *classicMember) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	fail := func(code int16) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
		return nil, joinError(req.Version, memberID, code)
	}
	m.id = memberID
	if m.instanceID != "" {
		cur, ok := g.static[m.instanceID]
		switch {
		case ok && cur != memberID:
			return fail(kerr.FencedInstanceID.Code)
		case !ok:
			// A member id with an instance id the group does not know.
			return fail(kerr.UnknownMemberID.Code)
		}
	}
	if t, ok := g.pending[memberID]; ok {
		t.Stop()
		delete(g.pending, memberID)
		if len(g.members) >= g.shard.c.cfg.maxSize {
			return fail(kerr.GroupMaxSizeReached.Code)
		}
		return g.addMemberLocked(req, m)
	}
	old := g.members[memberID]
	if old == nil {
		return fail(kerr.UnknownMemberID.Code)
	}
	same := sameProtocols(old.protocols, m.protocols)
	switch g.state {
	case StatePreparingRebalance:
		return g.updateAndWaitLocked(req, old, m)
	case StateCompletingRebalance:
		if same {
			// It missed its JoinGroup response: answer it again.
			old.lastSeen = g.shard.c.now()
			return nil, g.joinResponseLocked(req.Version, old, true)
		}
		return g.updateAndWaitLocked(req, old, m)
	case StateStable:
		if same && old.id != g.leader {
			old.lastSeen = g.shard.c.now()
			return nil, g.joinResponseLocked(req.Version, old, false)
		}
		return g.updateAndWaitLocked(req, old, m)
	default:
		return fail(kerr.UnknownMemberID.Code)
	}
}

func sameProtocols(a, b []kmsg.JoinGroupRequestProtocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || string(a[i].Metadata) != string(b[i].Metadata) {
			return false
		}
	}
	return true
}

// addMemberLocked adds m and has it wait for the join phase to end.
func (g *Group) addMemberLocked(req Request, m *classicMember) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	c := g.shard.c
	g.kind = KindClassic
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	m.lastSeen = c.now()
	g.members[m.id] = m
	g.joinOrder = append(g.joinOrder, m.id)
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	m.joinWait = ch
	g.scheduleSessionLocked(m)
	if g.state == StatePreparingRebalance {
		g.joinedInDelay = true
	} else {
		g.prepareRebalanceLocked("a new member joined (" + m.id + ")")
	}
	g.maybeCompleteJoinLocked()
	return ch, nil
}

// updateAndWaitLocked takes a known member's new join (protocols,
// timeouts) and has it wait for the join phase, starting a rebalance if
// none runs.
func (g *Group) updateAndWaitLocked(req Request, old, m *classicMember) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	old.protocols = m.protocols
	old.sessionTimeout = m.sessionTimeout
	old.rebalanceTimeout = m.rebalanceTimeout
	old.clientID, old.clientHost = m.clientID, m.clientHost
	old.lastSeen = g.shard.c.now()
	if old.joinWait != nil {
		// A retried join (e.g. on a new connection): the old request's
		// connection is gone or will be told to retry.
		old.joinWait <- joinError(req.Version, old.id, kerr.RebalanceInProgress.Code)
	}
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	old.joinWait = ch
	if g.state != StatePreparingRebalance {
		g.prepareRebalanceLocked("member " + old.id + " rejoined with new metadata or as the leader")
	}
	g.maybeCompleteJoinLocked()
	return ch, nil
}

// replaceStaticLocked gives a rejoining static member (known instance id,
// no member id) a new member id in place of the old one, which is fenced
// (KIP-345). A Stable group does not rebalance unless the member's new
// protocols would change the group's chosen protocol, as in Kafka: the
// metadata bytes themselves may differ (a restarted consumer owns no
// partitions yet), the member gets the current generation back.
func (g *Group) replaceStaticLocked(req Request, old, m *classicMember) (chan *kmsg.JoinGroupResponse, *kmsg.JoinGroupResponse) {
	g.failWaitersLocked(old, kerr.FencedInstanceID.Code)
	if old.sessionTimer != nil {
		old.sessionTimer.Stop()
	}
	nm := *old
	nm.id = m.id
	nm.clientID, nm.clientHost = m.clientID, m.clientHost
	nm.sessionTimeout, nm.rebalanceTimeout = m.sessionTimeout, m.rebalanceTimeout
	nm.lastSeen = g.shard.c.now()
	nm.sessionTimer = nil
	nm.protocols = m.protocols
	delete(g.members, old.id)
	g.members[nm.id] = &nm
	for i, id := range g.joinOrder {
		if id == old.id {
			g.joinOrder[i] = nm.id
		}
	}
	g.static[nm.instanceID] = nm.id
	wasLeader := g.leader == old.id
	if wasLeader {
		g.leader = nm.id
	}
	g.scheduleSessionLocked(&nm)
	if g.state == StateStable && g.voteLocked() == g.protocol {
		if err := g.shard.write(recs(g.groupRecordLocked())); err != nil {
			// Undo, as Kafka does when the record cannot be written.
			delete(g.members, nm.id)
			g.members[old.id] = old
			for i, id := range g.joinOrder {
				if id == nm.id {
					g.joinOrder[i] = old.id
				}
			}
			g.static[old.instanceID] = old.id
			if wasLeader {
				g.leader = old.id
			}
			nm.sessionTimer.Stop()
			g.scheduleSessionLocked(old)
			return nil, joinError(req.Version, "", writeErrorCode(err))
		}
		resp := g.joinResponseLocked(req.Version, &nm, false)
		if wasLeader && req.Version >= 9 {
			// KIP-814: the leader learns it leads, without reassigning.
			resp = g.joinResponseLocked(req.Version, &nm, true)
			resp.SkipAssignment = true
		}
		return nil, resp
	}
	nm.joinWait = nil
	nm.syncWait = nil
	return g.updateAndWaitLocked(req, &nm, &nm)
}
