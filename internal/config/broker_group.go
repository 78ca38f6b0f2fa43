package config

import (
	"fmt"
	"math"
	"strings"
)

// Broker config names of the group coordinator (Kafka's
// GroupCoordinatorConfig and OffsetConfig), shared by the classic and the
// KIP-848 consumer protocol.
const (
	GroupMinSessionTimeoutMs      = "group.min.session.timeout.ms"
	GroupMaxSessionTimeoutMs      = "group.max.session.timeout.ms"
	GroupInitialRebalanceDelayMs  = "group.initial.rebalance.delay.ms"
	GroupMaxSize                  = "group.max.size"
	OffsetsTopicNumPartitions     = "offsets.topic.num.partitions"
	OffsetsTopicReplicationFactor = "offsets.topic.replication.factor"
	OffsetsTopicSegmentBytes      = "offsets.topic.segment.bytes"
	OffsetsTopicCompressionCodec  = "offsets.topic.compression.codec"
	OffsetsRetentionMinutes       = "offsets.retention.minutes"
	OffsetsRetentionCheckMs       = "offsets.retention.check.interval.ms"
	OffsetMetadataMaxBytes        = "offset.metadata.max.bytes"
	OffsetsCommitTimeoutMs        = "offsets.commit.timeout.ms"
	OffsetsLoadBufferSize         = "offsets.load.buffer.size"
	GroupRebalanceProtocols       = "group.coordinator.rebalance.protocols"

	GroupConsumerSessionTimeoutMs       = "group.consumer.session.timeout.ms"
	GroupConsumerMinSessionTimeoutMs    = "group.consumer.min.session.timeout.ms"
	GroupConsumerMaxSessionTimeoutMs    = "group.consumer.max.session.timeout.ms"
	GroupConsumerHeartbeatIntervalMs    = "group.consumer.heartbeat.interval.ms"
	GroupConsumerMinHeartbeatIntervalMs = "group.consumer.min.heartbeat.interval.ms"
	GroupConsumerMaxHeartbeatIntervalMs = "group.consumer.max.heartbeat.interval.ms"
	GroupConsumerMaxSize                = "group.consumer.max.size"
	GroupConsumerAssignors              = "group.consumer.assignors"
)

// groupDefs are the group coordinator's broker configs with Kafka's
// defaults (Kafka 4.x). None is dynamic: Kafka reads them at start too.
var groupDefs = []Def{
	intDef(GroupMinSessionTimeoutMs, 6000, 0, math.MaxInt32, "Smallest session.timeout.ms a classic group member may ask for, ms."),
	intDef(GroupMaxSessionTimeoutMs, 1800000, 0, math.MaxInt32, "Largest session.timeout.ms a classic group member may ask for, ms."),
	intDef(GroupInitialRebalanceDelayMs, 3000, 0, math.MaxInt32, "How long the first rebalance of an empty classic group waits for more members, ms."),
	intDef(GroupMaxSize, math.MaxInt32, 1, math.MaxInt32, "Most members of one classic group."),
	intDef(OffsetsTopicNumPartitions, 50, 1, math.MaxInt32, "Partitions of __consumer_offsets (fixed once the topic exists)."),
	{Name: OffsetsTopicReplicationFactor, Type: TypeShort, Default: "3", Min: 1, Max: math.MaxInt16, Doc: "Replication factor of __consumer_offsets (capped at the number of brokers when it is created)."},
	intDef(OffsetsTopicSegmentBytes, 104857600, 1, math.MaxInt32, "segment.bytes of __consumer_offsets."),
	// Kafka names the codec by its id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
	intDef(OffsetsTopicCompressionCodec, 0, 0, 4, "Compression of the coordinator's records: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd."),
	intDef(OffsetsRetentionMinutes, 10080, 1, math.MaxInt32, "Committed offsets of a group are dropped this long after it became empty (KIP-211), minutes."),
	longDef(OffsetsRetentionCheckMs, 600000, 1, "How often expired offsets are looked for, ms."),
	intDef(OffsetMetadataMaxBytes, 4096, 0, math.MaxInt32, "Largest metadata string of one committed offset."),
	// NB: accepted for compatibility; a commit waits only for the local
	// append until replication exists, so there is nothing to time out yet.
	intDef(OffsetsCommitTimeoutMs, 5000, 1, math.MaxInt32, "How long an offset commit may wait for its record to be replicated, ms (no effect until replication exists)."),
	intDef(OffsetsLoadBufferSize, 5242880, 1, math.MaxInt32, "Bytes read at a time when loading a __consumer_offsets partition."),
	{Name: GroupRebalanceProtocols, Type: TypeList, Default: "classic,consumer", Check: checkRebalanceProtocols, Doc: "Group protocols the coordinator serves: classic (JoinGroup/SyncGroup), consumer (KIP-848)."},

	intDef(GroupConsumerSessionTimeoutMs, 45000, 1, math.MaxInt32, "Session timeout of KIP-848 consumer group members, ms."),
	intDef(GroupConsumerMinSessionTimeoutMs, 45000, 1, math.MaxInt32, "Smallest KIP-848 session timeout, ms."),
	intDef(GroupConsumerMaxSessionTimeoutMs, 60000, 1, math.MaxInt32, "Largest KIP-848 session timeout, ms."),
	intDef(GroupConsumerHeartbeatIntervalMs, 5000, 1, math.MaxInt32, "Heartbeat interval given to KIP-848 consumer group members, ms."),
	intDef(GroupConsumerMinHeartbeatIntervalMs, 5000, 1, math.MaxInt32, "Smallest KIP-848 heartbeat interval, ms."),
	intDef(GroupConsumerMaxHeartbeatIntervalMs, 15000, 1, math.MaxInt32, "Largest KIP-848 heartbeat interval, ms."),
	intDef(GroupConsumerMaxSize, math.MaxInt32, 1, math.MaxInt32, "Most members of one KIP-848 consumer group."),
	{Name: GroupConsumerAssignors, Type: TypeList, Default: "uniform,range", Check: checkAssignors, Doc: "Server-side assignors of KIP-848 groups; the first is the default."},
}

