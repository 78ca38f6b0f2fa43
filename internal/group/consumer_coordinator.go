package group

// ConsumerGroupHeartbeat and ConsumerGroupDescribe: the coordinator's
// entry points of the KIP-848 protocol.

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/record"
)

// recordSpecs turns consumer group records into __consumer_offsets records.
func recordSpecs(recs []ConsumerGroupRecord) []record.RecordSpec {
	out := make([]record.RecordSpec, len(recs))
	for i := range recs {
		out[i] = record.RecordSpec{Key: recs[i].AppendKey(nil), Value: recs[i].AppendValue(nil)}
	}
	return out
}

// ConsumerGroupHeartbeat handles a ConsumerGroupHeartbeat request. The
// group kinds mix as in Kafka 4 with group.consumer.migration.policy
// disabled for groups that have members: a joining heartbeat takes over an
// empty classic group (its offsets stay), but a classic group with members
// is GROUP_ID_NOT_FOUND, and so is any non-joining heartbeat for a group
// that is not a consumer group.
func (c *Coordinator) ConsumerGroupHeartbeat(req Request, r *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	fail := func(code int16, msg string) *kmsg.ConsumerGroupHeartbeatResponse {
		resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		resp.Version = req.Version
		resp.ErrorCode = code
		if msg != "" {
			resp.ErrorMessage = &msg
		}
		return resp
	}
	p, ok := c.consumer.(*consumerProtocol)
	if !ok || !c.cfg.consumer {
		return fail(kerr.UnsupportedVersion.Code, "The consumer group protocol is not enabled.")
	}
	if e := ValidateHeartbeat(r, req.Version, p.cfg); e != nil {
		return fail(e.Err.Code, e.Message)
	}
	if len(r.Group) > maxStringLen {
		return fail(kerr.InvalidGroupID.Code, "")
	}
	joining := r.MemberEpoch == 0
	g, code := c.lockGroupByID(r.Group, joining)
	if code != 0 {
		return fail(code, "")
	}
	if g == nil {
		return fail(kerr.GroupIDNotFound.Code, fmt.Sprintf("Consumer group %s not found.", r.Group))
	}
	defer g.mu.Unlock()

	var extra []record.RecordSpec // the classic group record's tombstone on a takeover
	prevKind, prevConsumer := g.kind, g.consumer
	if g.kind != KindConsumer {
		switch {
		case !joining:
			return fail(kerr.GroupIDNotFound.Code, fmt.Sprintf("Group %s is not a consumer group.", r.Group))
		case len(g.members) > 0 || len(g.pending) > 0:
			return fail(kerr.GroupIDNotFound.Code, fmt.Sprintf("Cannot upgrade classic group %s to consumer group because online upgrade is disabled.", r.Group))
		}
		if g.protocolType != "" {
			// An empty classic group gives way, as Kafka's
			// maybeDeleteEmptyClassicGroup; its offsets stay.
			extra = append(extra, recordTombstone(groupKey(g.id)))
		}
		g.kind = KindConsumer
		g.consumer = p.New(g)
	}
	st := g.consumer.(*consumerState)
	resp, recs := st.cg.Heartbeat(HeartbeatInput{
		Req: r, Version: req.Version, ClientID: req.ClientID, ClientHost: req.ClientHost,
		Now: c.now(), Image: c.meta.Image(),
	})
	undoKind := func() {
		if prevKind != KindConsumer {
			g.kind, g.consumer = prevKind, prevConsumer
		}
	}
	if resp.ErrorCode != 0 {
		undoKind()
		return resp
	}
	if len(recs) > 0 {
		if err := g.shard.write(append(extra, recordSpecs(recs)...)); err != nil {
			st.cg.RollbackLast()
			undoKind()
			return fail(writeErrorCode(err), "")
		}
		if len(extra) > 0 {
			g.restoreClassic(nil)
			g.kind = KindConsumer
		}
	}
	st.scheduleLocked()
	return resp
}

// DescribeConsumerGroup describes one group for ConsumerGroupDescribe:
// GROUP_ID_NOT_FOUND for an unknown group or one that is not a consumer
// group, as in Kafka.
func (c *Coordinator) DescribeConsumerGroup(version int16, id string, includeOps bool) kmsg.ConsumerGroupDescribeResponseGroup {
	dg := kmsg.NewConsumerGroupDescribeResponseGroup()
	dg.Group = id
	fail := func(code int16, msg string) kmsg.ConsumerGroupDescribeResponseGroup {
		dg.ErrorCode = code
		if msg != "" {
			dg.ErrorMessage = &msg
		}
		return dg
	}
	if id == "" || len(id) > maxStringLen {
		return fail(kerr.InvalidGroupID.Code, "")
	}
	g, code := c.lockGroupByID(id, false)
	if code != 0 {
		return fail(code, "")
	}
	if g == nil {
		return fail(kerr.GroupIDNotFound.Code, fmt.Sprintf("Group %s not found.", id))
	}
	defer g.mu.Unlock()
	st, ok := g.consumer.(*consumerState)
	if g.kind != KindConsumer || !ok {
		return fail(kerr.GroupIDNotFound.Code, fmt.Sprintf("Group %s is not a consumer group.", id))
	}
	if includeOps {
		dg.AuthorizedOperations = describeAllOps
	}
	cg := st.cg
	img := c.meta.Image()
	dg.State = cg.State()
	dg.Epoch = cg.Epoch
	dg.AssignmentEpoch = cg.AssignmentEpoch
	dg.AssignorName = cg.PreferredAssignor().Name()
	for _, mid := range sortedMemberIDs(cg) {
		m := cg.Members[mid]
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID = m.ID
		dm.InstanceID = optString(m.InstanceID)
		dm.RackID = optString(m.RackID)
		dm.MemberEpoch = m.MemberEpoch
		dm.ClientID = m.ClientID
		dm.ClientHost = m.ClientHost
		dm.SubscribedTopics = slices.Clone(m.SubscribedTopicNames)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		dm.SubscribedTopicRegex = optString(m.SubscribedTopicRegex)
		dm.Assignment = describeAssignment(m.Assigned, img)
		dm.TargetAssignment = describeAssignment(cg.Target[mid], img)
		if version >= 1 {
			dm.MemberType = 1 // a consumer-protocol member (0 would be classic)
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}

func describeAssignment(tp TopicPartitions, img *metadata.Image) kmsg.Assignment {
	var a kmsg.Assignment
	a.TopicPartitions = []kmsg.AssignmentTopicPartition{}
	for _, id := range tp.sortedTopicIDs() {
		t := kmsg.AssignmentTopicPartition{TopicID: id, Partitions: slices.Clone(tp[id])}
		if img != nil {
			if topic := img.TopicByID(id); topic != nil {
				t.Topic = topic.Name
			}
		}
		a.TopicPartitions = append(a.TopicPartitions, t)
	}
	return a
}
