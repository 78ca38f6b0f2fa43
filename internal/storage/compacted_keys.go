package storage

// The one record check the append path makes for compacted logs.

import (
	"fmt"
	"sync"

	"github.com/strata-io/strata/internal/record"
)

// checkKeys refuses a batch with a record without a key, for a compacted
// log (Kafka's LogValidator: INVALID_RECORD, "Compacted topic cannot accept
// message without key"): the cleaner could only drop it. Compressed records
// are decompressed for it, as Kafka does for compacted topics, into a pooled
// buffer; nothing else is allocated.
func checkKeys(raw []byte, h *record.Header) error {
	bp := keyCheckPool.Get().(*[]byte)
	defer keyCheckPool.Put(bp)
	data, err := record.RecordsData(*bp, raw, h, record.DefaultDecompressLimit)
	if err != nil {
		return batchError(err)
	}
	if h.Codec() != record.CodecNone && cap(data) <= 4<<20 {
		*bp = data[:0]
	}
	it := record.NewRecordIter(data, h.RecordCount)
	var v record.RecordView
	for it.Next(&v) {
		if v.Key == nil {
			return fmt.Errorf("%w: compacted topic cannot accept a record without a key (offset delta %d)", ErrInvalidRecord, v.OffsetDelta)
		}
	}
	if err := it.Err(); err != nil {
		return batchError(err)
	}
	return nil
}

// WaitSynced returns once the offsets of an append whose result says
// SyncNeeded are fsynced (a group commit: see flushTo).
func (l *Log) WaitSynced(res AppendResult) error {
	if !res.SyncNeeded {
		return nil
	}
	synced, err := l.flushTo(res.LastOffset + 1)
	if err != nil {
		return err
	}
	l.env.stats.ackedAfterFsync.Add(1)
	if synced {
		l.env.stats.ackFsyncs.Add(1)
	}
	return nil
}

var keyCheckPool = sync.Pool{New: func() any { return new([]byte) }}
