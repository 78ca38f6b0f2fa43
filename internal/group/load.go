package group

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/record"
)

// load replays the shard's partition from the log start to the high
// watermark into fresh groups, then starts serving them. Until then every
// request for the shard's groups gets COORDINATOR_LOAD_IN_PROGRESS.
//
// A record that does not decode is skipped with a warning rather than
// failing the load: one corrupt record (the batch CRCs passed, so it was
// written that way) must not make every group of the shard unavailable.
func (s *shard) load() {
	start := s.c.now()
	groups := map[string]*Group{}
	n, skipped, err := s.replay(groups)
	if err != nil {
		s.c.log.Error("loading group coordinator shard", "partition", s.index, "err", err)
	}
	now := s.c.now()
	for id, g := range groups {
		if !g.finishLoad(now) {
			delete(groups, id)
		}
	}
	s.mu.Lock()
	if s.mu.status != shardLoading { // unloaded meanwhile
		s.mu.Unlock()
		return
	}
	s.mu.groups = groups
	s.mu.status = shardLoaded
	loaded := make([]*Group, 0, len(groups))
	for _, g := range groups {
		loaded = append(loaded, g)
	}
	s.mu.Unlock()
	// Timers start only now, so none fires into a shard still loading.
	for _, g := range loaded {
		g.mu.Lock()
		if !g.dead {
			g.startLoadedTimersLocked(now)
		}
		g.mu.Unlock()
	}
	s.c.log.Info("loaded group coordinator shard", "partition", s.index, "groups", len(loaded), "records", n, "skipped", skipped, "took", s.c.now().Sub(start))
}

// replay reads the partition into groups and returns the records applied
// and skipped.
func (s *shard) replay(groups map[string]*Group) (n, skipped int, err error) {
	offset := s.part.LogStartOffset()
	var buf []byte
	for {
		if s.c.ctx.Err() != nil || s.ready() == kerr.NotCoordinator.Code {
			return n, skipped, nil
		}
		// NB: to the log end, not the HW: a new leader's HW starts
		// where its last checkpoint put it and catches up only as its
		// followers fetch, so records committed (acknowledged) under the
		// previous leader may lie above it for a moment.
		if offset >= s.part.LogEndOffset() {
			return n, skipped, nil
		}
		res, err := s.part.ReadLog(offset, s.c.cfg.loadBuffer, true)
		if err != nil {
			return n, skipped, fmt.Errorf("reading offset %d: %w", offset, err)
		}
		if res.Data.Size == 0 {
			return n, skipped, nil
		}
		if buf, err = res.Data.AppendTo(buf[:0]); err != nil {
			return n, skipped, err
		}
		a, k := s.replayBatches(buf, groups)
		n, skipped = n+a, skipped+k
		offset = res.Data.NextOffset
	}
}

// replayBatches applies every record of the batches in buf. It must not
// panic whatever buf holds (FuzzReplay drives it).
func (s *shard) replayBatches(buf []byte, groups map[string]*Group) (applied, skipped int) {
	it := record.NewBatches(buf)
	for {
		h, raw, ok := it.Next()
		if !ok {
			break
		}
		if h.IsControl() {
			continue
		}
		recs, err := record.ReadRecords(raw, record.DefaultDecompressLimit)
		if err != nil {
			s.c.log.Warn("skipping an undecodable __consumer_offsets batch", "partition", s.index, "offset", h.BaseOffset, "err", err)
			skipped += int(max(h.RecordCount, 0))
			continue
		}
		for _, r := range recs {
			if err := s.apply(groups, r.Key, r.Value); err != nil {
				s.c.log.Warn("skipping a __consumer_offsets record", "partition", s.index, "offset", h.BaseOffset+int64(r.OffsetDelta), "err", err)
				skipped++
				continue
			}
			applied++
		}
	}
	if err := it.Err(); err != nil {
		s.c.log.Warn("__consumer_offsets batches end in garbage", "partition", s.index, "err", err)
	}
	return applied, skipped
}

// apply replays one record into groups.
func (s *shard) apply(groups map[string]*Group, key, value []byte) error {
	d, err := decodeRecord(key, value)
	if err != nil {
		return err
	}
	get := func(id string) *Group {
		g := groups[id]
		if g == nil {
			g = newGroup(id, s, s.c.now())
			groups[id] = g
		}
		return g
	}
	switch {
	case d.offsetKey != nil:
		g := get(d.offsetKey.Group)
		tp := TopicPartition{d.offsetKey.Topic, d.offsetKey.Partition}
		if d.offset == nil {
			delete(g.offsets, tp)
		} else {
			g.offsets[tp] = *d.offset
		}
	case d.groupKey != nil:
		g := get(d.groupKey.Group)
		g.restoreClassic(d.group)
	default:
		if s.c.consumer == nil {
			return nil // KIP-848 records, kept for when the protocol exists
		}
		id, err := s.c.consumer.GroupOf(d.rawKey)
		if err != nil {
			return err
		}
		g := get(id)
		if g.consumer == nil {
			g.kind = KindConsumer
			g.consumer = s.c.consumer.New(g)
		}
		return s.c.consumer.Replay(g, d.rawKey, d.rawValue)
	}
	return nil
}

// restoreClassic sets the classic state from a group metadata record (nil:
// the group was deleted; its offsets have their own tombstones).
func (g *Group) restoreClassic(v *kmsg.GroupMetadataValue) {
	g.members = map[string]*classicMember{}
	g.static = map[string]string{}
	g.joinOrder = nil
	g.leader, g.protocol, g.protocolType = "", "", ""
	g.generation = 0
	g.kind = KindNone
	if v == nil {
		return
	}
	g.kind = KindClassic
	g.protocolType = v.ProtocolType
	g.generation = v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.Leader != nil {
		g.leader = *v.Leader
	}
	g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
	for _, vm := range v.Members {
		m := &classicMember{
			id:               vm.MemberID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocolType:     v.ProtocolType,
			protocols:        []kmsg.JoinGroupRequestProtocol{{Name: g.protocol, Metadata: vm.Subscription}},
			assignment:       vm.Assignment,
			synced:           true,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		if vm.InstanceID != nil {
			m.instanceID = *vm.InstanceID
			g.static[m.instanceID] = m.id
		}
		if _, dup := g.members[m.id]; !dup {
			g.joinOrder = append(g.joinOrder, m.id)
		}
		g.members[m.id] = m
	}
}

// finishLoad settles a replayed group's state and reports whether the
// group still exists (a deleted group leaves only tombstones).
func (g *Group) finishLoad(now time.Time) bool {
	if g.kind == KindConsumer {
		return true
	}
	if len(g.members) > 0 {
		g.state = StateStable
		if _, ok := g.members[g.leader]; !ok {
			g.leader = g.joinOrder[0]
		}
		return true
	}
	g.state = StateEmpty
	return len(g.offsets) > 0 || g.protocolType != ""
}

// startLoadedTimersLocked starts the session timers of loaded members:
// they have one session timeout to reach this coordinator, as in Kafka.
func (g *Group) startLoadedTimersLocked(now time.Time) {
	if g.kind == KindConsumer {
		if g.shard.c.consumer != nil {
			g.shard.c.consumer.Loaded(g, now)
		}
		return
	}
	for _, m := range g.members {
		m.lastSeen = now
		g.scheduleSessionLocked(m)
	}
}
