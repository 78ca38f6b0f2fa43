package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
)

// ValidateOffsetCommit is Kafka 4's check of a (non-transactional)
// OffsetCommit against a consumer group: with a negative epoch (an admin
// client or a consumer outside group management) only an empty group
// takes commits; otherwise the member must exist (UNKNOWN_MEMBER_ID), use
// OffsetCommit v9+ (UNSUPPORTED_VERSION: older versions carry no member
// epoch) and send exactly its current epoch (STALE_MEMBER_EPOCH).
func (g *ConsumerGroup) ValidateOffsetCommit(memberID string, memberEpoch int32, version int16) *HeartbeatError {
	if memberEpoch < 0 && len(g.Members) == 0 {
		return nil
	}
	m := g.Members[memberID]
	if m == nil {
		return hbErr(kerr.UnknownMemberID, "Member %s is not a member of group %s.", memberID, g.ID)
	}
	if version < 9 {
		return hbErr(kerr.UnsupportedVersion, "OffsetCommit version 9 or above must be used by members using the modern group protocol")
	}
	if memberEpoch != m.MemberEpoch {
		return hbErr(kerr.StaleMemberEpoch, "The received member epoch %d does not match the expected member epoch %d.", memberEpoch, m.MemberEpoch)
	}
	return nil
}

// ValidateOffsetFetch is Kafka 4's check of an OffsetFetch (v9+ carries a
// member id and epoch) against a consumer group: epoch -1 (an admin
// client, or a request before v9) is always served; otherwise the member
// must exist and send its current epoch.
func (g *ConsumerGroup) ValidateOffsetFetch(memberID string, memberEpoch int32) *HeartbeatError {
	if memberEpoch == -1 {
		return nil
	}
	m := g.Members[memberID]
	if m == nil {
		return hbErr(kerr.UnknownMemberID, "Member %s is not a member of group %s.", memberID, g.ID)
	}
	if memberEpoch != m.MemberEpoch {
		return hbErr(kerr.StaleMemberEpoch, "The received member epoch %d does not match the expected member epoch %d.", memberEpoch, m.MemberEpoch)
	}
	return nil
}

// ValidateDelete is DeleteGroups' check: only an empty group can go
// (NON_EMPTY_GROUP otherwise).
func (g *ConsumerGroup) ValidateDelete() *kerr.Error {
	if len(g.Members) > 0 {
		return kerr.NonEmptyGroup
	}
	return nil
}

// DeleteRecords returns the tombstones that delete the group, in Kafka's
// order (members first, the group epoch last), without applying them.
func (g *ConsumerGroup) DeleteRecords() []ConsumerGroupRecord {
	var out []ConsumerGroupRecord
	for _, id := range sortedMemberIDs(g) {
		out = append(out,
			ConsumerGroupRecord{Type: RecordConsumerGroupCurrentAssignment, Group: g.ID, Member: id},
			ConsumerGroupRecord{Type: RecordConsumerGroupTargetMember, Group: g.ID, Member: id},
			ConsumerGroupRecord{Type: RecordConsumerGroupMemberMetadata, Group: g.ID, Member: id},
		)
	}
	return append(out,
		ConsumerGroupRecord{Type: RecordConsumerGroupTargetMetadata, Group: g.ID},
		ConsumerGroupRecord{Type: RecordConsumerGroupPartitionMetadata, Group: g.ID},
		ConsumerGroupRecord{Type: RecordConsumerGroupMetadata, Group: g.ID},
	)
}
