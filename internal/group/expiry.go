package group

// Offsets expiry (KIP-211): offsets.retention.minutes counts from the
// moment a group became empty, not from each commit, so a live group never
// loses its offsets. Groups that never had members (simple consumers,
// admin commits) count from each commit. A consumer group with members
// loses only the offsets of topics none of them subscribes to. A group
// left with no members and no offsets is deleted (tombstone). Old value v1
// records with their own expire timestamp keep it.

import (
	"time"

	"github.com/strata-io/strata/internal/record"
)

// expireRound runs one expiry pass over every loaded group and schedules
// the next one (offsets.retention.check.interval.ms).
func (c *Coordinator) expireRound() {
	now := c.now()
	for _, s := range c.shards() {
		if s.ready() != 0 {
			continue
		}
		for _, g := range s.groups() {
			g.mu.Lock()
			if !g.dead {
				g.expireLocked(now)
			}
			g.mu.Unlock()
		}
	}
	c.mu.Lock()
	if !c.mu.closed {
		c.mu.expiry = c.afterFunc(c.cfg.retentionCheck, c.expireRound)
	}
	c.mu.Unlock()
}

// expireLocked drops g's expired offsets, and g itself if nothing is left.
func (g *Group) expireLocked(now time.Time) {
	retention := g.shard.c.cfg.retention
	nowMs := now.UnixMilli()
	expired := func(o Offset, base int64) bool {
		if o.ExpireTimestamp >= 0 {
			return nowMs >= o.ExpireTimestamp
		}
		return nowMs-base >= retention.Milliseconds()
	}
	var gone []TopicPartition
	empty := g.emptyLocked()
	switch {
	case empty && g.kind != KindConsumer && g.protocolType != "":
		// Base: when the group became empty.
		for tp, o := range g.offsets {
			if expired(o, g.stateTime.UnixMilli()) {
				gone = append(gone, tp)
			}
		}
	case empty:
		for tp, o := range g.offsets {
			if expired(o, o.CommitTimestamp) {
				gone = append(gone, tp)
			}
		}
	case g.kind == KindConsumer:
		for tp, o := range g.offsets {
			if !g.consumer.Subscribed(tp.Topic) && expired(o, o.CommitTimestamp) {
				gone = append(gone, tp)
			}
		}
	case g.protocolType == "consumer":
		topics, ok := g.subscribedTopicsLocked()
		if !ok {
			return
		}
		for tp, o := range g.offsets {
			if !topics[tp.Topic] && expired(o, o.CommitTimestamp) {
				gone = append(gone, tp)
			}
		}
	}
	var records []record.RecordSpec
	for _, tp := range gone {
		records = append(records, record.RecordSpec{Key: offsetKey(g.id, tp.Topic, tp.Partition)})
	}
	deleteGroup := empty && len(g.offsets) == len(gone) && g.state == StateEmpty
	if deleteGroup {
		records = append(records, g.tombstonesLocked()...)
	}
	if len(records) == 0 {
		return
	}
	if err := g.shard.write(records); err != nil {
		g.shard.c.log.Warn("writing expired offsets' tombstones", "group", g.id, "err", err)
		return
	}
	for _, tp := range gone {
		delete(g.offsets, tp)
	}
	if len(gone) > 0 {
		g.shard.c.log.Info("expired committed offsets", "group", g.id, "partitions", len(gone))
	}
	if deleteGroup {
		g.shard.removeLocked(g)
	}
}

// tombstonesLocked are the records that delete the group itself (its
// offsets have their own).
func (g *Group) tombstonesLocked() []record.RecordSpec {
	out := []record.RecordSpec{{Key: groupKey(g.id)}}
	if g.consumer != nil {
		for _, k := range g.consumer.TombstoneKeys() {
			out = append(out, record.RecordSpec{Key: k})
		}
	}
	return out
}
