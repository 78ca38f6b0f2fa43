package storage

// Idempotent producer state of one partition, after Kafka's
// ProducerStateManager and ProducerAppendInfo (KIP-98, with KIP-360's
// handling of unknown producers).
//
// For every producer id the log has seen, it keeps the producer epoch and
// the metadata of the producer's last 5 appended batches (the most a
// producer has in flight: max.in.flight.requests.per.connection <= 5 with
// idempotence). That is enough to
//   - answer a retried batch with the offsets it got the first time
//     (a duplicate), instead of appending it twice;
//   - refuse a batch that skips or repeats sequence numbers
//     (OUT_OF_ORDER_SEQUENCE_NUMBER), so a gap is never silently written;
//   - fence a zombie producer with an older epoch (INVALID_PRODUCER_EPOCH).
//
// The state is rebuilt at open from the newest snapshot (producer_snapshot.go)
// and the batches after it, so Record must be called for every appended
// batch, in log order, including during recovery replay.
//
// Transactions (open transaction offsets, markers' coordinator epochs) are
// the transaction coordinator's business and come later; control batches
// only move the epoch here.

import (
	"fmt"
	"math"

	"github.com/strata-io/strata/internal/record"
)

// producerBatchesRetained is how many recent batches are kept per producer, Kafka's
// ProducerStateEntry.NUM_BATCHES_TO_RETAIN.
const producerBatchesRetained = 5

// noProducerEpoch is Kafka's RecordBatch.NO_PRODUCER_EPOCH.
const noProducerEpoch = -1

// BatchRef locates an appended batch: the reply to a duplicate.
type BatchRef struct {
	FirstOffset int64
	LastOffset  int64
	Timestamp   int64 // ms: the batch's max timestamp (its append time for LogAppendTime)
}

// producerBatch is what is kept of one appended batch.
type producerBatch struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	timestamp               int64 // ms, the batch's max timestamp
}

// producerEntry is the state of one producer id.
type producerEntry struct {
	epoch int16
	// lastTimestamp (ms) is the max timestamp of the producer's last batch
	// or marker: the clock for ExpireProducers.
	lastTimestamp int64
	// batches are the last n appended batches of the current epoch, oldest
	// first; n <= producerBatchesRetained. An epoch change empties them.
	batches [producerBatchesRetained]producerBatch
	n       int
}

func (e *producerEntry) last() *producerBatch {
	if e.n == 0 {
		return nil
	}
	return &e.batches[e.n-1]
}

func (e *producerEntry) add(b producerBatch) {
	if e.n == producerBatchesRetained {
		copy(e.batches[:], e.batches[1:])
		e.n--
	}
	e.batches[e.n] = b
	e.n++
}

// ProducerStates is the idempotent producer state of one partition log.
//
// It is not safe for concurrent use: it is owned by the Log's mutex. Check
// and Record go one batch at a time (Check, append, Record; then the next
// batch), since a batch's sequence check depends on the one before it.
type ProducerStates struct {
	producers map[int64]*producerEntry
}

// NewProducerStates returns an empty state: no producer known.
func NewProducerStates() *ProducerStates {
	return &ProducerStates{producers: make(map[int64]*producerEntry)}
}

// Len is the number of producer ids with state.
func (s *ProducerStates) Len() int { return len(s.producers) }

