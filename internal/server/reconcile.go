package server

import (
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/storage"
)

// apply brings the broker in line with a new metadata image: the effective
// broker config, and one open replica per partition this node holds.
// The metadata store calls it in order as records apply, and Update
// returns only after it, so a CreateTopics response is only sent once the
// partitions can take writes.
//
// Only topics whose entry changed since the last applied image are looked
// at (images share unchanged *Topic values), unless the broker configs
// changed: creating 1,000 topics one after another must not cost 1,000
// passes over every partition of the broker.
func (b *Broker) apply(img *metadata.Image) {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	if b.applyMu.stopped {
		return
	}
	prev := b.applyMu.applied
	b.applyMu.applied = img
	eff := b.static
	for _, res := range []string{"", strconv.Itoa(int(b.nodeID))} {
		if dyn := img.BrokerConfigs[res]; len(dyn) > 0 {
			if next, err := eff.With(dyn); err == nil {
				eff = next
			} else {
				b.log.Error("ignoring invalid dynamic broker config", "resource", res, "err", err)
			}
		}
	}
	b.cfg.Store(&eff)
	full := prev == nil
	for _, res := range []string{"", strconv.Itoa(int(b.nodeID))} {
		full = full || !maps.Equal(prev.BrokerConfigs[res], img.BrokerConfigs[res])
	}

	want := map[partition.Key]bool{}
	var opens []replicaToOpen
	for name, t := range img.Topics {
		if !full && prev.Topics[name] == t {
			continue
		}
		opens = b.applyTopic(t, eff, want, opens)
	}
	b.openReplicas(opens)
	var drops []partition.Key
	if full {
		for _, key := range b.parts.Keys() {
			if !want[key] {
				drops = append(drops, key)
			}
		}
	} else {
		for name, pt := range prev.Topics {
			if img.Topics[name] == pt {
				continue
			}
			for i := range pt.Partitions {
				key := partition.Key{Topic: name, Index: int32(i)}
				if !want[key] && b.parts.Get(key.Topic, key.Index) != nil {
					drops = append(drops, key)
				}
			}
		}
	}
	b.dropPartitions(drops)
	if b.groups != nil {
		// Load the group coordinator shards of the __consumer_offsets
		// partitions this broker leads (asynchronously), unload the rest.
		b.groups.SyncLeadership(img)
	}
}

// replicaToOpen is a replica apply found this node should have and has
// not opened yet.
type replicaToOpen struct {
	key      partition.Key
	topicID  metadata.UUID
	cfg      storage.Config
	state    partition.State
	settings partition.Settings
}

// applyTopic updates this node's open replicas of t's partitions, adds
// their keys to want, and appends those still to open to opens.
func (b *Broker) applyTopic(t *metadata.Topic, eff config.Broker, want map[partition.Key]bool, opens []replicaToOpen) []replicaToOpen {
	tc := eff.Topic(t.Configs)
	scfg := storageConfig(tc)
	settings := partition.Settings{
		MinInsyncReplicas: int(tc.Int(config.MinInsyncReplicas)),
		// Only the group coordinator's appends wait on it (Append with
		// acks=-1); a produce waits for its own request timeout.
		AppendTimeout: time.Duration(eff.Int(config.OffsetsCommitTimeoutMs)) * time.Millisecond,
	}
	for i, pm := range t.Partitions {
		if !contains(pm.Replicas, b.nodeID) {
			continue
		}
		key := partition.Key{Topic: t.Name, Index: int32(i)}
		want[key] = true
		st := partition.State{Leader: pm.Leader, LeaderEpoch: pm.LeaderEpoch, PartitionEpoch: pm.PartitionEpoch,
			Replicas: pm.Replicas, ISR: pm.ISR, TopicID: t.ID}
		if p := b.parts.Get(key.Topic, key.Index); p != nil {
			p.Log().UpdateConfig(scfg)
			p.SetSettings(settings)
			p.SetState(st)
			b.repl.Track(p)
			continue
		}
		opens = append(opens, replicaToOpen{key: key, topicID: t.ID, cfg: scfg, state: st, settings: settings})
	}
	return opens
}

// openWorkers is how many logs openReplicas opens at once. Opening is
// mostly waiting on the filesystem (directory reads, small files), or
// CPU-bound CRC checks after a crash; either way a broker restarting with
// 10,000 partitions, or a CreateTopics of 10,000, should not do it one by
// one (Kafka: num.recovery.threads.per.data.dir).
const openWorkers = 16

// openReplicas opens the logs of new replicas, several at a time, and adds
// the replicas to the set. It returns when all are open (or failed, which
// is logged: that partition stays unavailable).
func (b *Broker) openReplicas(opens []replicaToOpen) {
	open := func(o replicaToOpen) {
		lg, err := b.openLog(storage.TopicPartition{Topic: o.key.Topic, Partition: o.key.Index}, o.topicID, o.cfg)
		if err != nil {
			b.log.Error("opening partition log", "topic", o.key.Topic, "partition", o.key.Index, "err", err)
			return
		}
		p := partition.New(o.key.Topic, o.key.Index, b.nodeID, lg, o.state, o.settings)
		b.parts.Put(p)
		b.repl.Track(p)
	}
	if len(opens) == 1 {
		open(opens[0])
		return
	}
	next := make(chan replicaToOpen)
	var wg sync.WaitGroup
	for w := 0; w < min(openWorkers, len(opens)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				open(o)
			}
		}()
	}
	for _, o := range opens {
		next <- o
	}
	close(next)
	wg.Wait()
}

