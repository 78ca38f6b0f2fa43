package group

import (
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

// recorder applies records to a group and keeps them for the caller to
// persist, so live changes and replay take the same path. For each record
// it also keeps the record that restores what it overwrote, so a change
// whose records could not be written can be undone (RollbackLast).
type recorder struct {
	g    *ConsumerGroup
	recs []ConsumerGroupRecord
	undo []ConsumerGroupRecord
	// timers are the touched members' deadlines before the change (they
	// are not in any record).
	timers map[string][2]time.Time
}

func (r *recorder) add(rec ConsumerGroupRecord) {
	rec.Group = r.g.ID
	r.undo = append(r.undo, r.g.recordOf(rec.Type, rec.Member))
	if m := r.g.Members[rec.Member]; m != nil {
		if r.timers == nil {
			r.timers = map[string][2]time.Time{}
		}
		if _, seen := r.timers[m.ID]; !seen {
			r.timers[m.ID] = [2]time.Time{m.sessionDeadline, m.rebalanceDeadline}
		}
	}
	r.g.Apply(rec)
	r.recs = append(r.recs, rec)
}

// recordOf is the record that sets the part of the group a record of type
// typ (and member) writes to its current value, a tombstone if unset.
func (g *ConsumerGroup) recordOf(typ int16, member string) ConsumerGroupRecord {
	out := ConsumerGroupRecord{Type: typ, Group: g.ID, Member: member}
	m := g.Members[member]
	switch typ {
	case RecordConsumerGroupMetadata:
		out.Metadata = &GroupMetadataValue{Epoch: g.Epoch}
	case RecordConsumerGroupPartitionMetadata:
		v := &PartitionMetadataValue{}
		for _, t := range g.Subscribed {
			v.Topics = append(v.Topics, t)
		}
		out.PartitionMetadata = v
	case RecordConsumerGroupMemberMetadata:
		if m != nil {
			out.MemberMetadata = m.metadataValue()
		}
	case RecordConsumerGroupTargetMetadata:
		out.TargetMetadata = &TargetMetadataValue{AssignmentEpoch: g.AssignmentEpoch}
	case RecordConsumerGroupTargetMember:
		if t, ok := g.Target[member]; ok {
			out.TargetMember = t.Clone()
		}
	case RecordConsumerGroupCurrentAssignment:
		if m != nil {
			out.CurrentAssignment = m.assignmentValue()
		}
	}
	return out
}

// finish remembers the undo records of this change in the group.
func (r *recorder) finish() []ConsumerGroupRecord {
	r.g.lastUndo, r.g.lastTimers = r.undo, r.timers
	return r.recs
}

// RollbackLast undoes the last Heartbeat or Expire, for when its records
// could not be written: the group returns to the state the log has.
func (g *ConsumerGroup) RollbackLast() {
	for i := len(g.lastUndo) - 1; i >= 0; i-- {
		g.Apply(g.lastUndo[i])
	}
	for id, t := range g.lastTimers {
		if m := g.Members[id]; m != nil {
			m.sessionDeadline, m.rebalanceDeadline = t[0], t[1]
		}
	}
	g.lastUndo, g.lastTimers = nil, nil
	g.imageOffset = -1 // recheck the topics on the next heartbeat
}

func (r *recorder) memberMetadata(m *ConsumerMember) {
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupMemberMetadata, Member: m.ID, MemberMetadata: m.metadataValue()})
}

func (r *recorder) currentAssignment(m *ConsumerMember) {
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupCurrentAssignment, Member: m.ID, CurrentAssignment: m.assignmentValue()})
}

func (r *recorder) groupEpoch(epoch int32) {
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupMetadata, Metadata: &GroupMetadataValue{Epoch: epoch}})
}

// removeMember writes the tombstones that remove a member, in Kafka's
// order: current assignment, target assignment, member metadata.
func (r *recorder) removeMember(id string) {
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupCurrentAssignment, Member: id})
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupTargetMember, Member: id})
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupMemberMetadata, Member: id})
}

// compileRegex compiles a subscription regex as Kafka does (RE2 syntax,
// matched against the whole topic name).
func compileRegex(re string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + re + ")$")
}

