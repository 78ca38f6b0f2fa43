package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

// leave handles a heartbeat with epoch -1 (leave for good) or -2 (a static
// member leaves and will come back), as Kafka's consumerGroupLeave: a
// dynamic member is found by id; a static one by instance id, and its
// member id must match.
func (g *ConsumerGroup) leave(r *recorder, req *kmsg.ConsumerGroupHeartbeatRequest, img *metadata.Image) *HeartbeatError {
	var m *ConsumerMember
	if req.InstanceID == nil {
		if m = g.Members[req.MemberID]; m == nil {
			return hbErr(kerr.UnknownMemberID, "Member %s is not a member of group %s.", req.MemberID, g.ID)
		}
	} else {
		if m = g.Members[g.static[*req.InstanceID]]; m == nil {
			return hbErr(kerr.UnknownMemberID, "Instance id %s is unknown.", *req.InstanceID)
		}
		if m.ID != req.MemberID {
			return hbErr(kerr.FencedInstanceID, "Static member %s with instance id %s was fenced by member %s.", req.MemberID, *req.InstanceID, m.ID)
		}
	}
	if req.MemberEpoch == LeaveGroupStaticMemberEpoch && m.InstanceID != "" {
		// The member keeps its partitions (nobody else gets them) until
		// it comes back under the same instance id or its session ends.
		n := m.clone()
		n.MemberEpoch = LeaveGroupStaticMemberEpoch
		r.currentAssignment(n)
		return nil
	}
	g.fence(r, m.ID, img)
	return nil
}

// fence removes a member and grows the group epoch so the others get its
// partitions (Kafka's removeMember + bump).
func (g *ConsumerGroup) fence(r *recorder, id string, img *metadata.Image) {
	r.removeMember(id)
	g.maybeUpdateSubscribed(r, img, true)
	r.groupEpoch(g.Epoch + 1)
}

// Expire removes the members whose session timed out (no heartbeat for
// group.consumer.session.timeout.ms) or who did not revoke partitions
// within their rebalance timeout, as of now. It returns the records to
// persist (already applied) and the ids of the removed members.
func (g *ConsumerGroup) Expire(now time.Time, img *metadata.Image) ([]ConsumerGroupRecord, []string) {
	g.lastUndo, g.lastTimers = nil, nil
	r := &recorder{g: g}
	var gone []string
	for _, id := range sortedMemberIDs(g) {
		m := g.Members[id]
		sessionOver := !m.sessionDeadline.IsZero() && !now.Before(m.sessionDeadline)
		revokeOver := m.State == MemberUnrevokedPartitions && !m.rebalanceDeadline.IsZero() && !now.Before(m.rebalanceDeadline)
		if sessionOver || revokeOver {
			g.fence(r, id, img)
			gone = append(gone, id)
		}
	}
	return r.finish(), gone
}

// NextDeadline is the earliest session or rebalance deadline of any
// member (zero if none), for the owner's timer.
func (g *ConsumerGroup) NextDeadline() time.Time {
	var next time.Time
	for _, m := range g.Members {
		for _, d := range []time.Time{m.sessionDeadline, m.rebalanceDeadline} {
			if !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
	}
	return next
}

// StartTimers arms every member's session timer (and the rebalance timer
// of members owing a revocation) from now, as Kafka does when it loads a
// group: timers are not persisted, so a member that never comes back after
// a restart is still removed.
func (g *ConsumerGroup) StartTimers(now time.Time) {
	for _, m := range g.Members {
		m.sessionDeadline = now.Add(g.cfg.SessionTimeout)
		m.rebalanceDeadline = time.Time{}
		if m.State == MemberUnrevokedPartitions {
			m.rebalanceDeadline = now.Add(time.Duration(max(m.RebalanceTimeoutMs, 0)) * time.Millisecond)
		}
	}
}

func sortedMemberIDs(g *ConsumerGroup) []string {
	ids := make([]string, 0, len(g.Members))
	for id := range g.Members {
		ids = append(ids, id)
	}
	sortStrings(ids)
	return ids
}
