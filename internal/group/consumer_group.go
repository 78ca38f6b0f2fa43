package group

import (
	"slices"
	"time"

	"github.com/strata-io/strata/internal/metadata"
)

// MemberState is a KIP-848 member's reconciliation state, with Kafka's
// byte values (they are persisted).
type MemberState int8

// Member states.
const (
	// MemberStable: the member's assignment is its target.
	MemberStable MemberState = 0
	// MemberUnrevokedPartitions: the member must give partitions up before
	// it can move to the next epoch.
	MemberUnrevokedPartitions MemberState = 1
	// MemberUnreleasedPartitions: the member is at the target epoch but
	// waits for partitions their previous owners have not released yet.
	MemberUnreleasedPartitions MemberState = 2
	// MemberUnknown is a state this version does not know (from a newer
	// Kafka's records); such a member is fenced on its next heartbeat.
	MemberUnknown MemberState = 127
)

func memberStateOf(b int8) MemberState {
	switch s := MemberState(b); s {
	case MemberStable, MemberUnrevokedPartitions, MemberUnreleasedPartitions:
		return s
	}
	return MemberUnknown
}

func (s MemberState) String() string {
	switch s {
	case MemberStable:
		return "STABLE"
	case MemberUnrevokedPartitions:
		return "UNREVOKED_PARTITIONS"
	case MemberUnreleasedPartitions:
		return "UNRELEASED_PARTITIONS"
	}
	return "UNKNOWN"
}

// Special member epochs of ConsumerGroupHeartbeat.
const (
	LeaveGroupMemberEpoch       int32 = -1 // the member leaves for good
	LeaveGroupStaticMemberEpoch int32 = -2 // a static member leaves and will come back
)

// ConsumerConfig is what a KIP-848 group needs of the broker configs.
type ConsumerConfig struct {
	SessionTimeout    time.Duration // group.consumer.session.timeout.ms
	HeartbeatInterval time.Duration // group.consumer.heartbeat.interval.ms
	MaxSize           int           // group.consumer.max.size
	// Assignors are group.consumer.assignors; the first is the default.
	Assignors []Assignor
}

// DefaultConsumerConfig is Kafka 4's defaults.
func DefaultConsumerConfig() ConsumerConfig {
	return ConsumerConfig{
		SessionTimeout:    45 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		MaxSize:           1<<31 - 1,
		Assignors:         []Assignor{UniformAssignor{}, RangeAssignor{}},
	}
}

func (c ConsumerConfig) assignor(name string) Assignor {
	for _, a := range c.Assignors {
		if a.Name() == name {
			return a
		}
	}
	return nil
}

// ConsumerMember is one member of a KIP-848 consumer group.
type ConsumerMember struct {
	ID                   string
	InstanceID           string // "" for a dynamic member
	RackID               string
	ClientID             string
	ClientHost           string
	SubscribedTopicNames []string // sorted
	SubscribedTopicRegex string   // "" for none
	RebalanceTimeoutMs   int32
	ServerAssignor       string // "" for none

	MemberEpoch         int32
	PreviousMemberEpoch int32
	State               MemberState
	// Assigned are the partitions the member owns or is being given;
	// PendingRevocation the ones it must give up. No partition is in two
	// members' Assigned ∪ PendingRevocation.
	Assigned          TopicPartitions
	PendingRevocation TopicPartitions

	// Timers (not persisted; rebuilt on load). Zero means unset.
	sessionDeadline   time.Time
	rebalanceDeadline time.Time
}

func (m *ConsumerMember) clone() *ConsumerMember {
	c := *m
	c.SubscribedTopicNames = slices.Clone(m.SubscribedTopicNames)
	c.Assigned = m.Assigned.Clone()
	c.PendingRevocation = m.PendingRevocation.Clone()
	return &c
}

func (m *ConsumerMember) metadataValue() *MemberMetadataValue {
	v := &MemberMetadataValue{
		ClientID:             m.ClientID,
		ClientHost:           m.ClientHost,
		SubscribedTopicNames: slices.Clone(m.SubscribedTopicNames),
		RebalanceTimeoutMs:   m.RebalanceTimeoutMs,
	}
	v.InstanceID = optString(m.InstanceID)
	v.RackID = optString(m.RackID)
	v.SubscribedTopicRegex = optString(m.SubscribedTopicRegex)
	v.ServerAssignor = optString(m.ServerAssignor)
	return v
}

