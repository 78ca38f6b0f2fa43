// Package storage is the broker's on-disk log: per partition a directory of
// segments (.log files of record batches, stored byte for byte as producers
// sent them, with sparse .index and .timeindex files), and per data directory
// Kafka's checkpoint files and clean-shutdown marker. The layout and file
// formats are Kafka's, so the files can be inspected with Kafka's tools.
//
// It owns: assigning offsets, appending, reading by offset and by
// timestamp, recovery after a crash, retention, compaction (the log
// cleaner, cleaner*.go), truncation, the leader epoch cache and the
// idempotent producer state. It never decodes records on the read path
// (only ListOffsets-by-timestamp decodes one batch) nor on the append path,
// except to refuse keyless records on a compacted log; it never speaks the
// Kafka protocol, and knows nothing of replication beyond the high
// watermark and leader epochs the partition layer hands it.
//
// Durability: an append returns once its bytes are in the page cache
// (fsync only per flush.messages / flush.ms), so a process crash loses
// nothing acknowledged. With flush.messages=1 (log.flush.interval.messages=1
// broker-wide) an append is acknowledged only after an fdatasync that
// covers it; fsyncs are group commits that cover everything appended when
// they start, run without the append lock, and a produce request's
// partitions wait for theirs together (see flushTo). After an unclean shutdown every segment from the
// recovery point on is re-read and CRC-checked and a torn tail cut off, so a
// partial write is never served.
//
// Concurrency: appends to one log serialize on its mutex; reads take no
// lock at all and never wait for an fsync (see Log).
//
// Scale: segment files are opened lazily and kept in a bounded cache, and
// closed segments' indexes are read into a bounded memory cache on demand,
// so open descriptors and memory do not grow with the number of segments.
package storage
