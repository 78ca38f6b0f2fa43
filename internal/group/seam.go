package group

// The seam for the KIP-848 consumer protocol (consumer_*.go,
// assignor_*.go). The coordinator owns groups, shards, locking, offsets and
// persistence; a consumer group's membership and assignment live behind
// ConsumerState, always called with the group's lock held (Group.mu), so
// the implementation needs no locking of its own for group state.
//
// To plug in: set Options.Consumer to a ConsumerProtocol. Then
//   - a group with Kind() == KindConsumer has g.consumer set;
//   - OffsetCommit on such a group calls ValidateOffsetCommit (member
//     epoch instead of generation: STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID);
//   - records with key version >= 3 found while loading a shard go to
//     Replay; ListGroups/DescribeGroups/DeleteGroups/expiry use the
//     remaining methods.
// Until one is set, consumer groups do not exist: records of key version
// 3+ are skipped on load (and kept in the log).

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/record"
)

// ConsumerState is one KIP-848 consumer group's state.
type ConsumerState interface {
	// Empty reports whether the group has no members.
	Empty() bool
	// StateName is the group state as ListGroups reports it (Empty,
	// Assigning, Reconciling, Stable, Dead).
	StateName() string
	// ValidateOffsetCommit checks a commit's member id and member epoch
	// (in the request's generation field) and returns a Kafka error code,
	// 0 when the commit may proceed. An empty member id with epoch -1 is
	// an admin commit, allowed only while the group is empty.
	ValidateOffsetCommit(memberID string, memberEpoch int32, version int16) int16
	// ValidateOffsetFetch checks the member id and epoch of an OffsetFetch
	// v9+ (empty member id: no check).
	ValidateOffsetFetch(memberID string, memberEpoch int32) int16
	// Subscribed reports whether some member subscribes to topic: its
	// offsets cannot be deleted (GROUP_SUBSCRIBED_TO_TOPIC) nor expire.
	Subscribed(topic string) bool
	// TombstoneKeys are the keys of the group's KIP-848 records, written
	// with nil values when the group is deleted or expires.
	TombstoneKeys() [][]byte
	// Close stops the group's timers (unload, deletion).
	Close()
}

// ConsumerProtocol creates and restores KIP-848 groups for the coordinator.
type ConsumerProtocol interface {
	// New returns the state of a new empty consumer group.
	New(g *Group) ConsumerState
	// GroupOf names the group a record of key version >= 3 belongs to.
	GroupOf(key []byte) (string, error)
	// Replay applies one such record (value nil: tombstone) to g, whose
	// consumer state is created with New first if needed. Called while
	// loading, with no other access to the shard.
	Replay(g *Group, key, value []byte) error
	// Loaded is called once per consumer group after its shard loaded, to
	// start its timers.
	Loaded(g *Group, now time.Time)
}

// UpdateGroup is the door for the KIP-848 request handlers: it finds the
// group id in its shard (creating an empty one if create), locks it and
// calls fn. The records fn returns are appended to the shard's log (like
// every coordinator write, before anything is acknowledged); apply then
// runs, still under the lock, only if the write succeeded. The result is
// fn's code, the shard's error (NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS), GROUP_ID_NOT_FOUND for a missing group
// when create is false, or the write's error.
func (c *Coordinator) UpdateGroup(id string, create bool, fn func(g *Group) (recs []record.RecordSpec, apply func(), code int16)) int16 {
	g, code := c.lockGroupByID(id, create)
	if code != 0 {
		return code
	}
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	defer g.mu.Unlock()
	recs, apply, code := fn(g)
	if code != 0 {
		return code
	}
	if len(recs) > 0 {
		if err := g.shard.write(recs); err != nil {
			return writeErrorCode(err)
		}
	}
	if apply != nil {
		apply()
	}
	return 0
}

// SetConsumerLocked makes g a KIP-848 group with state cs (nil: back to
// no protocol, e.g. when an empty consumer group is converted). The caller
// holds g's lock. It refuses (GROUP_ID_NOT_FOUND, Kafka's answer) while
// g has classic members.
func (g *Group) SetConsumerLocked(cs ConsumerState) int16 {
	if cs != nil && len(g.members) > 0 {
		return kerr.GroupIDNotFound.Code
	}
	if g.consumer != nil && g.consumer != cs {
		g.consumer.Close()
	}
	g.consumer = cs
	g.kind = KindConsumer
	if cs == nil {
		g.kind = KindNone
	}
	return 0
}

// AfterFunc runs f after d on the coordinator's clock; Close waits for a
// running f and no f starts after Close. f must lock what it touches and
// check that its group still exists (a Dead group stays Dead).
func (c *Coordinator) AfterFunc(d time.Duration, f func()) Timer { return c.afterFunc(d, f) }

// Now is the coordinator's clock.
func (c *Coordinator) Now() time.Time { return c.now() }
