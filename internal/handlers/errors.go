package handlers

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/record"
	"github.com/strata-io/strata/internal/storage"
)

// errorCode maps an error from the layers below to its Kafka error code.
// nil maps to 0; anything unrecognised is UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return kerr.UnknownServerError.Code
}

var errorCodes = []struct {
	err  error
	code int16
}{
	{storage.ErrOffsetOutOfRange, kerr.OffsetOutOfRange.Code},
	{storage.ErrCorruptBatch, kerr.CorruptMessage.Code},
	{record.ErrCorrupt, kerr.CorruptMessage.Code},
	{record.ErrTruncated, kerr.CorruptMessage.Code},
	// Produce v3+ carries only magic v2 batches; Kafka rejects others as INVALID_RECORD.
	{record.ErrUnsupportedMagic, kerr.InvalidRecord.Code},
	{storage.ErrMessageTooLarge, kerr.MessageTooLarge.Code},
	{storage.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber.Code},
	{storage.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch.Code},
	{storage.ErrInvalidRecord, kerr.InvalidRecord.Code},
	{storage.ErrClosed, kerr.NotLeaderForPartition.Code},
	// A log file that cannot be read as written: Kafka's storage error,
	// which clients retry (elsewhere, once replicas exist).
	{storage.ErrCorrupt, kerr.KafkaStorageError.Code},
	{partition.ErrNotEnoughReplicas, kerr.NotEnoughReplicas.Code},
	{partition.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend.Code},
	{partition.ErrRequestTimedOut, kerr.RequestTimedOut.Code},
	{partition.ErrFencedLeaderEpoch, kerr.FencedLeaderEpoch.Code},
	{partition.ErrUnknownLeaderEpoch, kerr.UnknownLeaderEpoch.Code},
	{partition.ErrNotLeader, kerr.NotLeaderForPartition.Code},
	{metadata.ErrInvalidTopic, kerr.InvalidTopicException.Code},
	{metadata.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{metadata.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{metadata.ErrInvalidPartitions, kerr.InvalidPartitions.Code},
	{metadata.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor.Code},
	{metadata.ErrInvalidReplicaAssignment, kerr.InvalidReplicaAssignment.Code},
	{metadata.ErrTopicDeletionDisabled, kerr.TopicDeletionDisabled.Code},
	{config.ErrInvalid, kerr.InvalidConfig.Code},
	{config.ErrUnknown, kerr.InvalidConfig.Code},
	{errUnsupportedTimestamp, kerr.UnsupportedVersion.Code},
	{errInvalidRequest, kerr.InvalidRequest.Code},
}

// errorMessage is the text for a response's error message field, nil when
// there is no error.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}

// errUnsupportedTimestamp is a ListOffsets special timestamp this version
// or broker does not know; Kafka answers UNSUPPORTED_VERSION.
var errUnsupportedTimestamp = errors.New("unsupported special timestamp")