// Check validates batch header h before append. Non-idempotent batches
// (h.ProducerID < 0) pass. If the batch duplicates one of the last 5
// batches of its producer (same epoch, same base and last sequence),
// dup=true and ref gives the original's offsets; nothing should be written.
//
// Errors wrap ErrOutOfOrderSequence (a gap or a repeat that is not a
// retained batch, or a new epoch not starting at sequence 0),
// ErrInvalidProducerEpoch (an epoch older than the producer's), or
// ErrInvalidRecord (a producer id without a sequence number).
//
// NB: an unknown producer id is accepted with any base sequence, as Kafka
// has done since 2.5 (KIP-360): a producer's state disappears when
// retention or DeleteRecords removes its batches, or when it expires, and
// the producer must be able to carry on from where it is rather than fail
// with UNKNOWN_PRODUCER_ID. The price is that the first batch after such a
// loss is not checked for a gap.
func (s *ProducerStates) Check(h *record.Header) (ref BatchRef, dup bool, err error) {
	if h.ProducerID < 0 {
		return BatchRef{}, false, nil
	}
	e := s.producers[h.ProducerID]
	if h.IsControl() {
		// A transaction marker: written by the coordinator, no sequence.
		if e != nil && h.ProducerEpoch < e.epoch {
			return BatchRef{}, false, fmt.Errorf("%w: marker epoch %d of producer %d is older than %d",
				ErrInvalidProducerEpoch, h.ProducerEpoch, h.ProducerID, e.epoch)
		}
		return BatchRef{}, false, nil
	}
	if h.BaseSequence < 0 {
		// Kafka's LogValidator refuses these too: with a producer id there
		// must be a sequence, or duplicates cannot be told from new data.
		return BatchRef{}, false, fmt.Errorf("%w: producer %d sent base sequence %d",
			ErrInvalidRecord, h.ProducerID, h.BaseSequence)
	}
	if e == nil || e.epoch == noProducerEpoch {
		return BatchRef{}, false, nil // unknown producer: see NB above
	}
	first, last := h.BaseSequence, h.LastSequence()
	switch {
	case h.ProducerEpoch < e.epoch:
		return BatchRef{}, false, fmt.Errorf("%w: producer %d epoch %d is older than %d",
			ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	case h.ProducerEpoch > e.epoch:
		// A bumped epoch restarts the sequence.
		if first != 0 {
			return BatchRef{}, false, fmt.Errorf("%w: producer %d new epoch %d (was %d) starts at sequence %d, not 0",
				ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, e.epoch, first)
		}
		return BatchRef{}, false, nil
	}
	for i := range e.n {
		b := &e.batches[i]
		if b.firstSeq == first && b.lastSeq == last {
			return BatchRef{FirstOffset: b.firstOffset, LastOffset: b.lastOffset, Timestamp: b.timestamp}, true, nil
		}
	}
	lastSeq := int32(-1) // no batch in this epoch yet (only a marker): must start at 0
	if lb := e.last(); lb != nil {
		lastSeq = lb.lastSeq
	}
	if !sequenceFollows(lastSeq, first) {
		return BatchRef{}, false, fmt.Errorf("%w: producer %d epoch %d sent sequence %d after %d",
			ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, first, lastSeq)
	}
	return BatchRef{}, false, nil
}

// sequenceFollows reports whether next may follow last: sequence numbers are
// int32 and wrap from MaxInt32 to 0.
func sequenceFollows(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}

// Record notes an appended batch; h.BaseOffset is the offset it was
// assigned, and h.MaxTimestamp the final max timestamp (the append time for
// LogAppendTime). It is called for every appended batch in log order, also
// during recovery replay, and trusts h: the checks are Check's.
func (s *ProducerStates) Record(h *record.Header) {
	if h.ProducerID < 0 {
		return
	}
	e := s.producers[h.ProducerID]
	if e == nil {
		e = &producerEntry{epoch: noProducerEpoch}
		s.producers[h.ProducerID] = e
	}
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.batches, e.n = [producerBatchesRetained]producerBatch{}, 0
	}
	e.lastTimestamp = h.MaxTimestamp
	if h.IsControl() || h.BaseSequence < 0 {
		return
	}
	e.add(producerBatch{
		firstSeq:    h.BaseSequence,
		lastSeq:     h.LastSequence(),
		firstOffset: h.BaseOffset,
		lastOffset:  h.LastOffset(),
		timestamp:   h.MaxTimestamp,
	})
}

// ExpireProducers forgets producers whose last batch is maxIdleMs or more
// older than nowMs (Kafka's producer.id.expiration.ms, default one day),
// so that the state does not grow with every producer ever seen. It returns
// how many were removed. An expired producer that comes back is an unknown
// producer to Check.
func (s *ProducerStates) ExpireProducers(nowMs, maxIdleMs int64) int {
	n := 0
	for pid, e := range s.producers {
		if nowMs-e.lastTimestamp >= maxIdleMs {
			delete(s.producers, pid)
			n++
		}
	}
	return n
}

// LastBatchOffsets sets dst[pid] to the last offset of each producer's last
// appended batch (in its current epoch). The log cleaner keeps those
// batches, emptied if need be, as Kafka's does: the producer state is
// rebuilt from the log on recovery, and without its last batch a producer
// would lose its sequence number and epoch.
func (s *ProducerStates) LastBatchOffsets(dst map[int64]int64) {
	for pid, e := range s.producers {
		if b := e.last(); b != nil {
			dst[pid] = b.lastOffset
		}
	}
}
