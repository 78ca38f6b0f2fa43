package group

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/strata-io/strata/internal/metadata"
)

func sampleRecords() []ConsumerGroupRecord {
	inst, rack, re, asg := "i-1", "rack-a", "orders-.*", "range"
	return []ConsumerGroupRecord{
		{Type: RecordConsumerGroupMetadata, Group: "g", Metadata: &GroupMetadataValue{Epoch: 7}},
		{Type: RecordConsumerGroupPartitionMetadata, Group: "g", PartitionMetadata: &PartitionMetadataValue{Topics: []SubscribedTopic{{ID: metadata.UUID{1}, Name: "a", Partitions: 3}, {ID: metadata.UUID{2}, Name: "b", Partitions: 1}}}},
		{Type: RecordConsumerGroupMemberMetadata, Group: "g", Member: "m", MemberMetadata: &MemberMetadataValue{
			InstanceID: &inst, RackID: &rack, ClientID: "cid", ClientHost: "/10.0.0.1", SubscribedTopicNames: []string{"a", "b"},
			SubscribedTopicRegex: &re, RebalanceTimeoutMs: 30000, ServerAssignor: &asg,
		}},
		{Type: RecordConsumerGroupMemberMetadata, Group: "g", Member: "n", MemberMetadata: &MemberMetadataValue{SubscribedTopicNames: []string{}, RebalanceTimeoutMs: -1}},
		{Type: RecordConsumerGroupTargetMember, Group: "g", Member: "m", TargetMember: TopicPartitions{metadata.UUID{1}: {0, 2}, metadata.UUID{2}: {0}}},
		{Type: RecordConsumerGroupTargetMetadata, Group: "g", TargetMetadata: &TargetMetadataValue{AssignmentEpoch: 7}},
		{Type: RecordConsumerGroupCurrentAssignment, Group: "g", Member: "m", CurrentAssignment: &CurrentAssignmentValue{
			MemberEpoch: 7, PreviousMemberEpoch: 6, State: MemberUnrevokedPartitions,
			Assigned: TopicPartitions{metadata.UUID{1}: {0}}, PendingRevocation: TopicPartitions{metadata.UUID{1}: {1}},
		}},
		{Type: RecordConsumerGroupCurrentAssignment, Group: "g", Member: "m"}, // tombstone
		{Type: RecordConsumerGroupMetadata, Group: "g"},                       // tombstone
	}
}

func TestConsumerRecordsRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		key, val := r.AppendKey(nil), r.AppendValue(nil)
		if r.isTombstone() != (val == nil) {
			t.Fatalf("type %d: tombstone %v but value %x", r.Type, r.isTombstone(), val)
		}
		got, err := DecodeConsumerGroupRecord(key, val)
		if err != nil {
			t.Fatalf("type %d: %v", r.Type, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("type %d:\n got %+v\nwant %+v", r.Type, got, r)
		}
	}
}

// TestConsumerRecordBytes pins the wire layout of two records against
// bytes written out by hand from Kafka's schemas, so a change of the
// encoding cannot go unnoticed by a round-trip test alone.
func TestConsumerRecordBytes(t *testing.T) {
	r := ConsumerGroupRecord{Type: RecordConsumerGroupMetadata, Group: "g", Metadata: &GroupMetadataValue{Epoch: 5}}
	if got, want := hex.EncodeToString(r.AppendKey(nil)), "0003"+"0001"+"67"; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
	// version 0, epoch 5, no tags
	if got, want := hex.EncodeToString(r.AppendValue(nil)), "0000"+"00000005"+"00"; got != want {
		t.Errorf("value %s, want %s", got, want)
	}
	tm := ConsumerGroupRecord{Type: RecordConsumerGroupTargetMember, Group: "g", Member: "m", TargetMember: TopicPartitions{metadata.UUID{0xaa}: {1}}}
	if got, want := hex.EncodeToString(tm.AppendKey(nil)), "0007"+"000167"+"00016d"; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
	// version 0, 1 topic (compact 2), uuid, 1 partition (compact 2), 1, topic tags, tags
	want := "0000" + "02" + "aa000000000000000000000000000000" + "02" + "00000001" + "00" + "00"
	if got := hex.EncodeToString(tm.AppendValue(nil)); got != want {
		t.Errorf("value %s, want %s", got, want)
	}
}

func TestConsumerRecordDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		key, value []byte
	}{
		{"offset commit key", []byte{0, 1, 0, 1, 'g'}, nil},
		{"short key", []byte{0, 3, 0, 9, 'g'}, nil},
		{"bad value version", []byte{0, 3, 0, 1, 'g'}, []byte{0, 1, 0, 0, 0, 1, 0}},
		{"short value", []byte{0, 3, 0, 1, 'g'}, []byte{0, 0, 0}},
		{"huge array", []byte{0, 7, 0, 1, 'g', 0, 1, 'm'}, []byte{0, 0, 0xff, 0xff, 0xff, 0x0f}},
	} {
		if _, err := DecodeConsumerGroupRecord(tc.key, tc.value); err == nil {
			t.Errorf("%s: decoded", tc.name)
		}
	}
}

func FuzzDecodeConsumerGroupRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(r.AppendKey(nil), r.AppendValue(nil))
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := DecodeConsumerGroupRecord(key, value)
		if err != nil {
			return
		}
		// What decodes must encode back to something that decodes to the
		// same record, and applying it must not panic.
		k2, v2 := r.AppendKey(nil), r.AppendValue(nil)
		r2, err := DecodeConsumerGroupRecord(k2, v2)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(r, r2) || !bytes.Equal(v2, r2.AppendValue(nil)) {
			t.Fatalf("not stable: %+v vs %+v", r, r2)
		}
		NewConsumerGroup("g", DefaultConsumerConfig()).Apply(r)
	})
}
