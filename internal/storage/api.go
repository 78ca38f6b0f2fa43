package storage

// This file fixes the storage API the partition layer codes against. The
// bodies here are placeholders to be replaced by the real implementation
// (the storage helper moves each method into the file that owns it).

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"time"
)

// Sentinel errors of the storage layer. Callers map them to Kafka codes.
var (
	ErrOffsetOutOfRange     = errors.New("storage: offset out of range")                 // OFFSET_OUT_OF_RANGE
	ErrCorruptBatch         = errors.New("storage: corrupt record batch")                // CORRUPT_MESSAGE
	ErrMessageTooLarge      = errors.New("storage: batch larger than max.message.bytes") // MESSAGE_TOO_LARGE
	ErrOutOfOrderSequence   = errors.New("storage: out of order sequence number")        // OUT_OF_ORDER_SEQUENCE_NUMBER
	ErrInvalidProducerEpoch = errors.New("storage: invalid producer epoch")              // INVALID_PRODUCER_EPOCH
	ErrInvalidRecord        = errors.New("storage: invalid record")                      // INVALID_RECORD
	ErrClosed               = errors.New("storage: log closed")
	ErrCorrupt              = errors.New("storage: corrupt file") // index/checkpoint/snapshot corruption: recovery rebuilds
	errNotImplemented       = errors.New("storage: not implemented")
)

// TopicPartition names a partition; its directory is "<Topic>-<Partition>".
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Config is one log's settings, in Kafka's units; field comments give the
// topic config each comes from.
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
}

// ManagerOptions configure a data directory.
type ManagerOptions struct {
	Logger *slog.Logger
	Now    func() time.Time // nil = time.Now
	// RetentionCheckInterval is log.retention.check.interval.ms.
	RetentionCheckInterval time.Duration
	// CheckpointInterval is how often HW / recovery point / log start offset
	// checkpoints are written.
	CheckpointInterval time.Duration
}

// Manager owns one data directory: its partition logs, the per-directory
// checkpoint files, the clean-shutdown marker and the background retention,
// flush and checkpoint work.
type Manager struct{}

// OpenManager opens (creating if needed) a data directory. It notes whether
// the previous run shut down cleanly; logs opened afterwards are recovered
// accordingly.
func OpenManager(dir string, opts ManagerOptions) (*Manager, error) {
	return nil, errNotImplemented
}

// Partitions lists the partition directories found on disk at open.
func (m *Manager) Partitions() []TopicPartition { return nil }

// Open opens (recovering if needed) or creates the log of tp.
func (m *Manager) Open(tp TopicPartition, cfg Config) (*Log, error) { return nil, errNotImplemented }

// Get returns an open log, or nil.
func (m *Manager) Get(tp TopicPartition) *Log { return nil }

// Delete closes tp's log and removes its directory.
func (m *Manager) Delete(tp TopicPartition) error { return errNotImplemented }

// Dir is the data directory.
func (m *Manager) Dir() string { return "" }

// Close flushes every log, writes the checkpoints and the clean-shutdown
// marker, and stops the background work.
func (m *Manager) Close() error { return errNotImplemented }

// AppendResult describes a successful append.
type AppendResult struct {
	BaseOffset     int64 // offset of the first record appended (or of the duplicate's original)
	LastOffset     int64
	LogAppendTime  int64 // ms; -1 unless the log uses LogAppendTime
	LogStartOffset int64
	Duplicate      bool // a retried idempotent batch: nothing written, original offsets returned
}

// Log is one partition's log.
type Log struct{}

// Append validates the batches in b (CRC, magic, max.message.bytes,
// producer sequence), assigns offsets, stamps leaderEpoch and writes them.
// b is modified in place (offsets, epoch) and must not be used afterwards.
func (l *Log) Append(b []byte, leaderEpoch int32) (AppendResult, error) {
	return AppendResult{}, errNotImplemented
}

// Read returns whole stored batches starting with the one holding offset,
// ending before maxOffset (exclusive), at most maxBytes unless minOneBatch
// and the first batch is larger.
func (l *Log) Read(offset int64, maxBytes int32, maxOffset int64, minOneBatch bool) (ReadResult, error) {
	return ReadResult{}, errNotImplemented
}

// ReadResult is a run of stored bytes in one segment file.
type ReadResult struct {
	File *os.File
	Pos  int64
	Size int64
}

// AppendTo appends the result's bytes to dst.
func (r ReadResult) AppendTo(dst []byte) ([]byte, error) { return dst, errNotImplemented }

// WriteTo copies the bytes to w (sendfile when w is a *net.TCPConn).
func (r ReadResult) WriteTo(w io.Writer) (int64, error) { return 0, errNotImplemented }

// LogStartOffset is the first offset still readable.
func (l *Log) LogStartOffset() int64 { return 0 }

// LogEndOffset is the next offset to be assigned.
func (l *Log) LogEndOffset() int64 { return 0 }

// OffsetForTimestamp finds the first record whose timestamp is >= ts.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	return 0, 0, false, errNotImplemented
}

// MaxTimestamp returns the record with the largest timestamp (KIP-734).
func (l *Log) MaxTimestamp() (offset, timestamp int64, err error) { return -1, -1, errNotImplemented }

// DeleteRecordsBefore moves the log start offset up to offset.
func (l *Log) DeleteRecordsBefore(offset int64) error { return errNotImplemented }

// TruncateTo removes everything at and after offset.
func (l *Log) TruncateTo(offset int64) error { return errNotImplemented }

// AssignEpochStart records that leader epoch epoch starts at startOffset.
func (l *Log) AssignEpochStart(epoch int32, startOffset int64) error { return errNotImplemented }

// EndOffsetForEpoch answers OffsetForLeaderEpoch.
func (l *Log) EndOffsetForEpoch(epoch int32) (leaderEpoch int32, endOffset int64) { return -1, -1 }

// LatestEpoch is the newest leader epoch in the cache, -1 if none.
func (l *Log) LatestEpoch() int32 { return -1 }

// HighWatermark is the checkpointed HW loaded at open, or the last set one.
func (l *Log) HighWatermark() int64 { return 0 }

// SetHighWatermark records the partition's HW for the checkpoint file.
func (l *Log) SetHighWatermark(hw int64) {}

// Size is the log's total bytes on disk.
func (l *Log) Size() int64 { return 0 }

// UpdateConfig applies new settings to the log.
func (l *Log) UpdateConfig(cfg Config) {}

// Flush fsyncs everything written so far.
func (l *Log) Flush() error { return errNotImplemented }

// Dir is the partition's directory.
func (l *Log) Dir() string { return "" }
