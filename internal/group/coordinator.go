package group

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
)

// Options configure a Coordinator.
type Options struct {
	NodeID int32
	Config config.Broker
	Meta   *metadata.Store
	Parts  *partition.Set
	Logger *slog.Logger
	// Clock defaults to the system clock.
	Clock Clock
	// Consumer plugs in the KIP-848 protocol; nil: classic groups only.
	Consumer ConsumerProtocol
	// Voters is the number of metadata quorum voters (0 counts as 1: a
	// lone node). offsets.topic.replication.factor is capped at it, so a
	// single node (or a cluster of fewer voters than the configured
	// factor) can create __consumer_offsets.
	Voters int
}

// settings are the coordinator's broker configs, read once at start (as
// Kafka does: none of them is dynamic).
type settings struct {
	minSession, maxSession time.Duration
	initialDelay           time.Duration
	maxSize                int
	metadataMaxBytes       int
	retention              time.Duration
	retentionCheck         time.Duration
	codec                  int
	numPartitions          int32
	replicationFactor      int16
	segmentBytes           int64
	loadBuffer             int32
	// consumer: group.coordinator.rebalance.protocols lists consumer
	// (KIP-848); classic cannot be disabled.
	consumer bool
}

func settingsFrom(b config.Broker) settings {
	ms := func(name string) time.Duration { return time.Duration(b.Int(name)) * time.Millisecond }
	return settings{
		minSession:        ms(config.GroupMinSessionTimeoutMs),
		maxSession:        ms(config.GroupMaxSessionTimeoutMs),
		initialDelay:      ms(config.GroupInitialRebalanceDelayMs),
		maxSize:           int(b.Int(config.GroupMaxSize)),
		metadataMaxBytes:  int(min(b.Int(config.OffsetMetadataMaxBytes), maxStringLen)),
		retention:         time.Duration(b.OffsetsRetentionMs()) * time.Millisecond,
		retentionCheck:    ms(config.OffsetsRetentionCheckMs),
		codec:             int(b.Int(config.OffsetsTopicCompressionCodec)),
		numPartitions:     int32(b.Int(config.OffsetsTopicNumPartitions)),
		replicationFactor: int16(b.Int(config.OffsetsTopicReplicationFactor)),
		segmentBytes:      b.Int(config.OffsetsTopicSegmentBytes),
		loadBuffer:        int32(b.Int(config.OffsetsLoadBufferSize)),
		consumer:          b.RebalanceProtocolEnabled("consumer"),
	}
}

// Coordinator is the broker's group coordinator: one shard per
// __consumer_offsets partition this broker leads.
type Coordinator struct {
	nodeID   int32
	cfg      settings
	clock    Clock
	log      *slog.Logger
	meta     *metadata.Store
	parts    *partition.Set
	consumer ConsumerProtocol

	ctx    context.Context // cancelled by Close; ends loads and waits
	cancel context.CancelFunc
	// wg counts the goroutines the coordinator starts (shard loads, the
	// expiry loop) and timer callbacks in progress.
	wg sync.WaitGroup

	mu struct {
		sync.RWMutex
		closed bool
		shards map[int32]*shard
		expiry Timer // the next offsets expiry round
		// lastImg is the last image SyncLeadership saw, to notice
		// deleted topics.
		lastImg *metadata.Image
	}
}

// New returns a coordinator that owns no shard yet: the broker calls
// SyncLeadership with every metadata image, which loads a shard for each
// __consumer_offsets partition this broker leads.
func New(opts Options) *Coordinator {
	c := &Coordinator{nodeID: opts.NodeID, cfg: settingsFrom(opts.Config), clock: opts.Clock, log: opts.Logger, meta: opts.Meta, parts: opts.Parts, consumer: opts.Consumer}
	if v := int16(max(opts.Voters, 1)); c.cfg.replicationFactor > v {
		c.cfg.replicationFactor = v
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.shards = map[int32]*shard{}
	c.mu.expiry = c.afterFunc(c.cfg.retentionCheck, c.expireRound)
	return c
}

// Close unloads every shard (waiting requests get NOT_COORDINATOR) and
// waits for the coordinator's goroutines and timer callbacks to finish.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return
	}
	c.mu.closed = true
	c.mu.expiry.Stop()
	shards := c.mu.shards
	c.mu.shards = map[int32]*shard{}
	c.mu.Unlock()
	c.cancel()
	for _, s := range shards {
		s.unload()
	}
	c.wg.Wait()
}

