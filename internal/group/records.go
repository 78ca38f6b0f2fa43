package group

// The records of __consumer_offsets, in Kafka's schemas (kmsg has them):
//
//	key v0/v1 OffsetCommitKey{group, topic, partition} → OffsetCommitValue
//	key v2    GroupMetadataKey{group}                  → GroupMetadataValue
//	key v3+   KIP-848 consumer group records           → consumerRecordHook
//
// A nil value is a tombstone: the key's offset or group is gone. We write
// the versions Kafka 3.x/4.x writes for these: offset key v1 with value v3
// (leader epoch, no expire timestamp: KIP-211) and group key v2 with
// value v3 (static members). Older value versions are read too, since a
// data directory may hold them after a restore from Kafka.

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	offsetKeyVersion   = 1
	offsetValueVersion = 3
	groupKeyVersion    = 2
	groupValueVersion  = 3
)

// maxStringLen is the longest string the record schemas can hold: their
// strings carry an int16 length. Group ids, instance ids and offset
// metadata longer than this could not be written, so they are refused
// before any state changes.
const maxStringLen = 0x7fff

// ErrCorruptRecord is a __consumer_offsets record that does not decode.
var ErrCorruptRecord = errors.New("group: corrupt __consumer_offsets record")

func offsetKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(nil)
}

func offsetValue(o Offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	v.Offset = o.Offset
	v.LeaderEpoch = o.LeaderEpoch
	v.Metadata = o.Metadata
	v.CommitTimestamp = o.CommitTimestamp
	if o.ExpireTimestamp >= 0 {
		// A v2–v4 commit with its own retention time: only value v1 can
		// say so, as Kafka writes it.
		v.Version = 1
		v.ExpireTimestamp = o.ExpireTimestamp
	}
	return v.AppendTo(nil)
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(nil)
}

// decodedRecord is one replayed record. Exactly one of the kinds is set.
type decodedRecord struct {
	// offset commit (key v0/v1)
	offsetKey *kmsg.OffsetCommitKey
	offset    *Offset // nil: tombstone
	// group metadata (key v2)
	groupKey *kmsg.GroupMetadataKey
	group    *kmsg.GroupMetadataValue // nil: tombstone
	// other key versions (KIP-848 records) are passed on undecoded
	keyVersion int16
	rawKey     []byte
	rawValue   []byte
}

// decodeRecord decodes one record of __consumer_offsets. It must never
// panic, whatever the bytes (see FuzzDecodeRecord).
func decodeRecord(key, value []byte) (decodedRecord, error) {
	if len(key) < 2 {
		return decodedRecord{}, fmt.Errorf("%w: key of %d bytes", ErrCorruptRecord, len(key))
	}
	r := kbin.Reader{Src: key}
	ver := r.Int16()
	switch ver {
	case 0, 1:
		k := new(kmsg.OffsetCommitKey)
		if err := k.ReadFrom(key); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: offset key: %v", ErrCorruptRecord, err)
		}
		d := decodedRecord{offsetKey: k}
		if value != nil {
			v := new(kmsg.OffsetCommitValue)
			if err := v.ReadFrom(value); err != nil {
				return decodedRecord{}, fmt.Errorf("%w: offset value: %v", ErrCorruptRecord, err)
			}
			if v.Version < 0 || v.Version > 4 {
				return decodedRecord{}, fmt.Errorf("%w: offset value version %d", ErrCorruptRecord, v.Version)
			}
			o := Offset{Offset: v.Offset, LeaderEpoch: v.LeaderEpoch, Metadata: v.Metadata, CommitTimestamp: v.CommitTimestamp, ExpireTimestamp: -1}
			if v.Version < 3 {
				o.LeaderEpoch = -1
			}
			if v.Version == 1 {
				o.ExpireTimestamp = v.ExpireTimestamp
			}
			d.offset = &o
		}
		return d, nil
	case 2:
		k := new(kmsg.GroupMetadataKey)
		if err := k.ReadFrom(key); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: group key: %v", ErrCorruptRecord, err)
		}
		d := decodedRecord{groupKey: k}
		if value != nil {
			v := new(kmsg.GroupMetadataValue)
			if err := v.ReadFrom(value); err != nil {
				return decodedRecord{}, fmt.Errorf("%w: group value: %v", ErrCorruptRecord, err)
			}
			if v.Version < 0 || v.Version > 4 {
				return decodedRecord{}, fmt.Errorf("%w: group value version %d", ErrCorruptRecord, v.Version)
			}
			d.group = v
		}
		return d, nil
	default:
		if ver < 0 {
			return decodedRecord{}, fmt.Errorf("%w: key version %d", ErrCorruptRecord, ver)
		}
		return decodedRecord{keyVersion: ver, rawKey: key, rawValue: value}, nil
	}
}
