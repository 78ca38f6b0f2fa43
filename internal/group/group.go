package group

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kind is the rebalance protocol a group runs. A group is one or the
// other; the other protocol's requests get Kafka's error
// (GROUP_ID_NOT_FOUND) while it has members.
type Kind int8

const (
	// KindNone is a group known only by its committed offsets (simple
	// consumers, admin commits) or one that is empty: either protocol
	// may take it over.
	KindNone Kind = iota
	// KindClassic runs JoinGroup/SyncGroup (this package's classic*.go).
	KindClassic
	// KindConsumer runs the KIP-848 ConsumerGroupHeartbeat protocol
	// (consumer_*.go), through the ConsumerState seam.
	KindConsumer
)

// State is a classic group's state, named as DescribeGroups and ListGroups
// report it.
type State int8

// The classic states. Empty → PreparingRebalance → CompletingRebalance →
// Stable, and back to PreparingRebalance on any membership change; Dead
// once the group is deleted or expired (it is then gone from its shard).
const (
	StateEmpty State = iota
	StatePreparingRebalance
	StateCompletingRebalance
	StateStable
	StateDead
)

func (s State) String() string {
	switch s {
	case StateEmpty:
		return "Empty"
	case StatePreparingRebalance:
		return "PreparingRebalance"
	case StateCompletingRebalance:
		return "CompletingRebalance"
	case StateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

// TopicPartition names a partition whose offset a group commits.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Offset is one committed offset, as stored in OffsetCommitValue.
type Offset struct {
	Offset          int64
	LeaderEpoch     int32 // -1: unknown
	Metadata        string
	CommitTimestamp int64 // ms
	// ExpireTimestamp (ms) is only set by value v1 records written by an
	// old Kafka with a per-commit retention; -1 otherwise (KIP-211).
	ExpireTimestamp int64
}

// Group is one group's state. Every field below mu is guarded by it.
// Lock order: a group's mu, then its shard's mu (to remove the group),
// never the reverse.
type Group struct {
	id    string
	shard *shard

	mu sync.Mutex
	// dead is set when the group left its shard (deleted, expired,
	// unloaded): a caller that found it earlier must look it up again.
	dead bool
	kind Kind
	// offsets are the committed offsets; every entry is in the log.
	offsets map[TopicPartition]Offset

	// Classic protocol state (classic.go).
	state        State
	stateTime    time.Time // when state last changed (Kafka's currentStateTimestamp)
	protocolType string    // "" for a group that never had members
	protocol     string    // the protocol the last rebalance chose
	generation   int32
	leader       string
	members      map[string]*classicMember
	joinOrder    []string          // member ids in join order: the next leader is the oldest
	static       map[string]string // group.instance.id → member id (KIP-345)
	pending      map[string]Timer  // KIP-394 member ids handed out, awaiting their join
	// rebalanceTimer ends the join phase (rebalance timeout, or the
	// initial delay of an empty group); syncTimer ends the sync phase.
	rebalanceTimer Timer
	syncTimer      Timer
	initialJoin    bool          // the join phase is the delayed first one
	initialLeft    time.Duration // rebalance timeout left for further delays
	joinedInDelay  bool          // a new member arrived during the delay

	// consumer is the KIP-848 state when kind == KindConsumer.
	consumer ConsumerState
}

// classicMember is a classic group member.
type classicMember struct {
	id               string
	instanceID       string // "" for dynamic members
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocolType     string
	protocols        []kmsg.JoinGroupRequestProtocol
	assignment       []byte
	// joinWait/syncWait are the waiting JoinGroup/SyncGroup request's
	// reply channels (capacity 1, never blocks the coordinator); nil when
	// none waits.
	joinWait chan *kmsg.JoinGroupResponse
	syncWait chan *kmsg.SyncGroupResponse
	// lastSeen is the last heartbeat, join or sync; the session expires
	// sessionTimeout after it.
	lastSeen     time.Time
	sessionTimer Timer
	// synced is set once the member got its assignment for this generation.
	synced bool
}

func (m *classicMember) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func newGroup(id string, s *shard, now time.Time) *Group {
	return &Group{
		id:        id,
		shard:     s,
		offsets:   map[TopicPartition]Offset{},
		state:     StateEmpty,
		stateTime: now,
		members:   map[string]*classicMember{},
		static:    map[string]string{},
		pending:   map[string]Timer{},
	}
}

// ID is the group id.
func (g *Group) ID() string { return g.id }

// emptyLocked reports whether the group has no members of either protocol.
func (g *Group) emptyLocked() bool {
	if g.kind == KindConsumer && g.consumer != nil {
		return g.consumer.Empty()
	}
	return len(g.members) == 0
}

// stopTimersLocked stops every timer of the group, for unload and deletion.
func (g *Group) stopTimersLocked() {
	for _, m := range g.members {
		if m.sessionTimer != nil {
			m.sessionTimer.Stop()
		}
	}
	for _, t := range g.pending {
		t.Stop()
	}
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	if g.syncTimer != nil {
		g.syncTimer.Stop()
	}
	if g.consumer != nil {
		g.consumer.Close()
	}
}