// afterFunc schedules f on the clock so that Close waits for a callback
// already running and none starts after Close.
func (c *Coordinator) afterFunc(d time.Duration, f func()) Timer {
	return c.clock.AfterFunc(d, func() {
		c.mu.RLock()
		if c.mu.closed {
			c.mu.RUnlock()
			return
		}
		c.wg.Add(1)
		c.mu.RUnlock()
		defer c.wg.Done()
		f()
	})
}

// SyncLeadership loads the shards of the __consumer_offsets partitions
// this broker leads in img and unloads the others. The broker calls it on
// every metadata change (after the partitions are open); the cluster issue
// makes it follow leader moves. It never blocks on a load.
func (c *Coordinator) SyncLeadership(img *metadata.Image) {
	t := img.Topic(metadata.OffsetsTopic)
	lead := map[int32]int32{} // partition → leader epoch
	if t != nil {
		for i, p := range t.Partitions {
			if p.Leader == c.nodeID {
				lead[int32(i)] = p.LeaderEpoch
			}
		}
	}
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return
	}
	if deleted := c.deletedTopicsLocked(img); len(deleted) > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.dropOffsetsOf(deleted)
		}()
	}
	var gone []*shard
	for idx, s := range c.mu.shards {
		if epoch, ok := lead[idx]; !ok || epoch != s.epoch {
			gone = append(gone, s)
			delete(c.mu.shards, idx)
		}
	}
	var load []*shard
	for idx, epoch := range lead {
		if c.mu.shards[idx] != nil {
			continue
		}
		p := c.parts.Get(metadata.OffsetsTopic, idx)
		if p == nil {
			continue
		}
		s := newShard(c, idx, epoch, p)
		c.mu.shards[idx] = s
		load = append(load, s)
	}
	c.mu.Unlock()
	for _, s := range gone {
		s.unload()
	}
	for _, s := range load {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			s.load()
		}()
	}
}

// ErrNoCoordinator is returned by EnsureTopic when the offsets topic cannot
// be created (COORDINATOR_NOT_AVAILABLE).
var ErrNoCoordinator = errors.New("group: the group coordinator is not available")

// EnsureTopic creates __consumer_offsets if it does not exist, as Kafka
// does on the first FindCoordinator.
//
// NB: offsets.topic.replication.factor defaults to 3 as in Kafka, but is
// capped at the number of quorum voters (Options.Voters) so that a single
// node works out of the box. As in Kafka, the topic is not created until
// that many brokers are registered and unfenced: until then
// FindCoordinator answers COORDINATOR_NOT_AVAILABLE and clients retry.
func (c *Coordinator) EnsureTopic() error {
	if c.meta.Image().Topic(metadata.OffsetsTopic) != nil {
		return nil
	}
	configs := map[string]string{
		config.CleanupPolicy:   "compact",
		config.SegmentBytes:    strconv.FormatInt(c.cfg.segmentBytes, 10),
		config.CompressionType: "producer",
	}
	err := c.meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		return metadata.InternalTopicRecords(img, metadata.OffsetsTopic, c.cfg.numPartitions, c.cfg.replicationFactor, configs)
	})
	if errors.Is(err, metadata.ErrInvalidReplicationFactor) {
		// Not enough brokers yet: expected while a cluster starts.
		c.log.Debug("the offsets topic waits for brokers", "err", err)
		return errors.Join(ErrNoCoordinator, err)
	}
	if err != nil {
		c.log.Error("creating the offsets topic", "err", err)
		return errors.Join(ErrNoCoordinator, err)
	}
	c.log.Info("created the offsets topic", "topic", metadata.OffsetsTopic, "partitions", c.cfg.numPartitions)
	return nil
}

