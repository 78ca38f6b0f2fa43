package handlers

// Produce (key 0), v3–v10: record batch magic v2 only. The client chooses
// the partition; the broker validates each batch (CRC, size, producer
// sequence), stamps offsets and the leader epoch, and stores the bytes as
// sent. acks=0 gets no response at all; if it fails, the connection is
// closed instead, as in Kafka, so the producer notices. The KIP-951
// leader hints of v10 are only sent with NOT_LEADER errors, which a single
// node never returns. Transactions are not implemented yet: transactional
// batches get INVALID_TXN_STATE.
//
// NB: ApiVersions advertises Produce from v0, though v0–v2 (message
// formats 0 and 1) are refused by closing the connection. librdkafka
// before 2.10 enables gzip, snappy and lz4 only if the broker lists
// Produce v0 (librdkafka issue 4956): without it those clients silently
// send uncompressed batches. Kafka 4.0 does the same for the same reason
// (KAFKA-18659). Clients pick the highest common version, so none of them
// ever sends v0–v2 to us.

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/record"
	"github.com/strata-io/strata/internal/storage"
)

func init() {
	register(API{Key: 0, MinVersion: 3, MaxVersion: 10, AdvertiseFromV0: true, Handle: produce})
}

var errTransactional = errors.New("transactions are not supported yet")

func produce(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	img := env.Meta.Image()
	var syncs []pendingSync // appends to acknowledge only after their fsync
	for _, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		known := img.Topic(rt.Topic) != nil
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			err := produceCheck(r, rp.Records)
			if err == nil {
				p := env.Parts.Get(rt.Topic, rp.Partition)
				if known && metadata.IsInternalTopic(rt.Topic) {
					// Only the broker writes internal topics (Kafka:
					// "Cannot append to internal topic").
					err = metadata.ErrInternalTopic
				} else if !known || p == nil {
					sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
					st.Partitions = append(st.Partitions, sp)
					continue
				}
				if err == nil {
					res, aerr := p.AppendDeferSync(rp.Records, r.Acks)
					err = aerr
					if err == nil {
						sp.BaseOffset = res.BaseOffset
						sp.LogAppendTime = res.LogAppendTime
						sp.LogStartOffset = res.LogStartOffset
						if res.SyncNeeded {
							syncs = append(syncs, pendingSync{p: p, res: res, topic: len(resp.Topics), part: len(st.Partitions)})
						}
					}
				}
			}
			if err != nil {
				sp.ErrorCode = errorCode(err)
				if errors.Is(err, errTransactional) {
					sp.ErrorCode = kerr.InvalidTxnState.Code
				}
				sp.ErrorMessage = errorMessage(err)
				sp.BaseOffset = -1
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	waitSyncs(syncs, resp)
	if r.Acks == 0 {
		// No response: as in Kafka, a failure closes the connection,
		// the only way an acks=0 producer learns that something is wrong
		// (it then refreshes metadata and carries on).
		for _, st := range resp.Topics {
			for _, sp := range st.Partitions {
				if sp.ErrorCode != 0 {
					return nil, fmt.Errorf("%w: acks=0 produce to %s/%d failed with error code %d", ErrCloseConnection, st.Topic, sp.Partition, sp.ErrorCode)
				}
			}
		}
		return nil, nil
	}
	return resp, nil
}

// pendingSync is an append that flush.messages wants fsynced before it is
// acknowledged, and where its answer is in the response.
type pendingSync struct {
	p           *partition.Partition
	res         storage.AppendResult
	topic, part int
}

// waitSyncs waits for the fsyncs of the request's appends together: the
// partitions' group commits run at the same time (concurrent fsyncs share
// the filesystem's journal commits) instead of one after another. A failed
// fsync fails its partition.
func waitSyncs(syncs []pendingSync, resp *kmsg.ProduceResponse) {
	finish := func(s pendingSync) {
		if err := s.p.FinishAppend(s.res); err != nil {
			sp := &resp.Topics[s.topic].Partitions[s.part]
			sp.ErrorCode = errorCode(err)
			sp.ErrorMessage = errorMessage(err)
			sp.BaseOffset = -1
		}
	}
	if len(syncs) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, s := range syncs[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			finish(s)
		}()
	}
	finish(syncs[0])
	wg.Wait()
}

// produceCheck rejects what the partition must never see: an empty
// partition entry and transactional batches.
func produceCheck(r *kmsg.ProduceRequest, records []byte) error {
	if len(records) == 0 {
		return fmt.Errorf("%w: no record batches", record.ErrCorrupt)
	}
	if r.TransactionID != nil {
		return errTransactional
	}
	it := record.NewBatches(records)
	for {
		h, _, ok := it.Next()
		if !ok {
			break
		}
		if h.IsTransactional() {
			return errTransactional
		}
	}
	// Malformed batches are left to the log's validation, which names
	// the problem.
	return nil
}
