package group

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kbin"

	"github.com/strata-io/strata/internal/metadata"
)

// Key versions (record types) of the KIP-848 consumer group records in
// __consumer_offsets, as Kafka 4's group coordinator numbers them. The key
// is this int16 followed by the key fields (non-flexible strings); the
// value is an int16 value version (0 for all of them) followed by the
// flexible value fields. A record without a value is a tombstone.
const (
	RecordConsumerGroupMetadata          int16 = 3 // key: group
	RecordConsumerGroupPartitionMetadata int16 = 4 // key: group
	RecordConsumerGroupMemberMetadata    int16 = 5 // key: group, member
	RecordConsumerGroupTargetMetadata    int16 = 6 // key: group
	RecordConsumerGroupTargetMember      int16 = 7 // key: group, member
	RecordConsumerGroupCurrentAssignment int16 = 8 // key: group, member
)

// IsConsumerGroupRecordType reports whether a __consumer_offsets key
// version is one of the consumer group records above.
func IsConsumerGroupRecordType(v int16) bool { return v >= 3 && v <= 8 }

// ErrBadRecord is returned for a consumer group record that does not
// decode; the loader must treat the partition as corrupt, not guess.
var ErrBadRecord = errors.New("group: malformed consumer group record")

// ConsumerGroupRecord is one consumer group record. Type says which value
// field is meaningful; a nil value is a tombstone.
type ConsumerGroupRecord struct {
	Type   int16
	Group  string
	Member string // for the member records (5, 7, 8)

	Metadata          *GroupMetadataValue
	PartitionMetadata *PartitionMetadataValue
	MemberMetadata    *MemberMetadataValue
	TargetMetadata    *TargetMetadataValue
	TargetMember      TopicPartitions // nil: tombstone
	CurrentAssignment *CurrentAssignmentValue
}

// GroupMetadataValue is ConsumerGroupMetadataValue v0.
type GroupMetadataValue struct {
	Epoch int32
}

// SubscribedTopic is one topic of a group's subscription metadata.
type SubscribedTopic struct {
	ID         metadata.UUID
	Name       string
	Partitions int32
}

// PartitionMetadataValue is ConsumerGroupPartitionMetadataValue v0: the
// subscribed topics as of the last group epoch bump. Racks are not kept
// (Kafka 4 stopped using them too) and are written as empty lists.
type PartitionMetadataValue struct {
	Topics []SubscribedTopic // sorted by name
}

// MemberMetadataValue is ConsumerGroupMemberMetadataValue v0.
type MemberMetadataValue struct {
	InstanceID           *string
	RackID               *string
	ClientID             string
	ClientHost           string
	SubscribedTopicNames []string
	SubscribedTopicRegex *string
	RebalanceTimeoutMs   int32
	ServerAssignor       *string
}

// TargetMetadataValue is ConsumerGroupTargetAssignmentMetadataValue v0.
type TargetMetadataValue struct {
	AssignmentEpoch int32
}

// CurrentAssignmentValue is ConsumerGroupCurrentMemberAssignmentValue v0.
type CurrentAssignmentValue struct {
	MemberEpoch         int32
	PreviousMemberEpoch int32
	State               MemberState
	Assigned            TopicPartitions
	PendingRevocation   TopicPartitions
}

func (r *ConsumerGroupRecord) isTombstone() bool {
	switch r.Type {
	case RecordConsumerGroupMetadata:
		return r.Metadata == nil
	case RecordConsumerGroupPartitionMetadata:
		return r.PartitionMetadata == nil
	case RecordConsumerGroupMemberMetadata:
		return r.MemberMetadata == nil
	case RecordConsumerGroupTargetMetadata:
		return r.TargetMetadata == nil
	case RecordConsumerGroupTargetMember:
		return r.TargetMember == nil
	case RecordConsumerGroupCurrentAssignment:
		return r.CurrentAssignment == nil
	}
	return true
}

func (r *ConsumerGroupRecord) hasMemberKey() bool {
	return r.Type == RecordConsumerGroupMemberMetadata || r.Type == RecordConsumerGroupTargetMember || r.Type == RecordConsumerGroupCurrentAssignment
}