// CoordinatorFor returns the node that coordinates groupID, or -1 with the
// Kafka error code when there is none yet.
func (c *Coordinator) CoordinatorFor(groupID string) (int32, int16) {
	img := c.meta.Image()
	t := img.Topic(metadata.OffsetsTopic)
	if t == nil || len(t.Partitions) == 0 {
		return -1, kerr.CoordinatorNotAvailable.Code
	}
	p := t.Partitions[PartitionFor(groupID, int32(len(t.Partitions)))]
	if p.Leader < 0 {
		return -1, kerr.CoordinatorNotAvailable.Code
	}
	return p.Leader, 0
}

// shardFor returns the loaded shard of groupID, or the Kafka error code:
// NOT_COORDINATOR when this broker does not lead its partition,
// COORDINATOR_LOAD_IN_PROGRESS while it loads.
func (c *Coordinator) shardFor(groupID string) (*shard, int16) {
	img := c.meta.Image()
	t := img.Topic(metadata.OffsetsTopic)
	if t == nil || len(t.Partitions) == 0 {
		return nil, kerr.NotCoordinator.Code
	}
	idx := PartitionFor(groupID, int32(len(t.Partitions)))
	c.mu.RLock()
	s := c.mu.shards[idx]
	c.mu.RUnlock()
	if s == nil {
		if t.Partitions[idx].Leader == c.nodeID {
			// NB: the image is published before the broker applies it,
			// so a request can see the partition led here before its
			// shard exists: it is about to load, not elsewhere.
			return nil, kerr.CoordinatorLoadInProgress.Code
		}
		return nil, kerr.NotCoordinator.Code
	}
	if code := s.ready(); code != 0 {
		return nil, code
	}
	return s, 0
}

// lockGroupByID finds groupID's shard and returns the group locked,
// created first when create. It answers the shard's code when the shard
// is not this broker's or not loaded (NOT_COORDINATOR,
// COORDINATOR_LOAD_IN_PROGRESS), also when that changed while the group
// was looked up, and (nil, 0) when there is no such group: what a missing
// group means differs by API. Callers check the id first, for the same
// reason.
func (c *Coordinator) lockGroupByID(groupID string, create bool) (*Group, int16) {
	s, code := c.shardFor(groupID)
	if code != 0 {
		return nil, code
	}
	g := s.lockGroup(groupID, create)
	if g == nil {
		return nil, s.ready()
	}
	return g, 0
}

// WaitLoaded waits, at most max, until the shard of groupID has loaded
// (or turned out not to be this broker's). FindCoordinator calls it so
// that a client told "this broker" right after the offsets topic was
// created finds its group served, rather than COORDINATOR_LOAD_IN_PROGRESS
// (which some clients, e.g. kafka-go's OffsetFetch, do not retry).
// Loading an empty shard takes microseconds; a long replay is not waited
// for beyond max.
func (c *Coordinator) WaitLoaded(ctx context.Context, groupID string, max time.Duration) {
	deadline := time.Now().Add(max)
	for {
		_, code := c.shardFor(groupID)
		if code != kerr.CoordinatorLoadInProgress.Code || time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		// NB: real time, not the coordinator's clock: this bounds a
		// client's wait, and loads run in real time.
		time.Sleep(time.Millisecond)
	}
}

// shards returns the shards this broker holds.
func (c *Coordinator) shards() []*shard {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*shard, 0, len(c.mu.shards))
	for _, s := range c.mu.shards {
		out = append(out, s)
	}
	return out
}

// Loaded reports whether every shard this broker holds has loaded (for
// tests and readiness).
func (c *Coordinator) Loaded() bool {
	for _, s := range c.shards() {
		if s.ready() != 0 {
			return false
		}
	}
	return true
}

func (c *Coordinator) now() time.Time { return c.clock.Now() }
