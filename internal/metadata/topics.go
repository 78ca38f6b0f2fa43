package metadata

import (
	"errors"
	"fmt"
	"strings"

	"github.com/strata-io/strata/internal/config"
)

// Errors of topic administration; handlers map each to its Kafka code.
var (
	ErrInvalidTopic             = errors.New("invalid topic")                                          // INVALID_TOPIC_EXCEPTION
	ErrTopicExists              = errors.New("topic already exists")                                   // TOPIC_ALREADY_EXISTS
	ErrUnknownTopic             = errors.New("unknown topic")                                          // UNKNOWN_TOPIC_OR_PARTITION
	ErrInvalidPartitions        = errors.New("invalid number of partitions")                           // INVALID_PARTITIONS
	ErrInvalidReplicationFactor = errors.New("invalid replication factor")                             // INVALID_REPLICATION_FACTOR
	ErrInvalidReplicaAssignment = errors.New("invalid replica assignment")                             // INVALID_REPLICA_ASSIGNMENT
	ErrTopicDeletionDisabled    = errors.New("topic deletion is disabled (delete.topic.enable=false)") // TOPIC_DELETION_DISABLED
)

const (
	// MaxTopicNameLen is Kafka's limit on topic name length.
	MaxTopicNameLen = 249
	// MaxPartitionsPerTopic bounds one topic's partition count. Kafka has
	// no hard limit; without one, a request for two billion partitions
	// would exhaust the broker's memory and file descriptors.
	MaxPartitionsPerTopic = 100000
)

// ValidateTopicName applies Kafka's topic name rules.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: topic name is empty", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w: topic name cannot be %q", ErrInvalidTopic, name)
	case len(name) > MaxTopicNameLen:
		return fmt.Errorf("%w: topic name is %d characters, the limit is %d", ErrInvalidTopic, len(name), MaxTopicNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: topic name %q contains %q; only [a-zA-Z0-9._-] are allowed", ErrInvalidTopic, name, c)
		}
	}
	return nil
}

// collisionKey folds '.' into '_': Kafka refuses topics that differ only
// there, because metric names cannot tell them apart.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// CollisionKey is what two topic names that Kafka considers colliding
// ('.' and '_' alike, as in metric names) have in common.
func CollisionKey(name string) string { return collisionKey(name) }

// TopicSpec is a request to create a topic.
type TopicSpec struct {
	Name              string
	NumPartitions     int32 // -1: num.partitions
	ReplicationFactor int16 // -1: default.replication.factor
	// Assignment, if set, gives each partition's replicas explicitly.
	Assignment [][]int32
	Configs    map[string]string
}

// CreateTopicRecords validates spec against img and the broker config and
// returns the records that create it. The Topic in the record shows the
// resolved partition count and replication factor.
func CreateTopicRecords(img *Image, bc config.Broker, spec TopicSpec) ([]Record, error) {
	if err := ValidateTopicName(spec.Name); err != nil {
		return nil, err
	}
	if img.Topics[spec.Name] != nil {
		return nil, fmt.Errorf("%w: topic %q already exists", ErrTopicExists, spec.Name)
	}
	key := collisionKey(spec.Name)
	for name := range img.Topics {
		if collisionKey(name) == key {
			return nil, fmt.Errorf("%w: topic %q collides with existing topic %q ('.' and '_' are treated alike)", ErrInvalidTopic, spec.Name, name)
		}
	}
	if err := config.ValidateTopicConfigs(spec.Configs); err != nil {
		return nil, err
	}
	var assignment [][]int32
	if len(spec.Assignment) > 0 {
		if spec.NumPartitions != -1 || spec.ReplicationFactor != -1 {
			return nil, fmt.Errorf("%w: give either an assignment or partitions and replication factor, not both", ErrInvalidReplicaAssignment)
		}
		if err := validateAssignment(img, spec.Assignment); err != nil {
			return nil, err
		}
		assignment = spec.Assignment
	} else {
		n := spec.NumPartitions
		if n == -1 {
			n = int32(bc.Int("num.partitions"))
		}
		if n <= 0 || n > MaxPartitionsPerTopic {
			return nil, fmt.Errorf("%w: %d (must be 1 to %d)", ErrInvalidPartitions, n, MaxPartitionsPerTopic)
		}
		rf := spec.ReplicationFactor
		if rf == -1 {
			rf = int16(bc.Int("default.replication.factor"))
		}
		var err error
		if assignment, err = placeReplicas(img, 0, int(n), int(rf)); err != nil {
			return nil, err
		}
	}
	t := &Topic{Name: spec.Name, ID: NewUUID(), Configs: spec.Configs}
	var err error
	if t.Partitions, err = newPartitions(img, 0, assignment); err != nil {
		return nil, err
	}
	return []Record{{Type: TypeCreateTopic, Topic: t}}, nil
}

