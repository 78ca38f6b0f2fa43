package storage

import "errors"

// Sentinel errors of the storage layer. Callers map them to Kafka codes;
// every error returned by this package that has a Kafka meaning wraps one of
// these, so test with errors.Is.
var (
	ErrOffsetOutOfRange     = errors.New("storage: offset out of range")                 // OFFSET_OUT_OF_RANGE
	ErrCorruptBatch         = errors.New("storage: corrupt record batch")                // CORRUPT_MESSAGE
	ErrMessageTooLarge      = errors.New("storage: batch larger than max.message.bytes") // MESSAGE_TOO_LARGE
	ErrOutOfOrderSequence   = errors.New("storage: out of order sequence number")        // OUT_OF_ORDER_SEQUENCE_NUMBER
	ErrInvalidProducerEpoch = errors.New("storage: invalid producer epoch")              // INVALID_PRODUCER_EPOCH
	ErrInvalidRecord        = errors.New("storage: invalid record")                      // INVALID_RECORD
	ErrClosed               = errors.New("storage: log closed")
	ErrCorrupt              = errors.New("storage: corrupt file") // index/checkpoint/snapshot corruption: recovery rebuilds
)
