package handlers

// Produce (key 0), v3–v10: record batch magic v2 only. The client chooses
// the partition; the broker validates each batch (CRC, size, producer
// sequence), stamps offsets and the leader epoch, and stores the bytes as
// sent. acks=0 gets no response at all; if it fails, the connection is
// closed instead, as in Kafka, so the producer notices. A broker that is
// not the partition's leader answers NOT_LEADER_OR_FOLLOWER, with the
// current leader and its endpoint from v10 (KIP-951). Transactions are not implemented yet: transactional
// batches get INVALID_TXN_STATE.
//
// NB: ApiVersions advertises Produce from v0, though v0–v2 (message
// formats 0 and 1) are refused by closing the connection. librdkafka
// before 2.10 enables gzip, snappy and lz4 only if the broker lists
// Produce v0 (librdkafka issue 4956): without it those clients silently
// send uncompressed batches. Kafka 4.0 does the same for the same reason
// (KAFKA-18659). Clients pick the highest common version, so none of them
// ever sends v0–v2 to us.
//
// acks=-1 (all) refuses with NOT_ENOUGH_REPLICAS when the ISR is below
// min.insync.replicas, and otherwise answers once the high watermark
// passed the batch (the whole ISR has it), or REQUEST_TIMED_OUT after the
// request's timeout; the batch stays in the leader's log either way, as
// in Kafka.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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

func produce(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	img := env.Meta.Image()
	var syncs []pendingSync // appends to acknowledge only after their fsync
	var acked []pendingSync // acks=-1 appends to acknowledge once the ISR has them
	for _, rt := range r.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			err := produceCheck(r, rp.Records)
			var p *partition.Partition
			if err == nil {
				p, err = replicaOrNotLeader(env, img, rt.Topic, rp.Partition)
			}
			if err == nil && metadata.IsInternalTopic(rt.Topic) {
				// Only the broker writes internal topics (Kafka:
				// "Cannot append to internal topic").
				err = metadata.ErrInternalTopic
			}
			if err == nil {
				res, aerr := p.AppendDeferSync(rp.Records, r.Acks)
				err = aerr
				if err == nil {
					sp.BaseOffset = res.BaseOffset
					sp.LogAppendTime = res.LogAppendTime
					sp.LogStartOffset = res.LogStartOffset
					ps := pendingSync{p: p, res: res, topic: len(resp.Topics), part: len(st.Partitions)}
					if res.SyncNeeded {
						syncs = append(syncs, ps)
					}
					if r.Acks == -1 {
						acked = append(acked, ps)
					}
				}
			}
			if err != nil {
				setProduceError(&sp, err)
				if errors.Is(err, partition.ErrNotLeader) {
					produceLeaderHint(img, rt.Topic, rp.Partition, &sp, resp)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	waitSyncs(syncs, resp)
	waitReplicated(ctx, acked, r.TimeoutMillis, resp)
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

func setProduceError(sp *kmsg.ProduceResponseTopicPartition, err error) {
	sp.ErrorCode = errorCode(err)
	if errors.Is(err, errTransactional) {
		sp.ErrorCode = kerr.InvalidTxnState.Code
	}
	sp.ErrorMessage = errorMessage(err)
	sp.BaseOffset = -1
}

// waitReplicated waits, up to the request's timeout, until the ISR of
// every acks=-1 append has it (Kafka's delayed produce). Partitions share
// the deadline, so waiting for them one after another costs no more than
// the slowest.
func waitReplicated(ctx context.Context, acked []pendingSync, timeoutMs int32, resp *kmsg.ProduceResponse) {
	if len(acked) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(max(timeoutMs, 0))*time.Millisecond)
	defer cancel()
	for _, a := range acked {
		sp := &resp.Topics[a.topic].Partitions[a.part]
		if sp.ErrorCode != 0 {
			continue // its fsync failed
		}
		if err := a.p.WaitReplicated(ctx, a.res.LastOffset); err != nil {
			setProduceError(sp, err)
		}
	}
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
