package storage

import (
	"math"
	"strings"
)

// TopicPartition names a partition; its directory is "<Topic>-<Partition>".
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Config is one log's settings, in Kafka's units; field comments give the
// topic config each comes from.
//
// A zero field means Kafka's default for that config (see DefaultConfig), so
// Config{} is a usable configuration. NB: this makes 0 unusable as a value;
// where Kafka would accept 0 (retention.ms=0, flush.ms=0) use 1.
type Config struct {
	SegmentBytes       int64 // segment.bytes
	SegmentMs          int64 // segment.ms
	SegmentIndexBytes  int64 // segment.index.bytes
	IndexIntervalBytes int64 // index.interval.bytes
	RetentionMs        int64 // retention.ms, -1 = no limit
	RetentionBytes     int64 // retention.bytes, -1 = no limit
	FlushMessages      int64 // flush.messages: fsync after this many messages
	FlushMs            int64 // flush.ms: fsync when the oldest unflushed write is this old
	MaxMessageBytes    int64 // max.message.bytes: largest batch accepted
	LogAppendTime      bool  // message.timestamp.type=LogAppendTime
	FileDeleteDelayMs  int64 // file.delete.delay.ms

	// CleanupPolicy is cleanup.policy: "delete", "compact" or
	// "compact,delete" (either order); "" is delete.
	CleanupPolicy      string
	DeleteRetentionMs  int64   // delete.retention.ms: how long tombstones stay after they become cleanable
	MinCompactionLagMs int64   // min.compaction.lag.ms: a record is not compacted before it is this old
	MaxCompactionLagMs int64   // max.compaction.lag.ms: a dirty record is compacted by then, whatever the dirty ratio
	MinCleanableRatio  float64 // min.cleanable.dirty.ratio

	// compact and delete are the parsed CleanupPolicy (withDefaults).
	compact, delete bool
}

// DefaultConfig returns Kafka's topic defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       1 << 30,
		SegmentMs:          7 * 24 * 3600 * 1000,
		SegmentIndexBytes:  10 << 20,
		IndexIntervalBytes: 4096,
		RetentionMs:        7 * 24 * 3600 * 1000,
		RetentionBytes:     -1,
		FlushMessages:      math.MaxInt64,
		FlushMs:            math.MaxInt64,
		MaxMessageBytes:    1048588,
		FileDeleteDelayMs:  60000,
		CleanupPolicy:      "delete",
		DeleteRetentionMs:  86400000,
		MaxCompactionLagMs: math.MaxInt64,
		MinCleanableRatio:  0.5,
	}
}

// withDefaults fills zero fields with Kafka's defaults and clamps values the
// on-disk format cannot represent (positions in .index entries are 32 bits).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	fill := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&c.SegmentBytes, d.SegmentBytes)
	fill(&c.SegmentMs, d.SegmentMs)
	fill(&c.SegmentIndexBytes, d.SegmentIndexBytes)
	fill(&c.IndexIntervalBytes, d.IndexIntervalBytes)
	fill(&c.RetentionMs, d.RetentionMs)
	fill(&c.RetentionBytes, d.RetentionBytes)
	fill(&c.FlushMessages, d.FlushMessages)
	fill(&c.FlushMs, d.FlushMs)
	fill(&c.MaxMessageBytes, d.MaxMessageBytes)
	fill(&c.FileDeleteDelayMs, d.FileDeleteDelayMs)
	fill(&c.DeleteRetentionMs, d.DeleteRetentionMs)
	fill(&c.MaxCompactionLagMs, d.MaxCompactionLagMs)
	if c.MinCleanableRatio <= 0 {
		c.MinCleanableRatio = d.MinCleanableRatio
	}
	if c.CleanupPolicy == "" {
		c.CleanupPolicy = d.CleanupPolicy
	}
	c.compact, c.delete = false, false
	for _, p := range strings.Split(c.CleanupPolicy, ",") {
		switch strings.TrimSpace(p) {
		case "compact":
			c.compact = true
		case "delete":
			c.delete = true
		}
	}
	if !c.compact {
		c.delete = true // nothing else would ever bound the log
	}
	if c.MinCompactionLagMs < 0 {
		c.MinCompactionLagMs = 0
	}
	if c.SegmentBytes > math.MaxInt32 {
		c.SegmentBytes = math.MaxInt32
	}
	if c.SegmentBytes < 100 {
		c.SegmentBytes = 100
	}
	// Room for at least a couple of entries in either index.
	if c.SegmentIndexBytes < 4*timeEntrySize {
		c.SegmentIndexBytes = 4 * timeEntrySize
	}
	if c.FileDeleteDelayMs < 0 {
		c.FileDeleteDelayMs = 0
	}
	return c
}

// maxSegmentMs is how old the active segment may get before it rolls:
// segment.ms, or for a compacted log max.compaction.lag.ms if smaller
// (KIP-354, Kafka's LogConfig.maxSegmentMs), since the cleaner never
// touches the active segment.
func (c *Config) maxSegmentMs() int64 {
	if c.compact && c.MaxCompactionLagMs < c.SegmentMs {
		return c.MaxCompactionLagMs
	}
	return c.SegmentMs
}
