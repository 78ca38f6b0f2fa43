package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Broker config names of the log cleaner (Kafka's CleanerConfig and the
// broker defaults of the compaction topic configs).
const (
	LogCleanerEnable             = "log.cleaner.enable"
	LogCleanerThreads            = "log.cleaner.threads"
	LogCleanerBackoffMs          = "log.cleaner.backoff.ms"
	LogCleanerDedupeBufferSize   = "log.cleaner.dedupe.buffer.size"
	LogCleanerMinCleanableRatio  = "log.cleaner.min.cleanable.ratio"
	LogCleanerDeleteRetentionMs  = "log.cleaner.delete.retention.ms"
	LogCleanerMinCompactionLagMs = "log.cleaner.min.compaction.lag.ms"
	LogCleanerMaxCompactionLagMs = "log.cleaner.max.compaction.lag.ms"
)

// cleanerDefs are the log cleaner's broker configs with Kafka's defaults.
var cleanerDefs = []Def{
	{Name: LogCleanerEnable, Type: TypeBoolean, Default: "true", Doc: "Run the log cleaner, which compacts topics whose cleanup.policy has compact."},
	// NB: Strata's cleaner is one goroutine; a value Kafka would accept
	// but Strata would ignore is refused instead.
	intDef(LogCleanerThreads, 1, 1, 1, "Log cleaner threads; Strata runs exactly one."),
	longDef(LogCleanerBackoffMs, 15000, 0, "How long the cleaner sleeps when no log needs cleaning, ms."),
	longDef(LogCleanerDedupeBufferSize, 134217728, 1, "Memory of the cleaner's key → offset map (24 bytes per key); a log with more dirty keys is cleaned in several passes."),
	{Name: LogCleanerMinCleanableRatio, Type: TypeDouble, Default: "0.5", Check: checkRatio, Dynamic: true, Doc: "Default min.cleanable.dirty.ratio."},
	{Name: LogCleanerDeleteRetentionMs, Type: TypeLong, Default: "86400000", Min: 0, Max: math.MaxInt64, Dynamic: true, Doc: "Default delete.retention.ms."},
	{Name: LogCleanerMinCompactionLagMs, Type: TypeLong, Default: "0", Min: 0, Max: math.MaxInt64, Dynamic: true, Doc: "Default min.compaction.lag.ms."},
	{Name: LogCleanerMaxCompactionLagMs, Type: TypeLong, Default: strconv.FormatInt(math.MaxInt64, 10), Min: 1, Max: math.MaxInt64, Dynamic: true, Doc: "Default max.compaction.lag.ms."},
}

// checkRatio accepts a number in [0, 1].
func checkRatio(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		return fmt.Errorf("must be between 0 and 1, got %q", v)
	}
	return nil
}

// checkCleanupPolicy accepts a comma-separated list of delete and compact.
func checkCleanupPolicy(v string) error {
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "delete", "compact":
		default:
			return fmt.Errorf("unknown cleanup policy %q (valid: delete, compact)", p)
		}
	}
	return nil
}

// Float returns the effective value of a double topic config.
func (t TopicConfig) Float(name string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(t.values[name]), 64)
	return f
}