// dropPartitions closes and deletes replicas this node no longer holds.
func (b *Broker) dropPartitions(keys []partition.Key) {
	if len(keys) == 0 {
		return
	}
	tps := make([]storage.TopicPartition, len(keys))
	for i, key := range keys {
		if p := b.parts.Remove(key); p != nil {
			b.repl.Untrack(p)
			p.Stop() // an acks=all produce waiting on it fails now
		}
		tps[i] = storage.TopicPartition{Topic: key.Topic, Partition: key.Index}
	}
	if err := b.logs.DeleteAll(tps); err != nil {
		b.log.Error("deleting partition logs", "partitions", len(tps), "err", err)
	}
}

// openLog opens tp's log for the topic with id topicID. A directory left
// by a deleted topic of the same name (a crash between the deletion and
// the removal of its files) is set aside, never served as the new topic's
// data.
func (b *Broker) openLog(tp storage.TopicPartition, topicID metadata.UUID, cfg storage.Config) (*storage.Log, error) {
	lg, err := b.logs.Open(tp, cfg)
	if err != nil {
		return nil, err
	}
	id, ok, err := lg.TopicID()
	switch {
	case err == nil && ok && id == topicID:
		return lg, nil
	case err == nil && !ok:
		return lg, lg.SetTopicID(topicID) // a new partition
	}
	path, serr := b.logs.SetAside(tp)
	if serr != nil {
		return nil, serr
	}
	b.log.Warn("set aside a partition directory that belongs to another topic id", "topic", tp.Topic, "partition", tp.Partition, "moved_to", path, "found_id", metadata.UUID(id).String(), "err", err)
	if lg, err = b.logs.Open(tp, cfg); err != nil {
		return nil, err
	}
	return lg, lg.SetTopicID(topicID)
}

// setAsideStrayLogs renames partition directories the metadata does not
// know to "…-stray": left by a crash between a topic's deletion and the
// removal of its files, or by metadata that was lost. They are kept, never
// deleted automatically: losing data because metadata went missing would be
// the worst failure a log store can have.
func (b *Broker) setAsideStrayLogs() {
	for _, tp := range b.logs.Partitions() {
		if b.parts.Get(tp.Topic, tp.Partition) != nil {
			continue
		}
		path, err := b.logs.SetAside(tp)
		if err != nil {
			b.log.Error("setting aside a stray partition directory", "topic", tp.Topic, "partition", tp.Partition, "err", err)
			continue
		}
		b.log.Warn("set aside a partition directory unknown to the metadata; remove it by hand if it is not needed", "topic", tp.Topic, "partition", tp.Partition, "moved_to", path)
	}
}

// storageConfig maps a topic's effective configs to the log's settings.
func storageConfig(tc config.TopicConfig) storage.Config {
	cfg := storage.Config{
		SegmentBytes:       tc.Int(config.SegmentBytes),
		SegmentMs:          tc.Int(config.SegmentMs),
		SegmentIndexBytes:  tc.Int(config.SegmentIndexBytes),
		IndexIntervalBytes: tc.Int(config.IndexIntervalBytes),
		RetentionMs:        tc.Int(config.RetentionMs),
		RetentionBytes:     tc.Int(config.RetentionBytes),
		FlushMessages:      tc.Int(config.FlushMessages),
		FlushMs:            tc.Int(config.FlushMs),
		MaxMessageBytes:    tc.Int(config.MaxMessageBytes),
		LogAppendTime:      tc.Get(config.MessageTimestampTyp) == "LogAppendTime",
		FileDeleteDelayMs:  tc.Int(config.FileDeleteDelayMs),
		// A compact-only topic (__consumer_offsets) is never trimmed by
		// time or size: storage applies retention.ms / retention.bytes
		// only when the policy has delete.
		CleanupPolicy:      tc.Get(config.CleanupPolicy),
		DeleteRetentionMs:  tc.Int(config.DeleteRetentionMs),
		MinCompactionLagMs: tc.Int(config.MinCompactionLagMs),
		MaxCompactionLagMs: tc.Int(config.MaxCompactionLagMs),
		MinCleanableRatio:  tc.Float(config.MinCleanableRatio),
	}
	// NB: storage.Config takes 0 for "Kafka's default"; where Kafka
	// accepts 0 and means it, pass the smallest value with the same effect.
	if cfg.DeleteRetentionMs == 0 {
		cfg.DeleteRetentionMs = 1
	}
	if cfg.MinCleanableRatio == 0 {
		cfg.MinCleanableRatio = 1e-9
	}
	return cfg
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