// checkRebalanceProtocols accepts classic and consumer; as in Kafka,
// disabling the classic protocol is not supported.
func checkRebalanceProtocols(v string) error {
	classic := false
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "classic":
			classic = true
		case "consumer":
		default:
			return fmt.Errorf("unknown group protocol %q (valid: classic, consumer)", p)
		}
	}
	if !classic {
		return fmt.Errorf("disabling the 'classic' protocol is not supported")
	}
	return nil
}

func checkAssignors(v string) error {
	for _, a := range strings.Split(v, ",") {
		switch strings.TrimSpace(a) {
		case "uniform", "range":
		default:
			return fmt.Errorf("unknown assignor %q (valid: uniform, range)", a)
		}
	}
	return nil
}

// checkGroupConfigs applies Kafka's cross-field rules of the group
// coordinator configs (GroupCoordinatorConfig's requirements): each
// default within its bounds. Single values are checked by their Def.
func checkGroupConfigs(b Broker) error {
	bounds := []struct{ min, v, max string }{
		{GroupMinSessionTimeoutMs, "", GroupMaxSessionTimeoutMs},
		{GroupConsumerMinSessionTimeoutMs, GroupConsumerSessionTimeoutMs, GroupConsumerMaxSessionTimeoutMs},
		{GroupConsumerMinHeartbeatIntervalMs, GroupConsumerHeartbeatIntervalMs, GroupConsumerMaxHeartbeatIntervalMs},
	}
	for _, c := range bounds {
		lo, hi := b.Int(c.min), b.Int(c.max)
		if lo > hi {
			return fmt.Errorf("%w: %s (%d) must not be larger than %s (%d)", ErrInvalid, c.min, lo, c.max, hi)
		}
		if c.v != "" {
			if v := b.Int(c.v); v < lo || v > hi {
				return fmt.Errorf("%w: %s (%d) must be between %s (%d) and %s (%d)", ErrInvalid, c.v, v, c.min, lo, c.max, hi)
			}
		}
	}
	if b.Int(GroupConsumerHeartbeatIntervalMs) >= b.Int(GroupConsumerSessionTimeoutMs) {
		return fmt.Errorf("%w: %s must be smaller than %s", ErrInvalid, GroupConsumerHeartbeatIntervalMs, GroupConsumerSessionTimeoutMs)
	}
	return nil
}

// RebalanceProtocolEnabled reports whether group.coordinator.rebalance.protocols
// lists p ("classic" or "consumer").
func (b Broker) RebalanceProtocolEnabled(p string) bool {
	for _, x := range strings.Split(b.Str(GroupRebalanceProtocols), ",") {
		if strings.TrimSpace(x) == p {
			return true
		}
	}
	return false
}

// OffsetsRetentionMs is offsets.retention.minutes in ms.
func (b Broker) OffsetsRetentionMs() int64 { return b.Int(OffsetsRetentionMinutes) * 60000 }