// AppendKey appends the record's key.
func (r *ConsumerGroupRecord) AppendKey(dst []byte) []byte {
	dst = kbin.AppendInt16(dst, r.Type)
	dst = kbin.AppendString(dst, r.Group)
	if r.hasMemberKey() {
		dst = kbin.AppendString(dst, r.Member)
	}
	return dst
}

// AppendValue appends the record's value; a tombstone appends nothing and
// returns nil so the caller writes a null value.
func (r *ConsumerGroupRecord) AppendValue(dst []byte) []byte {
	if r.isTombstone() {
		return nil
	}
	dst = kbin.AppendInt16(dst, 0)
	switch r.Type {
	case RecordConsumerGroupMetadata:
		dst = kbin.AppendInt32(dst, r.Metadata.Epoch)
	case RecordConsumerGroupPartitionMetadata:
		dst = kbin.AppendCompactArrayLen(dst, len(r.PartitionMetadata.Topics))
		for _, t := range r.PartitionMetadata.Topics {
			dst = kbin.AppendUuid(dst, t.ID)
			dst = kbin.AppendCompactString(dst, t.Name)
			dst = kbin.AppendInt32(dst, t.Partitions)
			dst = kbin.AppendCompactArrayLen(dst, 0) // PartitionMetadata (racks)
			dst = kbin.AppendUvarint(dst, 0)
		}
	case RecordConsumerGroupMemberMetadata:
		m := r.MemberMetadata
		dst = kbin.AppendCompactNullableString(dst, m.InstanceID)
		dst = kbin.AppendCompactNullableString(dst, m.RackID)
		dst = kbin.AppendCompactString(dst, m.ClientID)
		dst = kbin.AppendCompactString(dst, m.ClientHost)
		dst = kbin.AppendCompactArrayLen(dst, len(m.SubscribedTopicNames))
		for _, n := range m.SubscribedTopicNames {
			dst = kbin.AppendCompactString(dst, n)
		}
		dst = kbin.AppendCompactNullableString(dst, m.SubscribedTopicRegex)
		dst = kbin.AppendInt32(dst, m.RebalanceTimeoutMs)
		dst = kbin.AppendCompactNullableString(dst, m.ServerAssignor)
	case RecordConsumerGroupTargetMetadata:
		dst = kbin.AppendInt32(dst, r.TargetMetadata.AssignmentEpoch)
	case RecordConsumerGroupTargetMember:
		dst = appendTopicPartitions(dst, r.TargetMember)
	case RecordConsumerGroupCurrentAssignment:
		c := r.CurrentAssignment
		dst = kbin.AppendInt32(dst, c.MemberEpoch)
		dst = kbin.AppendInt32(dst, c.PreviousMemberEpoch)
		dst = kbin.AppendInt8(dst, int8(c.State))
		dst = appendTopicPartitions(dst, c.Assigned)
		dst = appendTopicPartitions(dst, c.PendingRevocation)
	}
	return kbin.AppendUvarint(dst, 0) // no tagged fields
}

func appendTopicPartitions(dst []byte, tp TopicPartitions) []byte {
	ids := tp.sortedTopicIDs()
	dst = kbin.AppendCompactArrayLen(dst, len(ids))
	for _, id := range ids {
		dst = kbin.AppendUuid(dst, id)
		dst = kbin.AppendCompactArrayLen(dst, len(tp[id]))
		for _, p := range tp[id] {
			dst = kbin.AppendInt32(dst, p)
		}
		dst = kbin.AppendUvarint(dst, 0)
	}
	return dst
}

