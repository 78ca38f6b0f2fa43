package partition

// A replica fetcher copies the logs of the partitions one leader broker
// leads to this broker's follower replicas (Kafka's ReplicaFetcherThread):
// Fetch requests with this broker's replica id, the partitions' current
// leader epochs (the leader refuses a stale or future one) and the epoch
// of the last fetched batch, so the leader can say where the logs diverge
// (KIP-320) and the follower truncates before it appends.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/storage"
)

// replicaFetchVersion is the Fetch version fetchers send: the newest with
// topic names and ReplicaID as a field (v13 switches to topic ids, v15
// moves the replica id into ReplicaState).
const replicaFetchVersion = 12

// errMetadataLag marks a leader's refusal that only says its metadata and
// ours disagree for now.
var errMetadataLag = errors.New("metadata not in step with the leader")

type fetcher struct {
	r      *Replication
	id     fetcherID
	ctx    context.Context
	cancel context.CancelFunc
	wakeCh chan struct{}

	mu struct {
		sync.Mutex
		parts map[*Partition]*fetchState
	}
}

// fetchState is a partition's place in its fetcher, owned by fetcher.mu.
type fetchState struct {
	// delayedUntil holds the partition out of fetches after an error
	// (replica.fetch.backoff.ms).
	delayedUntil time.Time
}

func newFetcher(r *Replication, id fetcherID) *fetcher {
	f := &fetcher{r: r, id: id, wakeCh: make(chan struct{}, 1)}
	f.ctx, f.cancel = context.WithCancel(r.ctx)
	f.mu.parts = map[*Partition]*fetchState{}
	return f
}

func (f *fetcher) add(p *Partition) {
	f.mu.Lock()
	f.mu.parts[p] = &fetchState{}
	f.mu.Unlock()
	f.wake()
}

// remove drops p and returns how many partitions are left.
func (f *fetcher) remove(p *Partition) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mu.parts, p)
	return len(f.mu.parts)
}

func (f *fetcher) wake() {
	select {
	case f.wakeCh <- struct{}{}:
	default:
	}
}

func (f *fetcher) stop() { f.cancel() }

// sentPartition is one partition of a request in flight.
type sentPartition struct {
	p      *Partition
	epoch  int32
	offset int64
}

func (f *fetcher) run() {
	defer f.r.wg.Done()
	log := f.r.cfg.Logger.With("leader", f.id.leader, "fetcher", f.id.index)
	var conn *replicaConn
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	for f.ctx.Err() == nil {
		req, sent, wait := f.buildRequest()
		if req == nil {
			f.sleep(wait)
			continue
		}
		addr, ok := f.r.cfg.BrokerAddr(f.id.leader)
		if conn != nil && conn.addr != addr {
			conn.close()
			conn = nil
		}
		if conn == nil && ok {
			c, err := dialReplica(f.ctx, addr, fmt.Sprintf("strata-replica-%d", f.r.cfg.NodeID), f.r.cfg.SocketTimeout)
			if err != nil {
				log.Debug("replica fetcher cannot reach the leader", "addr", addr, "err", err)
			} else {
				conn = c
			}
		}
		if conn == nil {
			f.sleep(f.r.cfg.FetchBackoff)
			continue
		}
		resp := kmsg.NewPtrFetchResponse()
		if err := conn.roundTrip(f.ctx, req, resp, f.r.cfg.FetchWaitMax); err != nil {
			if f.ctx.Err() == nil {
				log.Info("replica fetch failed", "addr", addr, "err", err)
			}
			conn.close()
			conn = nil
			f.sleep(f.r.cfg.FetchBackoff)
			continue
		}
		if resp.ErrorCode != 0 {
			log.Info("replica fetch refused", "error_code", resp.ErrorCode)
			f.sleep(f.r.cfg.FetchBackoff)
			continue
		}
		f.handle(resp, sent, log)
	}
}

// sleep waits for d, a wake-up, or the end.
func (f *fetcher) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-f.wakeCh:
	case <-f.ctx.Done():
	}
}

