package group

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

// HeartbeatError is a Kafka error with the message Kafka would give.
type HeartbeatError struct {
	Err     *kerr.Error
	Message string
}

func (e *HeartbeatError) Error() string { return e.Err.Message + ": " + e.Message }

func hbErr(err *kerr.Error, format string, args ...any) *HeartbeatError {
	return &HeartbeatError{Err: err, Message: fmt.Sprintf(format, args...)}
}

// blank is Kafka's throwIfEmptyString test: set but only whitespace.
func blank(s *string) bool { return s != nil && strings.TrimSpace(*s) == "" }

// ValidateHeartbeat applies Kafka 4's checks of a ConsumerGroupHeartbeat
// request that need no group state (GroupMetadataManager's
// throwIfConsumerGroupHeartbeatRequestIsInvalid), with Kafka's messages.
// version is the request version: from v1 (KIP-1082) the client generates
// its member id, so it can never be empty.
func ValidateHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, version int16, cfg ConsumerConfig) *HeartbeatError {
	if version >= 1 || req.MemberEpoch > 0 || req.MemberEpoch == LeaveGroupMemberEpoch {
		if strings.TrimSpace(req.MemberID) == "" {
			return hbErr(kerr.InvalidRequest, "MemberId can't be empty.")
		}
	}
	if strings.TrimSpace(req.Group) == "" {
		return hbErr(kerr.InvalidRequest, "GroupId can't be empty.")
	}
	if blank(req.InstanceID) {
		return hbErr(kerr.InvalidRequest, "InstanceId can't be empty.")
	}
	if blank(req.RackID) {
		return hbErr(kerr.InvalidRequest, "RackId can't be empty.")
	}
	switch {
	case req.MemberEpoch == 0:
		if req.RebalanceTimeoutMillis == -1 {
			return hbErr(kerr.InvalidRequest, "RebalanceTimeoutMs must be provided in first request.")
		}
		if req.Topics == nil || len(req.Topics) > 0 {
			return hbErr(kerr.InvalidRequest, "TopicPartitions must be empty when (re-)joining.")
		}
		if req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil {
			return hbErr(kerr.InvalidRequest, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
		}
	case req.MemberEpoch == LeaveGroupStaticMemberEpoch:
		if req.InstanceID == nil {
			return hbErr(kerr.InvalidRequest, "InstanceId can't be null.")
		}
	case req.MemberEpoch < LeaveGroupStaticMemberEpoch:
		return hbErr(kerr.InvalidRequest, "MemberEpoch is invalid.")
	}
	if req.ServerAssignor != nil && cfg.assignor(*req.ServerAssignor) == nil {
		names := make([]string, len(cfg.Assignors))
		for i, a := range cfg.Assignors {
			names[i] = a.Name()
		}
		return hbErr(kerr.UnsupportedAssignor, "ServerAssignor %s is not supported. Supported assignors: %s.", *req.ServerAssignor, strings.Join(names, ", "))
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != "" {
		if _, err := compileRegex(*req.SubscribedTopicRegex); err != nil {
			return hbErr(kerr.InvalidRegularExpression, "SubscribedTopicRegex `%s` is not a valid regular expression: %v.", *req.SubscribedTopicRegex, err)
		}
	}
	return nil
}

// NewMemberID returns a member id as Kafka makes them (a random UUID in
// URL-safe base64), for v0 joins that leave the choice to the coordinator.
func NewMemberID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	return base64.RawURLEncoding.EncodeToString(u[:])
}

// HeartbeatInput is one ConsumerGroupHeartbeat for a group.
type HeartbeatInput struct {
	Req        *kmsg.ConsumerGroupHeartbeatRequest
	Version    int16
	ClientID   string
	ClientHost string
	Now        time.Time
	// Image is the current metadata image: topic names, ids and
	// partition counts come from it.
	Image *metadata.Image
}

// Heartbeat handles a ValidateHeartbeat-checked request for this group.
// It returns the response and the records that changed the group (already
// applied), which the caller must persist before answering. On an error
// the group is unchanged and no records are returned.
func (g *ConsumerGroup) Heartbeat(in HeartbeatInput) (*kmsg.ConsumerGroupHeartbeatResponse, []ConsumerGroupRecord) {
	req := in.Req
	g.lastUndo, g.lastTimers = nil, nil
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = in.Version
	fail := func(e *HeartbeatError) (*kmsg.ConsumerGroupHeartbeatResponse, []ConsumerGroupRecord) {
		resp.ErrorCode = e.Err.Code
		resp.ErrorMessage = &e.Message
		return resp, nil
	}
	r := &recorder{g: g}
	var err *HeartbeatError
	switch req.MemberEpoch {
	case LeaveGroupMemberEpoch, LeaveGroupStaticMemberEpoch:
		err = g.leave(r, req, in.Image)
		if err == nil {
			resp.MemberID = &req.MemberID
			resp.MemberEpoch = req.MemberEpoch
		}
	default:
		err = g.heartbeat(r, in, resp)
	}
	if err != nil {
		// Nothing was applied: every check runs before the first record.
		return fail(err)
	}
	resp.HeartbeatIntervalMillis = int32(g.cfg.HeartbeatInterval.Milliseconds())
	return resp, r.finish()
}

func (g *ConsumerGroup) heartbeat(r *recorder, in HeartbeatInput, resp *kmsg.ConsumerGroupHeartbeatResponse) *HeartbeatError {
	req := in.Req
	memberID := req.MemberID
	if memberID == "" { // v0 join: the coordinator names the member
		memberID = NewMemberID()
	}
	joining := req.MemberEpoch == 0
	if len(g.Members) >= g.cfg.MaxSize && g.Members[memberID] == nil {
		return hbErr(kerr.GroupMaxSizeReached, "The consumer group has reached its maximum capacity of %d members.", g.cfg.MaxSize)
	}

	// Find the member, or decide to create or replace one. Every check
	// happens before the first record so that an error changes nothing.
	var replaced *ConsumerMember // a static member the new one takes over from
	existing := g.Members[memberID]
	if existing != nil {
		existing = existing.clone() // the records below change the live one
	}
	if req.InstanceID != nil {
		holder := g.Members[g.static[*req.InstanceID]]
		switch {
		case joining && holder != nil && holder.ID != memberID:
			if holder.MemberEpoch != LeaveGroupStaticMemberEpoch {
				return hbErr(kerr.UnreleasedInstanceID, "Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.", memberID, *req.InstanceID, holder.ID)
			}
			replaced = holder
		case !joining && holder == nil:
			return hbErr(kerr.UnknownMemberID, "Instance id %s is unknown.", *req.InstanceID)
		case !joining && holder.ID != memberID:
			return hbErr(kerr.FencedInstanceID, "Static member %s with instance id %s was fenced by member %s.", memberID, *req.InstanceID, holder.ID)
		}
	}
	owned := ownedFrom(req.Topics)
	if !joining {
		if existing == nil {
			return hbErr(kerr.UnknownMemberID, "Member %s is not a member of group %s.", memberID, g.ID)
		}
		if err := checkMemberEpoch(existing, req.MemberEpoch, owned); err != nil {
			return err
		}
	}

	// Build the member's updated metadata.
	var m *ConsumerMember
	if existing != nil {
		m = existing.clone()
	} else {
		m = &ConsumerMember{ID: memberID, RebalanceTimeoutMs: -1}
		if replaced != nil {
			// The new static member inherits the old one's settings.
			m = replaced.clone()
			m.ID = memberID
		}
	}
	if req.InstanceID != nil {
		m.InstanceID = *req.InstanceID
	}
	if req.RackID != nil {
		m.RackID = *req.RackID
	}
	if req.RebalanceTimeoutMillis != -1 {
		m.RebalanceTimeoutMs = req.RebalanceTimeoutMillis
	}
	m.ClientID, m.ClientHost = in.ClientID, in.ClientHost
	if req.SubscribedTopicNames != nil {
		m.SubscribedTopicNames = slices.Clone(req.SubscribedTopicNames)
		slices.Sort(m.SubscribedTopicNames)
		m.SubscribedTopicNames = slices.Compact(m.SubscribedTopicNames)
	}
	if req.SubscribedTopicRegex != nil {
		m.SubscribedTopicRegex = *req.SubscribedTopicRegex
	}
	if req.ServerAssignor != nil {
		m.ServerAssignor = *req.ServerAssignor
	}

	// Persist what changed and grow the group epoch where Kafka does: a
	// new member, a changed subscription or assignor, changed topics.
	bump := false
	prev := existing
	if replaced != nil {
		prev = replaced
		inherited := replaced.targetOf(g)
		r.removeMember(replaced.ID)
		r.memberMetadata(m)
		// The target moves with the partitions, so the restart does not
		// reshuffle the group.
		r.add(ConsumerGroupRecord{Type: RecordConsumerGroupTargetMember, Member: m.ID, TargetMember: inherited})
	} else if existing == nil || !sameMemberMetadata(existing, m) {
		r.memberMetadata(m)
	}
	if prev == nil || !slices.Equal(prev.SubscribedTopicNames, m.SubscribedTopicNames) ||
		prev.SubscribedTopicRegex != m.SubscribedTopicRegex || prev.ServerAssignor != m.ServerAssignor {
		bump = true
	}
	if g.maybeUpdateSubscribed(r, in.Image, bump) {
		bump = true
	}
	if bump {
		r.groupEpoch(g.Epoch + 1)
	}
	if g.AssignmentEpoch < g.Epoch {
		g.computeTarget(r, in.Image)
	}

	// Reconcile the member toward its target.
	before := g.Members[memberID] // metadata applied, assignment not yet
	base := before.clone()
	switch {
	case replaced != nil:
		// The restarted static member owns nothing yet; its old
		// partitions are free again (the old member is gone) and go
		// straight back to it if they are still its target.
		base.Assigned, base.PendingRevocation = replaced.Assigned.Clone(), TopicPartitions{}
		base.MemberEpoch, base.PreviousMemberEpoch, base.State = 0, 0, MemberStable
		owned = ownedSet{}
	case joining && existing != nil:
		// A member rejoining under its id (after FENCED_MEMBER_EPOCH or
		// a lost response) has dropped every partition: start it over
		// from none, keeping its place in the group.
		base.Assigned, base.PendingRevocation = TopicPartitions{}, TopicPartitions{}
		base.MemberEpoch, base.State = 0, MemberStable
		owned = ownedSet{}
	case joining:
		owned = ownedSet{}
	}
	// NB: in both restart cases the partitions the member held count as
	// free for it: the owner index names this member (or nobody, for the
	// removed static one), and reconcile treats its own partitions as
	// free.
	next, fenced := g.reconcile(base, owned)
	if fenced != nil {
		// Only a member in a state from a newer version gets here; it
		// must drop everything and rejoin.
		return hbErr(fenced, "The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin.")
	}
	if existing == nil || joining || next.MemberEpoch != before.MemberEpoch ||
		next.PreviousMemberEpoch != before.PreviousMemberEpoch || next.State != before.State ||
		!next.Assigned.Equal(before.Assigned) || !next.PendingRevocation.Equal(before.PendingRevocation) {
		r.currentAssignment(next)
	}
	final := g.Members[memberID]

	// Timers: the session restarts with every heartbeat; the rebalance
	// timeout runs while the member owes a revocation.
	final.sessionDeadline = in.Now.Add(g.cfg.SessionTimeout)
	if final.State == MemberUnrevokedPartitions {
		if existing == nil || existing.State != MemberUnrevokedPartitions || existing.MemberEpoch != final.MemberEpoch || final.rebalanceDeadline.IsZero() {
			final.rebalanceDeadline = in.Now.Add(time.Duration(max(final.RebalanceTimeoutMs, 0)) * time.Millisecond)
		}
	} else {
		final.rebalanceDeadline = time.Time{}
	}

	resp.MemberID = &final.ID
	resp.MemberEpoch = final.MemberEpoch
	full := joining || (req.RebalanceTimeoutMillis != -1 && (req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil)
	if full || existing == nil || !final.Assigned.Equal(existing.Assigned) {
		resp.Assignment = responseAssignment(final.Assigned)
	}
	return nil
}

func (m *ConsumerMember) targetOf(g *ConsumerGroup) TopicPartitions {
	if t, ok := g.Target[m.ID]; ok {
		return t.Clone()
	}
	return TopicPartitions{}
}

func sameMemberMetadata(a, b *ConsumerMember) bool {
	return a.InstanceID == b.InstanceID && a.RackID == b.RackID && a.ClientID == b.ClientID &&
		a.ClientHost == b.ClientHost && slices.Equal(a.SubscribedTopicNames, b.SubscribedTopicNames) &&
		a.SubscribedTopicRegex == b.SubscribedTopicRegex && a.RebalanceTimeoutMs == b.RebalanceTimeoutMs &&
		a.ServerAssignor == b.ServerAssignor
}

// checkMemberEpoch is Kafka's throwIfConsumerGroupMemberEpochIsInvalid: an
// epoch ahead of the coordinator's is fenced; one behind is accepted only
// if it is the previous epoch and the member owns no partition outside its
// current assignment (the response with the new epoch was lost).
func checkMemberEpoch(m *ConsumerMember, epoch int32, owned ownedSet) *HeartbeatError {
	if epoch > m.MemberEpoch {
		return hbErr(kerr.FencedMemberEpoch, "The consumer group member has a greater member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.MemberEpoch)
	}
	if epoch < m.MemberEpoch && (epoch != m.PreviousMemberEpoch || !owned.subsetOf(m.Assigned)) {
		return hbErr(kerr.FencedMemberEpoch, "The consumer group member has a smaller member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.MemberEpoch)
	}
	return nil
}

func responseAssignment(tp TopicPartitions) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
	a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	for _, id := range tp.sortedTopicIDs() {
		t := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		t.TopicID = id
		t.Partitions = slices.Clone(tp[id])
		a.Topics = append(a.Topics, t)
	}
	return &a
}