// topicResolver resolves members' subscriptions against one image,
// matching each distinct regex against the topic names only once.
type topicResolver struct {
	img     *metadata.Image
	matches map[string][]string // regex → matching topic names
}

func newTopicResolver(img *metadata.Image) *topicResolver {
	return &topicResolver{img: img, matches: map[string][]string{}}
}

// names is the member's subscription: its names plus every topic its
// regex matches.
func (tr *topicResolver) names(m *ConsumerMember) []string {
	if m.SubscribedTopicRegex == "" || tr.img == nil {
		return m.SubscribedTopicNames
	}
	matched, done := tr.matches[m.SubscribedTopicRegex]
	if !done {
		// Validated on the way in; a bad one from replay matches nothing.
		if re, err := compileRegex(m.SubscribedTopicRegex); err == nil {
			for _, n := range tr.img.TopicNames() {
				if re.MatchString(n) {
					matched = append(matched, n)
				}
			}
		}
		tr.matches[m.SubscribedTopicRegex] = matched
	}
	return append(slices.Clone(m.SubscribedTopicNames), matched...)
}

// computeSubscribed is the subscription metadata the group should have
// under img: every topic some member subscribes to that exists.
func (g *ConsumerGroup) computeSubscribed(img *metadata.Image) map[string]SubscribedTopic {
	out := map[string]SubscribedTopic{}
	if img == nil {
		return out
	}
	tr := newTopicResolver(img)
	for _, m := range g.Members {
		for _, n := range tr.names(m) {
			if _, done := out[n]; done {
				continue
			}
			if t := img.Topic(n); t != nil {
				out[n] = SubscribedTopic{ID: t.ID, Name: n, Partitions: int32(len(t.Partitions))}
			}
		}
	}
	return out
}

func sameSubscribed(a, b map[string]SubscribedTopic) bool {
	if len(a) != len(b) {
		return false
	}
	for n, t := range a {
		if b[n] != t {
			return false
		}
	}
	return true
}

// maybeUpdateSubscribed writes new subscription metadata if the topics
// changed (created, deleted, partitions added, subscriptions changed) and
// reports whether it did, which means the group epoch must grow.
func (g *ConsumerGroup) maybeUpdateSubscribed(r *recorder, img *metadata.Image, force bool) bool {
	if img == nil || (!force && img.Offset == g.imageOffset) {
		return false
	}
	g.imageOffset = img.Offset
	next := g.computeSubscribed(img)
	if sameSubscribed(next, g.Subscribed) {
		return false
	}
	v := &PartitionMetadataValue{}
	for _, t := range next {
		v.Topics = append(v.Topics, t)
	}
	slices.SortFunc(v.Topics, func(a, b SubscribedTopic) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupPartitionMetadata, PartitionMetadata: v})
	return true
}

// computeTarget runs the group's assignor for the current group epoch and
// writes the target of every member whose target changed, then the new
// assignment epoch.
func (g *ConsumerGroup) computeTarget(r *recorder, img *metadata.Image) {
	spec := AssignorSpec{Topics: map[metadata.UUID]int32{}}
	for _, t := range g.Subscribed {
		spec.Topics[t.ID] = t.Partitions
	}
	tr := newTopicResolver(img)
	ids := make([]string, 0, len(g.Members))
	for id := range g.Members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := g.Members[id]
		am := AssignorMember{ID: id, Current: g.Target[id]}
		for _, n := range tr.names(m) {
			if t, ok := g.Subscribed[n]; ok && !slices.Contains(am.Topics, t.ID) {
				am.Topics = append(am.Topics, t.ID)
			}
		}
		spec.Members = append(spec.Members, am)
	}
	result := g.PreferredAssignor().Assign(spec)
	for _, id := range ids {
		next := result[id]
		if next == nil {
			next = TopicPartitions{}
		}
		if cur, ok := g.Target[id]; !ok || !cur.Equal(next) {
			r.add(ConsumerGroupRecord{Type: RecordConsumerGroupTargetMember, Member: id, TargetMember: next})
		}
	}
	r.add(ConsumerGroupRecord{Type: RecordConsumerGroupTargetMetadata, TargetMetadata: &TargetMetadataValue{AssignmentEpoch: g.Epoch}})
}

