package config

import (
	"fmt"
	"math"
)

// Topic config names (Kafka's).
const (
	RetentionMs         = "retention.ms"
	RetentionBytes      = "retention.bytes"
	SegmentBytes        = "segment.bytes"
	SegmentMs           = "segment.ms"
	SegmentIndexBytes   = "segment.index.bytes"
	IndexIntervalBytes  = "index.interval.bytes"
	MaxMessageBytes     = "max.message.bytes"
	MessageTimestampTyp = "message.timestamp.type"
	CleanupPolicy       = "cleanup.policy"
	MinInsyncReplicas   = "min.insync.replicas"
	FlushMessages       = "flush.messages"
	FlushMs             = "flush.ms"
	CompressionType     = "compression.type"
	FileDeleteDelayMs   = "file.delete.delay.ms"
	UncleanLeaderElect  = "unclean.leader.election.enable"
	DeleteRetentionMs   = "delete.retention.ms"
	MinCompactionLagMs  = "min.compaction.lag.ms"
	MaxCompactionLagMs  = "max.compaction.lag.ms"
	MinCleanableRatio   = "min.cleanable.dirty.ratio"
)

// TopicDefs are the topic-level configs Strata implements, each paired in
// TopicSynonyms with the broker config that supplies its default.
var TopicDefs = newSet([]Def{
	longDef(RetentionMs, 604800000, -1, "How long a closed segment is kept before deletion, ms; -1 keeps forever."),
	{Name: RetentionBytes, Type: TypeLong, Default: "-1", Min: math.MinInt64, Max: math.MaxInt64, Doc: "Largest size a partition may grow to before old segments are deleted; -1 = no limit."},
	intDef(SegmentBytes, 1073741824, 14, math.MaxInt32, "Size at which a segment file is rolled."),
	longDef(SegmentMs, 604800000, 1, "Time after which a segment is rolled even if not full, ms."),
	intDef(SegmentIndexBytes, 10485760, 4, math.MaxInt32, "Maximum size of a segment's offset index."),
	intDef(IndexIntervalBytes, 4096, 0, math.MaxInt32, "Bytes written between two offset index entries."),
	intDef(MaxMessageBytes, 1048588, 0, math.MaxInt32, "Largest record batch the topic accepts."),
	{Name: MessageTimestampTyp, Type: TypeString, Default: "CreateTime", OneOf: []string{"CreateTime", "LogAppendTime"}, Doc: "Whether record timestamps are the producer's (CreateTime) or the broker's append time."},
	{Name: CleanupPolicy, Type: TypeList, Default: "delete", Check: checkCleanupPolicy, Doc: "What bounds the log: delete (old segments are deleted by retention.ms / retention.bytes), compact (only the last record of each key is kept), or both."},
	intDef(MinInsyncReplicas, 1, 1, math.MaxInt32, "Minimum ISR size for acks=all writes."),
	longDef(FlushMessages, math.MaxInt64, 1, "Force an fsync after this many messages."),
	longDef(FlushMs, math.MaxInt64, 0, "Force an fsync when unflushed data is this old, ms."),
	{Name: CompressionType, Type: TypeString, Default: "producer", OneOf: []string{"producer"}, Doc: "Final compression of stored batches; only producer (keep as sent) is supported."},
	longDef(FileDeleteDelayMs, 60000, 0, "Delay before a deleted segment's files are removed, ms."),
	{Name: UncleanLeaderElect, Type: TypeBoolean, Default: "false", Doc: "Whether a replica outside the ISR may become leader (data loss)."},
	longDef(DeleteRetentionMs, 86400000, 0, "How long a tombstone of a compacted topic is kept after the cleaner first sees it, ms."),
	longDef(MinCompactionLagMs, 0, 0, "A record stays uncompacted for at least this long, ms."),
	longDef(MaxCompactionLagMs, math.MaxInt64, 1, "A record is compacted within this long, whatever the dirty ratio, ms."),
	{Name: MinCleanableRatio, Type: TypeDouble, Default: "0.5", Check: checkRatio, Doc: "The cleaner compacts a log once this share of it is dirty (not yet compacted)."},
})

// TopicSynonyms maps a topic config to the broker config that sets its
// default, as Kafka's DescribeConfigs synonyms do.
var TopicSynonyms = map[string]string{
	RetentionMs:         "log.retention.ms",
	RetentionBytes:      "log.retention.bytes",
	SegmentBytes:        "log.segment.bytes",
	SegmentMs:           "log.roll.ms",
	SegmentIndexBytes:   "log.index.size.max.bytes",
	IndexIntervalBytes:  "log.index.interval.bytes",
	MaxMessageBytes:     "message.max.bytes",
	MessageTimestampTyp: "log.message.timestamp.type",
	CleanupPolicy:       "log.cleanup.policy",
	MinInsyncReplicas:   "min.insync.replicas",
	FlushMessages:       "log.flush.interval.messages",
	FlushMs:             "log.flush.interval.ms",
	CompressionType:     "compression.type",
	FileDeleteDelayMs:   "log.segment.delete.delay.ms",
	UncleanLeaderElect:  "unclean.leader.election.enable",
	DeleteRetentionMs:   LogCleanerDeleteRetentionMs,
	MinCompactionLagMs:  LogCleanerMinCompactionLagMs,
	MaxCompactionLagMs:  LogCleanerMaxCompactionLagMs,
	MinCleanableRatio:   LogCleanerMinCleanableRatio,
}

// ValidateTopicConfigs checks a set of topic config overrides: every name
// known, every value valid. The error names the offending config.
func ValidateTopicConfigs(cfgs map[string]string) error {
	for name, v := range cfgs {
		d, ok := TopicDefs[name]
		if !ok {
			return fmt.Errorf("%w: %q is not a topic config Strata knows", ErrUnknown, name)
		}
		if err := d.Validate(v); err != nil {
			return err
		}
	}
	return nil
}

// TopicConfig is the effective configuration of one topic: its overrides
// laid over the broker defaults.
type TopicConfig struct {
	values    map[string]string
	overrides map[string]string
}

// Get returns the effective value of a topic config.
func (t TopicConfig) Get(name string) string { return t.values[name] }

// Int returns the effective value of a numeric topic config.
func (t TopicConfig) Int(name string) int64 { return parseInt64(t.values[name]) }

// IsOverride reports whether the topic sets name itself.
func (t TopicConfig) IsOverride(name string) bool {
	_, ok := t.overrides[name]
	return ok
}

// Names lists every topic config name.
func (t TopicConfig) Names() []string {
	out := make([]string, 0, len(t.values))
	for n := range t.values {
		out = append(out, n)
	}
	return out
}
