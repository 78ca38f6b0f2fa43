package metadata

import (
	"errors"
	"fmt"
)

// Record types. Each Record sets exactly the field its type names.
const (
	TypeCluster          = "cluster"
	TypeRegisterBroker   = "register_broker"
	TypeCreateTopic      = "create_topic"
	TypeDeleteTopic      = "delete_topic"
	TypeCreatePartitions = "create_partitions"
	TypeTopicConfig      = "topic_config"
	TypeBrokerConfig     = "broker_config"
	TypePartitionChange  = "partition_change"
	TypeProducerIDs      = "producer_ids"
)

// Record is one change to the metadata.
type Record struct {
	Type string `json:"type"`

	ClusterID string  `json:"cluster_id,omitempty"`
	Broker    *Broker `json:"broker,omitempty"`
	Topic     *Topic  `json:"topic,omitempty"` // create_topic
	TopicID   UUID    `json:"topic_id,omitempty"`
	// NewPartitions are appended to the topic (create_partitions).
	NewPartitions []Partition `json:"new_partitions,omitempty"`
	// Configs replace the topic's or resource's dynamic configs entirely
	// (topic_config, broker_config).
	Configs  map[string]string `json:"configs,omitempty"`
	Resource string            `json:"resource,omitempty"` // broker_config: "" or a node id
	// Partition and PartitionState describe a partition_change.
	Partition      int32      `json:"partition,omitempty"`
	PartitionState *Partition `json:"partition_state,omitempty"`
	// ProducerIDsEnd is the end of a block of producer ids a broker took
	// (producer_ids); it must be above the image's current end.
	ProducerIDsEnd int64 `json:"producer_ids_end,omitempty"`
}

// Errors of a command the state machine rejects. A rejected command
// changes nothing, on any node; the proposer gets the error.
var (
	// ErrInvalidRecord means a record does not apply to the image (a bug
	// in the caller: records are validated before they are written).
	ErrInvalidRecord = errors.New("metadata: record does not apply")
	// ErrStale is a partition_change computed from an older state of the
	// partition: its PartitionEpoch is not the current one plus one.
	ErrStale = errors.New("metadata: stale partition epoch")
	// ErrConflict is an Update whose image was overtaken by another change
	// before its records reached the log; Update retries on it.
	ErrConflict = errors.New("metadata: image changed since the update was computed")
)

// apply returns a new image with r applied. img is not modified.
func apply(img *Image, r Record) (*Image, error) {
	out := img.clone()
	out.Offset++
	switch r.Type {
	case TypeCluster:
		out.ClusterID = r.ClusterID
	case TypeRegisterBroker:
		if r.Broker == nil {
			return nil, fmt.Errorf("%w: register_broker without broker", ErrInvalidRecord)
		}
		out.Brokers[r.Broker.NodeID] = *r.Broker
	case TypeCreateTopic:
		t := r.Topic
		if t == nil || out.Topics[t.Name] != nil || out.byID[t.ID] != nil {
			return nil, fmt.Errorf("%w: create_topic of an existing or empty topic", ErrInvalidRecord)
		}
		t = t.clone()
		out.Topics[t.Name] = t
		out.byID[t.ID] = t
	case TypeDeleteTopic:
		t := out.byID[r.TopicID]
		if t == nil {
			return nil, fmt.Errorf("%w: delete_topic of unknown id %s", ErrInvalidRecord, r.TopicID)
		}
		delete(out.Topics, t.Name)
		delete(out.byID, t.ID)
	case TypeCreatePartitions, TypeTopicConfig, TypePartitionChange:
		old := out.byID[r.TopicID]
		if old == nil {
			return nil, fmt.Errorf("%w: %s of unknown topic id %s", ErrInvalidRecord, r.Type, r.TopicID)
		}
		t := old.clone()
		switch r.Type {
		case TypeCreatePartitions:
			t.Partitions = append(t.Partitions, r.NewPartitions...)
		case TypeTopicConfig:
			t.Configs = r.Configs
		case TypePartitionChange:
			if r.PartitionState == nil || r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
				return nil, fmt.Errorf("%w: partition_change of partition %d", ErrInvalidRecord, r.Partition)
			}
			if err := checkPartitionChange(t.Partitions[r.Partition], *r.PartitionState); err != nil {
				return nil, err
			}
			t.Partitions[r.Partition] = *r.PartitionState
		}
		out.Topics[t.Name] = t
		out.byID[t.ID] = t
	case TypeBrokerConfig:
		if len(r.Configs) == 0 {
			delete(out.BrokerConfigs, r.Resource)
		} else {
			out.BrokerConfigs[r.Resource] = r.Configs
		}
	case TypeProducerIDs:
		if r.ProducerIDsEnd <= out.ProducerIDsEnd {
			return nil, fmt.Errorf("%w: producer_ids end %d is not above %d", ErrInvalidRecord, r.ProducerIDsEnd, out.ProducerIDsEnd)
		}
		out.ProducerIDsEnd = r.ProducerIDsEnd
	default:
		return nil, fmt.Errorf("%w: unknown type %q", ErrInvalidRecord, r.Type)
	}
	return out, nil
}

// checkPartitionChange enforces the partition epoch rule: every change of
// a partition's state carries PartitionEpoch = current + 1, so a change
// computed from an old state (two controllers, or a retried proposal) is
// refused instead of undoing a newer one. A new leader needs a higher
// LeaderEpoch, and leader epochs never go back: replicas fence requests by
// them.
func checkPartitionChange(cur, next Partition) error {
	if next.PartitionEpoch != cur.PartitionEpoch+1 {
		return fmt.Errorf("%w: partition_change with partition epoch %d, current is %d", ErrStale, next.PartitionEpoch, cur.PartitionEpoch)
	}
	if next.LeaderEpoch < cur.LeaderEpoch || next.Leader != cur.Leader && next.LeaderEpoch == cur.LeaderEpoch {
		return fmt.Errorf("%w: partition_change to leader %d epoch %d from leader %d epoch %d", ErrInvalidRecord, next.Leader, next.LeaderEpoch, cur.Leader, cur.LeaderEpoch)
	}
	return nil
}