func (m *ConsumerMember) assignmentValue() *CurrentAssignmentValue {
	return &CurrentAssignmentValue{
		MemberEpoch:         m.MemberEpoch,
		PreviousMemberEpoch: m.PreviousMemberEpoch,
		State:               m.State,
		Assigned:            m.Assigned.Clone(),
		PendingRevocation:   m.PendingRevocation.Clone(),
	}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ConsumerGroup is the state of one KIP-848 consumer group. It is not safe
// for concurrent use: its owner (the coordinator shard holding the group)
// serializes every call.
//
// Every change is made by applying a ConsumerGroupRecord, so replaying the
// records a group emitted rebuilds the same group.
type ConsumerGroup struct {
	ID  string
	cfg ConsumerConfig

	// Epoch is the group epoch: it grows whenever the members or their
	// subscriptions or the subscribed topics' metadata change.
	Epoch int32
	// AssignmentEpoch is the group epoch the target assignment was
	// computed for; AssignmentEpoch <= Epoch.
	AssignmentEpoch int32
	Members         map[string]*ConsumerMember
	// Target is every member's target assignment at AssignmentEpoch.
	Target map[string]TopicPartitions
	// Subscribed is the subscribed topics' metadata as of Epoch, by name.
	Subscribed map[string]SubscribedTopic

	// Derived from Members (never persisted on their own).
	static map[string]string // instance id → member id
	// owner maps each partition in some member's Assigned or
	// PendingRevocation to that member.
	owner map[metadata.UUID]map[int32]string

	// imageOffset is the metadata image offset the subscription metadata
	// was last checked against.
	imageOffset int64
	// lastUndo undoes the last change (see RollbackLast).
	lastUndo   []ConsumerGroupRecord
	lastTimers map[string][2]time.Time
}

// NewConsumerGroup returns an empty group.
func NewConsumerGroup(id string, cfg ConsumerConfig) *ConsumerGroup {
	return &ConsumerGroup{
		ID:          id,
		cfg:         cfg,
		Members:     map[string]*ConsumerMember{},
		Target:      map[string]TopicPartitions{},
		Subscribed:  map[string]SubscribedTopic{},
		static:      map[string]string{},
		owner:       map[metadata.UUID]map[int32]string{},
		imageOffset: -1,
	}
}

// SetConfig replaces the group's configuration (after a config change).
func (g *ConsumerGroup) SetConfig(cfg ConsumerConfig) { g.cfg = cfg }

// Consumer group states, with the names Kafka's ListGroups and
// ConsumerGroupDescribe use.
const (
	ConsumerStateEmpty       = "Empty"
	ConsumerStateAssigning   = "Assigning"
	ConsumerStateReconciling = "Reconciling"
	ConsumerStateStable      = "Stable"
	ConsumerStateDead        = "Dead"
)

// State is the group's state as Kafka derives it: Empty without members,
// Assigning while the target is behind the group epoch, Reconciling while
// a member is not yet at the target, Stable otherwise.
func (g *ConsumerGroup) State() string {
	switch {
	case len(g.Members) == 0:
		return ConsumerStateEmpty
	case g.AssignmentEpoch < g.Epoch:
		return ConsumerStateAssigning
	}
	for _, m := range g.Members {
		if m.MemberEpoch != g.AssignmentEpoch || m.State != MemberStable {
			return ConsumerStateReconciling
		}
	}
	return ConsumerStateStable
}

// IsEmpty reports whether the group has no members.
func (g *ConsumerGroup) IsEmpty() bool { return len(g.Members) == 0 }

// PreferredAssignor is the assignor the group uses: the one most members
// ask for (ties to the lower name), else the configured default.
func (g *ConsumerGroup) PreferredAssignor() Assignor {
	votes := map[string]int{}
	for _, m := range g.Members {
		if m.ServerAssignor != "" {
			votes[m.ServerAssignor]++
		}
	}
	best := ""
	for name, n := range votes {
		if best == "" || n > votes[best] || (n == votes[best] && name < best) {
			best = name
		}
	}
	if a := g.cfg.assignor(best); a != nil {
		return a
	}
	if len(g.cfg.Assignors) > 0 {
		return g.cfg.Assignors[0]
	}
	return UniformAssignor{}
}

// Apply applies one record. It is how both live changes and replay from
// __consumer_offsets change the group. It reports whether the group is
// deleted (a ConsumerGroupMetadata tombstone).
func (g *ConsumerGroup) Apply(r ConsumerGroupRecord) (deleted bool) {
	switch r.Type {
	case RecordConsumerGroupMetadata:
		if r.Metadata == nil {
			return true
		}
		g.Epoch = r.Metadata.Epoch
	case RecordConsumerGroupPartitionMetadata:
		g.Subscribed = map[string]SubscribedTopic{}
		if r.PartitionMetadata != nil {
			for _, t := range r.PartitionMetadata.Topics {
				g.Subscribed[t.Name] = t
			}
		}
	case RecordConsumerGroupMemberMetadata:
		if r.MemberMetadata == nil {
			g.removeMember(r.Member)
			return false
		}
		m := g.member(r.Member)
		v := r.MemberMetadata
		if m.InstanceID != "" && g.static[m.InstanceID] == m.ID {
			delete(g.static, m.InstanceID)
		}
		m.InstanceID = derefString(v.InstanceID)
		if m.InstanceID != "" {
			g.static[m.InstanceID] = m.ID
		}
		m.RackID = derefString(v.RackID)
		m.ClientID = v.ClientID
		m.ClientHost = v.ClientHost
		m.SubscribedTopicNames = slices.Clone(v.SubscribedTopicNames)
		slices.Sort(m.SubscribedTopicNames)
		m.SubscribedTopicRegex = derefString(v.SubscribedTopicRegex)
		m.RebalanceTimeoutMs = v.RebalanceTimeoutMs
		m.ServerAssignor = derefString(v.ServerAssignor)
	case RecordConsumerGroupTargetMetadata:
		g.AssignmentEpoch = 0
		if r.TargetMetadata != nil {
			g.AssignmentEpoch = r.TargetMetadata.AssignmentEpoch
		}
	case RecordConsumerGroupTargetMember:
		if r.TargetMember == nil {
			delete(g.Target, r.Member)
		} else {
			g.Target[r.Member] = r.TargetMember.Clone()
		}
	case RecordConsumerGroupCurrentAssignment:
		if r.CurrentAssignment == nil {
			if m := g.Members[r.Member]; m != nil {
				g.setOwnership(m, nil, nil)
				m.MemberEpoch, m.PreviousMemberEpoch, m.State = 0, 0, MemberStable
			}
			return false
		}
		m := g.member(r.Member)
		c := r.CurrentAssignment
		m.MemberEpoch = c.MemberEpoch
		m.PreviousMemberEpoch = c.PreviousMemberEpoch
		m.State = c.State
		g.setOwnership(m, c.Assigned.Clone(), c.PendingRevocation.Clone())
	}
	return false
}

// member returns the member with id, creating it if missing (replay may
// see a member's records in any order).
func (g *ConsumerGroup) member(id string) *ConsumerMember {
	m := g.Members[id]
	if m == nil {
		m = &ConsumerMember{ID: id, RebalanceTimeoutMs: -1, Assigned: TopicPartitions{}, PendingRevocation: TopicPartitions{}}
		g.Members[id] = m
	}
	return m
}

func (g *ConsumerGroup) removeMember(id string) {
	m := g.Members[id]
	if m == nil {
		return
	}
	g.setOwnership(m, nil, nil)
	if m.InstanceID != "" && g.static[m.InstanceID] == id {
		delete(g.static, m.InstanceID)
	}
	delete(g.Members, id)
}

// setOwnership replaces m's assigned and pending sets and keeps the
// partition owner index in step.
func (g *ConsumerGroup) setOwnership(m *ConsumerMember, assigned, pending TopicPartitions) {
	for _, set := range []TopicPartitions{m.Assigned, m.PendingRevocation} {
		for id, ps := range set {
			own := g.owner[id]
			for _, p := range ps {
				if own[p] == m.ID {
					delete(own, p)
				}
			}
			if len(own) == 0 {
				delete(g.owner, id)
			}
		}
	}
	if assigned == nil {
		assigned = TopicPartitions{}
	}
	if pending == nil {
		pending = TopicPartitions{}
	}
	m.Assigned, m.PendingRevocation = assigned, pending
	for _, set := range []TopicPartitions{assigned, pending} {
		for id, ps := range set {
			own := g.owner[id]
			if own == nil {
				own = map[int32]string{}
				g.owner[id] = own
			}
			for _, p := range ps {
				own[p] = m.ID
			}
		}
	}
}

// partitionOwner returns the member owning (or still revoking) a
// partition, "" if it is free.
func (g *ConsumerGroup) partitionOwner(id metadata.UUID, p int32) string {
	return g.owner[id][p]
}

// StaticMember returns the member id holding instance id, "" if none.
func (g *ConsumerGroup) StaticMember(instanceID string) string { return g.static[instanceID] }

func sortStrings(s []string) { slices.Sort(s) }