func validateAssignment(img *Image, a [][]int32) error {
	if len(a) > MaxPartitionsPerTopic {
		return fmt.Errorf("%w: %d partitions (limit %d)", ErrInvalidPartitions, len(a), MaxPartitionsPerTopic)
	}
	rf := len(a[0])
	for i, replicas := range a {
		if len(replicas) == 0 || len(replicas) != rf {
			return fmt.Errorf("%w: partition %d has %d replicas; every partition needs the same non-zero count", ErrInvalidReplicaAssignment, i, len(replicas))
		}
		seen := map[int32]bool{}
		for _, b := range replicas {
			if _, ok := img.Brokers[b]; !ok {
				return fmt.Errorf("%w: partition %d names unknown broker %d", ErrInvalidReplicaAssignment, i, b)
			}
			if seen[b] {
				return fmt.Errorf("%w: partition %d names broker %d twice", ErrInvalidReplicaAssignment, i, b)
			}
			seen[b] = true
		}
	}
	return nil
}

// CreatePartitionsRecords grows topic name to total partitions.
func CreatePartitionsRecords(img *Image, name string, total int32, assignment [][]int32) ([]Record, error) {
	t := img.Topics[name]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTopic, name)
	}
	cur := int32(len(t.Partitions))
	if total <= cur {
		return nil, fmt.Errorf("%w: topic %q has %d partitions; the new count %d must be larger", ErrInvalidPartitions, name, cur, total)
	}
	if total > MaxPartitionsPerTopic {
		return nil, fmt.Errorf("%w: %d (limit %d)", ErrInvalidPartitions, total, MaxPartitionsPerTopic)
	}
	add := int(total - cur)
	if len(assignment) > 0 {
		if len(assignment) != add {
			return nil, fmt.Errorf("%w: %d assignments for %d new partitions", ErrInvalidReplicaAssignment, len(assignment), add)
		}
		if err := validateAssignment(img, assignment); err != nil {
			return nil, err
		}
	} else {
		var err error
		if assignment, err = placeReplicas(img, int(cur), add, len(t.Partitions[0].Replicas)); err != nil {
			return nil, err
		}
	}
	ps, err := newPartitions(img, int(cur), assignment)
	if err != nil {
		return nil, err
	}
	return []Record{{Type: TypeCreatePartitions, TopicID: t.ID, NewPartitions: ps}}, nil
}

// OffsetsTopic is the internal topic of the group coordinator.
const OffsetsTopic = "__consumer_offsets"

// IsInternalTopic reports whether name is one of Kafka's internal topics
// (Topic.isInternal): clients may read them but not produce to, delete or
// repartition them. Other names starting with "__" are ordinary topics.
func IsInternalTopic(name string) bool {
	return name == OffsetsTopic || name == "__transaction_state"
}

// ErrInternalTopic is a client operation refused on an internal topic.
var ErrInternalTopic = fmt.Errorf("%w: the operation is not allowed on an internal topic", ErrInvalidTopic)

// InternalTopicRecords creates an internal topic for the broker itself.
// Unlike CreateTopicRecords it does not pass configs through user
// validation: the broker sets configs (cleanup.policy=compact) that a
// client may not yet be allowed to set. It returns nil if the topic
// exists, and ErrInvalidReplicationFactor while fewer than rf brokers are
// registered and unfenced (the caller answers COORDINATOR_NOT_AVAILABLE
// meanwhile, as Kafka does); the caller caps rf (see group.Options.Voters).
func InternalTopicRecords(img *Image, name string, partitions int32, rf int16, configs map[string]string) ([]Record, error) {
	if img.Topics[name] != nil {
		return nil, nil
	}
	if partitions <= 0 || partitions > MaxPartitionsPerTopic {
		return nil, fmt.Errorf("%w: %d", ErrInvalidPartitions, partitions)
	}
	assignment, err := placeReplicas(img, 0, int(partitions), int(rf))
	if err != nil {
		return nil, err
	}
	t := &Topic{Name: name, ID: NewUUID(), Configs: configs}
	if t.Partitions, err = newPartitions(img, 0, assignment); err != nil {
		return nil, err
	}
	return []Record{{Type: TypeCreateTopic, Topic: t}}, nil
}