// buildRequest makes the next Fetch from the partitions that follow this
// fetcher's leader and are not held back; with none, it returns how long
// to wait.
func (f *fetcher) buildRequest() (*kmsg.FetchRequest, map[string]map[int32]sentPartition, time.Duration) {
	cfg := &f.r.cfg
	f.mu.Lock()
	parts := make([]*Partition, 0, len(f.mu.parts))
	now := f.r.now()
	wait := cfg.FetchBackoff
	for p, fs := range f.mu.parts {
		if d := fs.delayedUntil.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		parts = append(parts, p)
	}
	f.mu.Unlock()
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(replicaFetchVersion)
	req.ReplicaID = cfg.NodeID
	req.MaxWaitMillis = int32(cfg.FetchWaitMax.Milliseconds())
	req.MinBytes = cfg.FetchMinBytes
	req.MaxBytes = cfg.FetchResponseMaxBytes
	req.SessionEpoch = -1
	sent := map[string]map[int32]sentPartition{}
	topics := map[string]int{}
	for _, p := range parts {
		st := p.State() // NB: after f.mu is released (lock order: p.mu first)
		if st.Leader != f.id.leader {
			continue // Track moves it
		}
		offset, lastEpoch, logStart := p.fetchPosition()
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p.Index
		rp.CurrentLeaderEpoch = st.LeaderEpoch
		rp.FetchOffset = offset
		rp.LastFetchedEpoch = lastEpoch
		rp.LogStartOffset = logStart
		rp.PartitionMaxBytes = cfg.FetchMaxBytes
		i, ok := topics[p.Topic]
		if !ok {
			i = len(req.Topics)
			topics[p.Topic] = i
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = p.Topic
			req.Topics = append(req.Topics, rt)
			sent[p.Topic] = map[int32]sentPartition{}
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
		sent[p.Topic][p.Index] = sentPartition{p: p, epoch: st.LeaderEpoch, offset: offset}
	}
	if len(req.Topics) == 0 {
		return nil, nil, wait
	}
	return req, sent, 0
}

// handle applies a fetch response partition by partition.
func (f *fetcher) handle(resp *kmsg.FetchResponse, sent map[string]map[int32]sentPartition, log *slog.Logger) {
	for _, rt := range resp.Topics {
		for i := range rt.Partitions {
			sp := &rt.Partitions[i]
			s, ok := sent[rt.Topic][sp.Partition]
			if !ok {
				continue
			}
			if err := f.handlePartition(s, sp); err != nil {
				backoff := f.r.cfg.FetchBackoff
				switch {
				case errors.Is(err, errNotFollowerOf):
				case errors.Is(err, errMetadataLag):
					// Expected while the brokers' metadata images
					// disagree for a moment (a leader change): the
					// leader's catches up within milliseconds, and
					// every moment waited here after a failover is
					// a moment acks=all writes wait for the ISR.
					log.Debug("replica fetch of a partition refused", "topic", rt.Topic, "partition", sp.Partition, "err", err)
					backoff = min(backoff, metadataLagBackoff)
				default:
					log.Warn("replica fetch of a partition failed", "topic", rt.Topic, "partition", sp.Partition, "err", err)
				}
				f.delay(s.p, backoff)
			}
		}
	}
}

func (f *fetcher) delay(p *Partition, d time.Duration) {
	f.mu.Lock()
	if fs := f.mu.parts[p]; fs != nil {
		fs.delayedUntil = f.r.now().Add(d)
	}
	f.mu.Unlock()
}

// metadataLagBackoff caps the pause after a refusal that only means the
// leader's metadata is behind or ahead of ours.
const metadataLagBackoff = 50 * time.Millisecond

// retryNow lifts p's backoff: its state changed (a new leader or epoch),
// so the reason it was held back may be gone.
func (f *fetcher) retryNow(p *Partition) {
	f.mu.Lock()
	if fs := f.mu.parts[p]; fs != nil {
		fs.delayedUntil = time.Time{}
	}
	f.mu.Unlock()
	f.wake()
}

// handlePartition applies one partition's answer: truncation on a
// diverging epoch, the records, the HW and log start offset; an error
// holds the partition back for replica.fetch.backoff.ms.
func (f *fetcher) handlePartition(s sentPartition, sp *kmsg.FetchResponseTopicPartition) error {
	p, leader := s.p, f.id.leader
	switch sp.ErrorCode {
	case 0:
	case kerr.OffsetOutOfRange.Code:
		return f.outOfRange(s, sp)
	default:
		// NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH (we are ahead of
		// the leader's metadata or behind), UNKNOWN_LEADER_EPOCH,
		// UNKNOWN_TOPIC_OR_PARTITION (not created there yet): the
		// metadata will catch up; try again after the backoff.
		err := kerr.ErrorForCode(sp.ErrorCode)
		switch sp.ErrorCode {
		case kerr.NotLeaderForPartition.Code, kerr.FencedLeaderEpoch.Code, kerr.UnknownLeaderEpoch.Code, kerr.UnknownTopicOrPartition.Code:
			return fmt.Errorf("%w: leader answered %w", errMetadataLag, err)
		}
		return fmt.Errorf("leader answered %w", err)
	}
	if de := sp.DivergingEpoch; de.Epoch >= 0 && de.EndOffset >= 0 {
		return p.followerTruncate(leader, s.epoch, f.truncationOffset(p, de.Epoch, de.EndOffset))
	}
	if len(sp.RecordBatches) > 0 {
		if _, err := p.followerAppend(leader, s.epoch, sp.RecordBatches); err != nil {
			if errors.Is(err, storage.ErrUnexpectedOffset) {
				return nil // fetched again from the log end next time
			}
			return err
		}
	}
	p.followerSetHW(leader, s.epoch, sp.HighWatermark)
	p.followerLogStart(sp.LogStartOffset)
	return nil
}

// truncationOffset is where a follower cuts its log after the leader said
// its epoch leaderEpoch ends at leaderEnd (Kafka's
// AbstractFetcherThread.getOffsetTruncationState): if the follower knows
// that epoch, at the smaller of both ends; if not, at the end of its
// largest epoch below it, and the next fetch finds the next divergence.
func (f *fetcher) truncationOffset(p *Partition, leaderEpoch int32, leaderEnd int64) int64 {
	leo := p.log.LogEndOffset()
	fe, fend := p.log.EndOffsetForEpoch(leaderEpoch)
	switch {
	case fe < 0 || fend < 0:
		return min(leaderEnd, leo)
	case fe != leaderEpoch:
		return min(fend, leo)
	default:
		return min(leaderEnd, fend, leo)
	}
}

// outOfRange handles OFFSET_OUT_OF_RANGE: behind the leader's log start,
// the follower starts over there; otherwise (ahead of the leader's log
// end, which the epochs did not catch) it falls back to its HW.
func (f *fetcher) outOfRange(s sentPartition, sp *kmsg.FetchResponseTopicPartition) error {
	if sp.LogStartOffset >= 0 && s.offset < sp.LogStartOffset {
		f.r.cfg.Logger.Info("follower behind the leader's log start: starting over", "topic", s.p.Topic, "partition", s.p.Index, "from", s.offset, "to", sp.LogStartOffset)
		return s.p.followerStartAt(f.id.leader, s.epoch, sp.LogStartOffset)
	}
	hw := s.p.HighWatermark()
	if hw < s.offset {
		f.r.cfg.Logger.Info("follower ahead of the leader's log end: truncating to the HW", "topic", s.p.Topic, "partition", s.p.Index, "from", s.offset, "to", hw)
		return s.p.followerTruncate(f.id.leader, s.epoch, hw)
	}
	return fmt.Errorf("offset %d out of range at the leader (log start %d, HW %d)", s.offset, sp.LogStartOffset, sp.HighWatermark)
}
