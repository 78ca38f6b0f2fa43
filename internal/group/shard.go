package group

import (
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/record"
	"github.com/strata-io/strata/internal/storage"
)

type shardStatus int8

const (
	shardLoading shardStatus = iota // replaying the partition: COORDINATOR_LOAD_IN_PROGRESS
	shardLoaded                     // serving
	shardGone                       // unloaded: NOT_COORDINATOR
)

// shard is the coordinator state of one __consumer_offsets partition
// this broker leads: the groups that hash to it.
type shard struct {
	c     *Coordinator
	index int32
	epoch int32 // leader epoch of the partition when this shard was loaded
	part  *partition.Partition

	mu struct {
		sync.RWMutex
		status shardStatus
		groups map[string]*Group
	}
}

func newShard(c *Coordinator, index, epoch int32, p *partition.Partition) *shard {
	s := &shard{c: c, index: index, epoch: epoch, part: p}
	s.mu.groups = map[string]*Group{}
	return s
}

// ready is 0 when the shard serves, else the Kafka error for its state.
func (s *shard) ready() int16 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch s.mu.status {
	case shardLoaded:
		return 0
	case shardLoading:
		return kerr.CoordinatorLoadInProgress.Code
	default:
		return kerr.NotCoordinator.Code
	}
}

// group returns a group, nil if the shard has none of that id.
func (s *shard) group(id string) *Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.groups[id]
}

// groupOrCreate returns a group, creating an empty one if needed. It
// returns nil if the shard was unloaded meanwhile.
func (s *shard) groupOrCreate(id string) *Group {
	if g := s.group(id); g != nil {
		return g
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.status != shardLoaded {
		return nil
	}
	if g := s.mu.groups[id]; g != nil {
		return g
	}
	g := newGroup(id, s, s.c.now())
	s.mu.groups[id] = g
	return g
}

// removeLocked takes g out of the shard; g.mu must be held. The group is
// Dead from then on: whoever looked it up before must look again.
func (s *shard) removeLocked(g *Group) {
	g.dead = true
	g.state = StateDead
	g.stopTimersLocked()
	s.mu.Lock()
	if s.mu.groups[g.id] == g {
		delete(s.mu.groups, g.id)
	}
	s.mu.Unlock()
}

// groups returns a snapshot of the shard's groups.
func (s *shard) groups() []*Group {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Group, 0, len(s.mu.groups))
	for _, g := range s.mu.groups {
		out = append(out, g)
	}
	return out
}

// unload stops serving the shard: its groups become Dead to this broker
// (their state stays in the log for the next leader), timers stop and
// waiting JoinGroup/SyncGroup requests get NOT_COORDINATOR.
func (s *shard) unload() {
	s.mu.Lock()
	s.mu.status = shardGone
	groups := s.mu.groups
	s.mu.groups = map[string]*Group{}
	s.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		g.dead = true
		g.stopTimersLocked()
		for _, m := range g.members {
			g.failWaitersLocked(m, kerr.NotCoordinator.Code)
		}
		g.mu.Unlock()
	}
}

// write appends recs as one batch to the shard's partition, like an
// acks=-1 produce: it returns once the whole ISR has the batch (and it is
// flushed if the topic's flush policy says so), or fails after
// offsets.commit.timeout.ms. The caller holds the lock of the
// group the records belong to, so a group's records reach the log in the
// order its state changes.
func (s *shard) write(recs []record.RecordSpec) error {
	now := s.c.now().UnixMilli()
	b := record.Build(record.BatchSpec{LeaderEpoch: -1, Codec: s.c.cfg.codec, BaseTimestamp: now, Records: recs})
	_, err := s.part.Append(b, -1)
	return err
}

// writeErrorCode maps an append failure to the code a group API answers,
// as Kafka's coordinator does: replication trouble is retriable on this
// coordinator, leadership loss sends the client to find the new one, and
// a record too large is the commit's fault.
func writeErrorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, partition.ErrNotEnoughReplicas), errors.Is(err, partition.ErrNotEnoughReplicasAfterAppend),
		errors.Is(err, partition.ErrRequestTimedOut):
		return kerr.CoordinatorNotAvailable.Code
	case errors.Is(err, partition.ErrNotLeader), errors.Is(err, storage.ErrClosed), errors.Is(err, storage.ErrCorrupt):
		return kerr.NotCoordinator.Code
	case errors.Is(err, storage.ErrMessageTooLarge):
		return kerr.InvalidCommitOffsetSize.Code
	default:
		return kerr.UnknownServerError.Code
	}
}

// groupRecord is the group metadata record of g's current generation
// (g.mu held): members with the chosen protocol's metadata and their
// assignments.
func (g *Group) groupRecordLocked() record.RecordSpec {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		p := g.protocol
		v.Protocol = &p
	}
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	for _, id := range g.joinOrder {
		m := g.members[id]
		if m == nil {
			continue
		}
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		if m.instanceID != "" {
			inst := m.instanceID
			vm.InstanceID = &inst
		}
		vm.ClientID = m.clientID
		vm.ClientHost = m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout / time.Millisecond)
		vm.SessionTimeoutMillis = int32(m.sessionTimeout / time.Millisecond)
		vm.Subscription = m.metadataFor(g.protocol)
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		vm.Assignment = m.assignment
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return record.RecordSpec{Key: groupKey(g.id), Value: v.AppendTo(nil)}
}

func recs(r ...record.RecordSpec) []record.RecordSpec { return r }

func recordTombstone(key []byte) record.RecordSpec { return record.RecordSpec{Key: key} }