// ownedSet is the partitions a member reports owning in a heartbeat; nil
// means the request did not say (the field was null).
type ownedSet map[metadata.UUID][]int32

func ownedFrom(topics []kmsg.ConsumerGroupHeartbeatRequestTopic) ownedSet {
	if topics == nil {
		return nil
	}
	out := ownedSet{}
	for _, t := range topics {
		out[t.TopicID] = append(out[t.TopicID], t.Partitions...)
	}
	return out
}

// ownsAny reports whether the member may still own a partition of set:
// true if it did not report what it owns.
func (o ownedSet) ownsAny(set TopicPartitions) bool {
	if o == nil {
		return true
	}
	for id, ps := range o {
		for _, p := range ps {
			if set.Has(id, p) {
				return true
			}
		}
	}
	return false
}

// subsetOf reports whether every reported partition is in set.
func (o ownedSet) subsetOf(set TopicPartitions) bool {
	if o == nil {
		return false
	}
	for id, ps := range o {
		for _, p := range ps {
			if !set.Has(id, p) {
				return false
			}
		}
	}
	return true
}

// reconcile moves a member toward its target assignment, following Kafka's
// CurrentAssignmentBuilder: a member first gives up the partitions it must
// revoke (staying at its epoch in UNREVOKED_PARTITIONS until its heartbeat
// no longer lists them), then moves to the assignment epoch and gets the
// target partitions that are free; a partition still owned or being
// revoked by another member is given only once released
// (UNRELEASED_PARTITIONS). It returns the updated copy of m.
func (g *ConsumerGroup) reconcile(m *ConsumerMember, owned ownedSet) (*ConsumerMember, *kerr.Error) {
	switch m.State {
	case MemberStable:
		if m.MemberEpoch == g.AssignmentEpoch {
			return m, nil
		}
	case MemberUnrevokedPartitions:
		if owned.ownsAny(m.PendingRevocation) {
			return m, nil
		}
	case MemberUnreleasedPartitions:
	default:
		// A state from a newer version: start over from no partitions.
		if owned == nil || len(owned) > 0 {
			return m, kerr.FencedMemberEpoch
		}
		n := m.clone()
		n.MemberEpoch = g.AssignmentEpoch
		return g.nextAssignment(n, owned), nil
	}
	return g.nextAssignment(m.clone(), owned), nil
}

func (g *ConsumerGroup) nextAssignment(n *ConsumerMember, owned ownedSet) *ConsumerMember {
	target := g.Target[n.ID]
	assigned := TopicPartitions{}
	revoke := TopicPartitions{}
	pending := TopicPartitions{}
	unreleased := false
	topics := map[metadata.UUID]bool{}
	for id := range target {
		topics[id] = true
	}
	for id := range n.Assigned {
		topics[id] = true
	}
	for id := range topics {
		for _, p := range n.Assigned[id] {
			if target.Has(id, p) {
				assigned[id] = append(assigned[id], p)
			} else {
				revoke[id] = append(revoke[id], p)
			}
		}
		for _, p := range target[id] {
			if n.Assigned.Has(id, p) {
				continue
			}
			if o := g.partitionOwner(id, p); o != "" && o != n.ID {
				unreleased = true
				continue
			}
			pending[id] = append(pending[id], p)
		}
	}
	epoch := n.MemberEpoch
	switch {
	case len(revoke) > 0 && owned.ownsAny(revoke):
		n.State = MemberUnrevokedPartitions
		n.Assigned, n.PendingRevocation = assigned, revoke
		return n
	case len(pending) > 0:
		for id, ps := range pending {
			assigned[id] = append(assigned[id], ps...)
			slices.Sort(assigned[id])
		}
		n.State = MemberStable
		if unreleased {
			n.State = MemberUnreleasedPartitions
		}
	case unreleased:
		n.State = MemberUnreleasedPartitions
	default:
		n.State = MemberStable
	}
	n.Assigned, n.PendingRevocation = assigned, TopicPartitions{}
	if g.AssignmentEpoch != epoch {
		n.PreviousMemberEpoch = epoch
		n.MemberEpoch = g.AssignmentEpoch
	}
	return n
}