// DecodeConsumerGroupRecord decodes a consumer group record from its key
// and value (nil value: tombstone). Unknown tagged fields are skipped, so
// records a newer Kafka wrote (e.g. with MetadataHash) still load.
func DecodeConsumerGroupRecord(key, value []byte) (ConsumerGroupRecord, error) {
	var r ConsumerGroupRecord
	kr := kbin.Reader{Src: key}
	r.Type = kr.Int16()
	if !IsConsumerGroupRecordType(r.Type) {
		return r, fmt.Errorf("%w: key version %d", ErrBadRecord, r.Type)
	}
	r.Group = kr.String()
	if r.hasMemberKey() {
		r.Member = kr.String()
	}
	if err := kr.Complete(); err != nil {
		return r, fmt.Errorf("%w: key: %v", ErrBadRecord, err)
	}
	if value == nil {
		return r, nil
	}
	vr := &kbin.Reader{Src: value}
	if v := vr.Int16(); v != 0 {
		return r, fmt.Errorf("%w: type %d value version %d", ErrBadRecord, r.Type, v)
	}
	switch r.Type {
	case RecordConsumerGroupMetadata:
		r.Metadata = &GroupMetadataValue{Epoch: vr.Int32()}
	case RecordConsumerGroupPartitionMetadata:
		v := &PartitionMetadataValue{}
		n := arrayLen(vr)
		for i := 0; i < n && vr.Ok(); i++ {
			t := SubscribedTopic{ID: vr.Uuid(), Name: vr.CompactString(), Partitions: vr.Int32()}
			racks := arrayLen(vr)
			for j := 0; j < racks && vr.Ok(); j++ {
				vr.Int32()
				names := arrayLen(vr)
				for k := 0; k < names && vr.Ok(); k++ {
					vr.CompactString()
				}
				skipTags(vr)
			}
			skipTags(vr)
			v.Topics = append(v.Topics, t)
		}
		r.PartitionMetadata = v
	case RecordConsumerGroupMemberMetadata:
		m := &MemberMetadataValue{
			InstanceID: vr.CompactNullableString(),
			RackID:     vr.CompactNullableString(),
			ClientID:   vr.CompactString(),
			ClientHost: vr.CompactString(),
		}
		n := arrayLen(vr)
		m.SubscribedTopicNames = make([]string, 0, min(n, 1024))
		for i := 0; i < n && vr.Ok(); i++ {
			m.SubscribedTopicNames = append(m.SubscribedTopicNames, vr.CompactString())
		}
		m.SubscribedTopicRegex = vr.CompactNullableString()
		m.RebalanceTimeoutMs = vr.Int32()
		m.ServerAssignor = vr.CompactNullableString()
		r.MemberMetadata = m
	case RecordConsumerGroupTargetMetadata:
		r.TargetMetadata = &TargetMetadataValue{AssignmentEpoch: vr.Int32()}
	case RecordConsumerGroupTargetMember:
		r.TargetMember = readTopicPartitions(vr)
	case RecordConsumerGroupCurrentAssignment:
		r.CurrentAssignment = &CurrentAssignmentValue{
			MemberEpoch:         vr.Int32(),
			PreviousMemberEpoch: vr.Int32(),
			State:               memberStateOf(vr.Int8()),
			Assigned:            readTopicPartitions(vr),
			PendingRevocation:   readTopicPartitions(vr),
		}
	}
	skipTags(vr)
	if err := vr.Complete(); err != nil {
		return r, fmt.Errorf("%w: type %d value: %v", ErrBadRecord, r.Type, err)
	}
	return r, nil
}

// arrayLen reads a compact array length; a null or negative length reads
// as empty, and a length larger than the bytes left marks the reader bad
// so a forged count cannot make the decoder allocate or loop for long.
func arrayLen(r *kbin.Reader) int {
	n := int(r.CompactArrayLen())
	if n < 0 {
		return 0
	}
	if n > len(r.Src) {
		r.Src = nil
		r.Int8() // marks the reader as failed
		return 0
	}
	return n
}

func readTopicPartitions(r *kbin.Reader) TopicPartitions {
	out := TopicPartitions{}
	n := arrayLen(r)
	for i := 0; i < n && r.Ok(); i++ {
		id := r.Uuid()
		m := arrayLen(r)
		ps := make([]int32, 0, m)
		for j := 0; j < m && r.Ok(); j++ {
			ps = append(ps, r.Int32())
		}
		skipTags(r)
		slices.Sort(ps)
		ps = slices.Compact(ps)
		if len(ps) > 0 {
			out[id] = append(out[id], ps...)
			slices.Sort(out[id])
			out[id] = slices.Compact(out[id])
		}
	}
	return out
}

// skipTags skips a tagged-field section (count, then tag/size/bytes).
func skipTags(r *kbin.Reader) {
	n := r.Uvarint()
	for i := uint32(0); i < n && r.Ok(); i++ {
		r.Uvarint()
		size := r.Uvarint()
		if int(size) > len(r.Src) {
			r.Src = nil
			r.Int8()
			return
		}
		r.Span(int(size))
	}
}
