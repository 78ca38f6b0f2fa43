package group

// OffsetCommit, OffsetFetch and OffsetDelete.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/record"
)

// PartitionExists tells the coordinator whether a topic partition exists
// (commits for others get UNKNOWN_TOPIC_OR_PARTITION).
type PartitionExists func(topic string, partition int32) bool

// OffsetCommit handles an OffsetCommit request. It answers only once the
// offsets' records are in the log.
func (c *Coordinator) OffsetCommit(req Request, r *kmsg.OffsetCommitRequest, exists PartitionExists) *kmsg.OffsetCommitResponse {
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.Version = req.Version
	// Every partition gets the group-level verdict, if any.
	if !validGroupID(r.Group) {
		return commitAll(resp, r, kerr.InvalidGroupID.Code)
	}
	instance := r.InstanceID
	g, code := c.lockGroupByID(r.Group, r.Generation < 0)
	if code != 0 {
		return commitAll(resp, r, code)
	}
	if g == nil {
		// A generation >= 0 names a rebalance the coordinator never saw.
		return commitAll(resp, r, kerr.IllegalGeneration.Code)
	}
	defer g.mu.Unlock()
	if code := g.validateCommitLocked(req.Version, r.MemberID, instance, r.Generation); code != 0 {
		return commitAll(resp, r, code)
	}
	now := c.now().UnixMilli()
	type pending struct {
		tp TopicPartition
		o  Offset
		ti int
		pi int
	}
	var toWrite []pending
	var records []record.RecordSpec
	for ti, rt := range r.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			switch {
			case !exists(rt.Topic, rp.Partition):
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case rp.Metadata != nil && len(*rp.Metadata) > c.cfg.metadataMaxBytes:
				sp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
			default:
				o := Offset{Offset: rp.Offset, LeaderEpoch: rp.LeaderEpoch, CommitTimestamp: now, ExpireTimestamp: -1}
				if req.Version < 6 {
					o.LeaderEpoch = -1
				}
				if rp.Metadata != nil {
					o.Metadata = *rp.Metadata
				}
				if req.Version >= 2 && req.Version <= 4 && r.RetentionTimeMillis != -1 {
					// v2–v4 may ask for their own retention (before KIP-211).
					o.ExpireTimestamp = now + r.RetentionTimeMillis
				}
				tp := TopicPartition{rt.Topic, rp.Partition}
				toWrite = append(toWrite, pending{tp, o, ti, len(st.Partitions)})
				records = append(records, record.RecordSpec{Key: offsetKey(g.id, tp.Topic, tp.Partition), Value: offsetValue(o)})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(records) == 0 {
		return resp
	}
	if err := g.shard.write(records); err != nil {
		code := writeErrorCode(err)
		for _, p := range toWrite {
			resp.Topics[p.ti].Partitions[p.pi].ErrorCode = code
		}
		return resp
	}
	for _, p := range toWrite {
		g.offsets[p.tp] = p.o
	}
	return resp
}

// validateCommitLocked is Kafka's check of a commit against the group:
// an admin or simple commit (generation -1, no member) only while the
// group has no members; otherwise a known member of the current generation,
// not in the middle of a rebalance's sync phase.
func (g *Group) validateCommitLocked(version int16, memberID string, instanceID *string, generation int32) int16 {
	if g.kind == KindConsumer && g.consumer != nil {
		return g.consumer.ValidateOffsetCommit(memberID, generation, version)
	}
	if generation < 0 && memberID == "" && len(g.members) == 0 {
		return 0
	}
	if _, code := g.classicMemberLocked(memberID, instanceID, generation); code != 0 {
		return code
	}
	if g.state == StateCompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

func commitAll(resp *kmsg.OffsetCommitResponse, r *kmsg.OffsetCommitRequest, code int16) *kmsg.OffsetCommitResponse {
	for _, rt := range r.Topics {
		st := kmsg.NewOffsetCommitResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetCommitResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// FetchedOffsets is one group's answer to OffsetFetch: Code is the
// group-level error; Topics the offsets (Offset -1: none committed).
type FetchedOffsets struct {
	Code   int16
	Topics []kmsg.OffsetFetchResponseGroupTopic
}

// FetchOffsets returns a group's committed offsets for topics (nil: every
// committed offset). An unknown group has no offsets, which is not an
// error. requireStable (KIP-447) would wait for pending transactional
// commits; there are none without transactions, so every offset is stable.
func (c *Coordinator) FetchOffsets(groupID, memberID string, memberEpoch int32, topics []kmsg.OffsetFetchRequestGroupTopic, requireStable bool) FetchedOffsets {
	_ = requireStable
	if len(groupID) > maxStringLen {
		return FetchedOffsets{Code: kerr.InvalidGroupID.Code}
	}
	g, code := c.lockGroupByID(groupID, false)
	if code != 0 {
		return FetchedOffsets{Code: code}
	}
	var out FetchedOffsets
	if g == nil {
		for _, rt := range topics {
			out.Topics = append(out.Topics, missingOffsets(rt))
		}
		return out
	}
	defer g.mu.Unlock()
	if memberID != "" || memberEpoch >= 0 {
		if g.kind == KindConsumer && g.consumer != nil {
			if code := g.consumer.ValidateOffsetFetch(memberID, memberEpoch); code != 0 {
				return FetchedOffsets{Code: code}
			}
		}
	}
	if topics == nil {
		byTopic := map[string]int{}
		for tp, o := range g.offsets {
			i, ok := byTopic[tp.Topic]
			if !ok {
				i = len(out.Topics)
				byTopic[tp.Topic] = i
				t := kmsg.NewOffsetFetchResponseGroupTopic()
				t.Topic = tp.Topic
				out.Topics = append(out.Topics, t)
			}
			out.Topics[i].Partitions = append(out.Topics[i].Partitions, fetchedPartition(tp.Partition, o))
		}
		return out
	}
	for _, rt := range topics {
		t := kmsg.NewOffsetFetchResponseGroupTopic()
		t.Topic = rt.Topic
		for _, p := range rt.Partitions {
			o, ok := g.offsets[TopicPartition{rt.Topic, p}]
			if !ok {
				o = Offset{Offset: -1, LeaderEpoch: -1}
			}
			t.Partitions = append(t.Partitions, fetchedPartition(p, o))
		}
		out.Topics = append(out.Topics, t)
	}
	return out
}

func fetchedPartition(p int32, o Offset) kmsg.OffsetFetchResponseGroupTopicPartition {
	fp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
	fp.Partition = p
	fp.Offset = o.Offset
	fp.LeaderEpoch = o.LeaderEpoch
	md := o.Metadata
	fp.Metadata = &md
	return fp
}

func missingOffsets(rt kmsg.OffsetFetchRequestGroupTopic) kmsg.OffsetFetchResponseGroupTopic {
	t := kmsg.NewOffsetFetchResponseGroupTopic()
	t.Topic = rt.Topic
	for _, p := range rt.Partitions {
		t.Partitions = append(t.Partitions, fetchedPartition(p, Offset{Offset: -1, LeaderEpoch: -1}))
	}
	return t
}

// OffsetDelete handles an OffsetDelete request (KIP-496): offsets of an
// empty group go; a group with members keeps the offsets of topics it is
// subscribed to (GROUP_SUBSCRIBED_TO_TOPIC), and a non-empty group that
// is not a consumer group cannot delete any (NON_EMPTY_GROUP).
func (c *Coordinator) OffsetDelete(req Request, r *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	resp.Version = req.Version
	if !validGroupID(r.Group) {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	g, code := c.lockGroupByID(r.Group, false)
	if code != 0 {
		resp.ErrorCode = code
		return resp
	}
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	defer g.mu.Unlock()
	empty := g.emptyLocked()
	var subscribed func(string) bool
	switch {
	case empty:
		subscribed = func(string) bool { return false }
	case g.kind == KindConsumer:
		subscribed = g.consumer.Subscribed
	case g.protocolType == "consumer":
		topics, _ := g.subscribedTopicsLocked()
		subscribed = func(t string) bool { return topics[t] }
	default:
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return resp
	}
	var records []record.RecordSpec
	var gone []TopicPartition
	for _, rt := range r.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		sub := subscribed(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			tp := TopicPartition{rt.Topic, rp.Partition}
			if sub {
				sp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else if _, ok := g.offsets[tp]; ok {
				records = append(records, record.RecordSpec{Key: offsetKey(g.id, tp.Topic, tp.Partition)})
				gone = append(gone, tp)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if len(records) > 0 {
		if err := g.shard.write(records); err != nil {
			resp.ErrorCode = writeErrorCode(err)
			resp.Topics = nil
			return resp
		}
		for _, tp := range gone {
			delete(g.offsets, tp)
		}
	}
	return resp
}

// subscribedTopicsLocked reads the topics a classic consumer group's
// members subscribe to from their ConsumerProtocol metadata. ok is false
// when some member's metadata does not parse (then the subscription is
// unknown).
func (g *Group) subscribedTopicsLocked() (topics map[string]bool, ok bool) {
	topics = map[string]bool{}
	ok = true
	for _, m := range g.members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			ok = false
			continue
		}
		for _, t := range meta.Topics {
			topics[t] = true
		}
	}
	return topics, ok
}

// deletedTopicsLocked returns the topics of the last image that img no
// longer has (or has under a new id: deleted and created again), and
// remembers img. c.mu is held. Images share unchanged topics, so this is
// a pointer comparison per topic.
func (c *Coordinator) deletedTopicsLocked(img *metadata.Image) map[string]bool {
	prev := c.mu.lastImg
	c.mu.lastImg = img
	if prev == nil {
		return nil
	}
	var deleted map[string]bool
	for name, pt := range prev.Topics {
		t := img.Topics[name]
		if t == pt || t != nil && t.ID == pt.ID {
			continue
		}
		if deleted == nil {
			deleted = map[string]bool{}
		}
		deleted[name] = true
	}
	return deleted
}

// dropOffsetsOf deletes every group's committed offsets of deleted topics
// (tombstones first), as Kafka does when partitions are deleted: offsets
// of a topic that is gone would otherwise be resumed by a new topic of
// the same name.
func (c *Coordinator) dropOffsetsOf(topics map[string]bool) {
	for _, s := range c.shards() {
		if s.ready() != 0 {
			continue // NB: a shard still loading keeps them (until they expire)
		}
		for _, g := range s.groups() {
			g.mu.Lock()
			if g.dead {
				g.mu.Unlock()
				continue
			}
			var gone []TopicPartition
			var records []record.RecordSpec
			for tp := range g.offsets {
				if topics[tp.Topic] {
					gone = append(gone, tp)
					records = append(records, record.RecordSpec{Key: offsetKey(g.id, tp.Topic, tp.Partition)})
				}
			}
			if len(records) > 0 {
				if err := s.write(records); err != nil {
					c.log.Warn("writing tombstones of a deleted topic's offsets", "group", g.id, "err", err)
				} else {
					for _, tp := range gone {
						delete(g.offsets, tp)
					}
				}
			}
			g.mu.Unlock()
		}
	}
}
