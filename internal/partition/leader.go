package partition

// The leader's side of replication (Kafka's Partition as leader): it
// learns each follower's log end offset from its fetches, moves the high
// watermark to the smallest log end offset in the ISR, and asks the
// controller (AlterPartition) to drop followers that stopped catching up
// for replica.lag.time.max.ms and to add back those that caught up.

import (
	"slices"
	"time"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/storage"
)

// replicaState is the leader's view of one follower, owned by p.mu.
type replicaState struct {
	// leo is the follower's log end offset (its last fetch offset), -1
	// until it fetches from this leader.
	leo int64
	// lastCaughtUp is the last time the follower had everything the
	// leader had (Kafka's lastCaughtUpTimeMs): when it fetched at the
	// leader's log end, or at the log end of the leader's previous fetch.
	lastCaughtUp time.Time
	// lastFetch and lastFetchLeaderEnd are the time of the follower's
	// last fetch and the leader's log end offset at that time.
	lastFetch          time.Time
	lastFetchLeaderEnd int64
}

// becomeLeaderLocked starts tracking the other replicas. Members of the
// ISR count as caught up now, so a new leader does not drop them before
// they had a chance to fetch from it.
func (p *Partition) becomeLeaderLocked() {
	now := p.now()
	p.mu.followers = map[int32]*replicaState{}
	p.mu.pendingISR = nil
	p.mu.alterGen++
	p.mu.epochStart = p.log.LogEndOffset()
	// NB: the whole log end, even for an fsync-before-ack log whose
	// follower writes were not fsynced: they were on the old leader, and
	// the next append's fsync covers them.
	p.mu.localEnd = p.log.LogEndOffset()
	for _, id := range p.mu.state.Replicas {
		if id == p.nodeID {
			continue
		}
		st := &replicaState{leo: -1, lastFetchLeaderEnd: -1}
		if slices.Contains(p.mu.state.ISR, id) {
			st.lastCaughtUp = now
		}
		p.mu.followers[id] = st
	}
	p.maybeAdvanceHWLocked()
}

// syncFollowersLocked follows a change of the replica set (reassignment)
// while leading.
func (p *Partition) syncFollowersLocked() {
	if p.mu.followers == nil {
		return
	}
	for id := range p.mu.followers {
		if !slices.Contains(p.mu.state.Replicas, id) {
			delete(p.mu.followers, id)
		}
	}
	for _, id := range p.mu.state.Replicas {
		if _, ok := p.mu.followers[id]; !ok && id != p.nodeID {
			p.mu.followers[id] = &replicaState{leo: -1, lastFetchLeaderEnd: -1}
		}
	}
}

func (p *Partition) now() time.Time {
	if r := p.repl.Load(); r != nil {
		return r.now()
	}
	return time.Now()
}

// maybeAdvanceHWLocked moves the HW to the smallest log end offset of the
// leader and the (maximal) ISR, never down, and wakes whoever waits for it.
func (p *Partition) maybeAdvanceHWLocked() (int64, bool) {
	if p.mu.state.Leader != p.nodeID {
		return p.mu.hw, false
	}
	hw := p.mu.localEnd
	count := func(id int32) {
		if id == p.nodeID {
			return
		}
		st := p.mu.followers[id]
		if st == nil || st.leo < 0 {
			hw = -1 // not heard from since this replica leads: cannot tell
			return
		}
		hw = min(hw, st.leo)
	}
	for _, id := range p.mu.state.ISR {
		count(id)
	}
	for _, id := range p.mu.pendingISR {
		count(id)
	}
	if hw <= p.mu.hw {
		return p.mu.hw, false
	}
	p.mu.hw = hw
	p.log.SetHighWatermark(hw)
	p.signalLocked()
	p.wakeFetchesLocked()
	return hw, true
}

// UpdateFollowerFetch records a follower's fetch at fetchOffset (its log
// end offset), moves the HW, and asks to add the follower back to the
// ISR once it has caught up. It is called by the Fetch handler for a
// replica's fetch that did not diverge.
func (p *Partition) UpdateFollowerFetch(replica int32, fetchOffset int64) error {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.state.Leader != p.nodeID {
		return ErrNotLeader
	}
	st := p.mu.followers[replica]
	if st == nil {
		return ErrNotLeader // not a replica of this partition (Kafka: not assigned)
	}
	leaderEnd := p.log.LogEndOffset()
	if fetchOffset > leaderEnd {
		return storage.ErrOffsetOutOfRange
	}
	switch {
	case fetchOffset >= leaderEnd:
		st.lastCaughtUp = now
	case fetchOffset >= st.lastFetchLeaderEnd && st.lastFetch.After(st.lastCaughtUp):
		st.lastCaughtUp = st.lastFetch
	}
	st.leo, st.lastFetch, st.lastFetchLeaderEnd = fetchOffset, now, leaderEnd
	p.maybeAdvanceHWLocked()
	if !slices.Contains(p.mu.state.ISR, replica) && fetchOffset >= p.mu.hw && fetchOffset >= p.mu.epochStart {
		p.proposeISRLocked(append(slices.Clone(p.mu.state.ISR), replica), now)
	}
	return nil
}

// ReadLog reads up to the log end, not the HW: for a follower's fetch,
// and for a new leader's group coordinator, which loads everything the
// leader has (Kafka's coordinator loads to the log end too: a leader never
// truncates, so what it has beyond the HW becomes committed as followers
// fetch, while a new leader's HW may still lag behind what was committed).
func (p *Partition) ReadLog(offset int64, maxBytes int32, minOneBatch bool) (ReadResult, error) {
	res := ReadResult{HighWatermark: p.HighWatermark(), LogStartOffset: p.log.LogStartOffset()}
	data, err := p.log.Read(offset, maxBytes, 1<<62, minOneBatch)
	if err != nil {
		return res, err
	}
	res.Data = data
	return res, nil
}

// inSyncLocked counts the ISR members that count for min.insync.replicas:
// the ISR, less the followers that have not caught up for
// replica.lag.time.max.ms. NB: Kafka counts the ISR as the controller
// last recorded it; the two differ only while a shrink that is due has
// not been recorded, which takes no time with a controller and forever
// without one (two of three voters down). Refusing at once
// (NOT_ENOUGH_REPLICAS, which a client knows was not written) instead of
// timing out every acks=all write (REQUEST_TIMED_OUT, which an idempotent
// client must retry for ever) is the same answer the recorded shrink
// would give.
func (p *Partition) inSyncLocked(now time.Time) int {
	r := p.repl.Load()
	if r == nil {
		return len(p.mu.state.ISR)
	}
	n := 0
	for _, id := range p.mu.state.ISR {
		st := p.mu.followers[id]
		if id == p.nodeID || st != nil && now.Sub(st.lastCaughtUp) <= r.cfg.LagTimeMax {
			n++
		}
	}
	return n
}

// maybeShrinkISR asks to drop the followers that have not caught up for
// lagMax (replica.lag.time.max.ms); the replication loop calls it.
func (p *Partition) maybeShrinkISR(now time.Time, lagMax time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.state.Leader != p.nodeID {
		return
	}
	var keep []int32
	for _, id := range p.mu.state.ISR {
		st := p.mu.followers[id]
		if id == p.nodeID || st != nil && now.Sub(st.lastCaughtUp) <= lagMax {
			keep = append(keep, id)
		}
	}
	if len(keep) < len(p.mu.state.ISR) {
		p.proposeISRLocked(keep, now)
	}
}

// proposeISRLocked sends AlterPartition for isr unless one is in flight or
// the last one failed recently.
func (p *Partition) proposeISRLocked(isr []int32, now time.Time) {
	r := p.repl.Load()
	if r == nil || r.cfg.AlterPartition == nil || p.mu.pendingISR != nil || now.Before(p.mu.alterRetryAt) {
		return
	}
	slices.Sort(isr)
	p.mu.pendingISR = isr
	p.mu.alterGen++
	gen := p.mu.alterGen
	st := p.mu.state
	req := metadata.AlterPartitionRequest{
		NodeID:         p.nodeID,
		TopicID:        st.TopicID,
		Partition:      p.Index,
		LeaderEpoch:    st.LeaderEpoch,
		PartitionEpoch: st.PartitionEpoch,
		NewISR:         isr,
	}
	p.mu.pendingReq = req
	r.alterPartition(p, req, gen)
}

// retryAlter sends an unanswered AlterPartition again, unless the state
// moved on since it was asked (gen).
func (p *Partition) retryAlter(gen int32, req metadata.AlterPartitionRequest) {
	p.mu.Lock()
	current := gen == p.mu.alterGen && p.mu.pendingISR != nil
	p.mu.Unlock()
	if r := p.repl.Load(); current && r != nil {
		r.alterPartition(p, req, gen)
	}
}

// alterDone applies an AlterPartition answer, unless the state moved on
// since it was asked (gen).
func (p *Partition) alterDone(gen int32, resp metadata.AlterPartitionResponse, err error, backoff time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.mu.alterGen {
		return
	}
	if err != nil {
		// No answer: the controller may have applied the change. Keep
		// counting the pending ISR for the HW (it is the larger one of an
		// expansion, so that is safe) and ask again after the backoff,
		// until an answer or a new state settles it, as Kafka does.
		req := p.mu.pendingReq
		time.AfterFunc(backoff, func() { p.retryAlter(gen, req) })
		return
	}
	p.mu.pendingISR = nil
	if resp.ErrorCode != 0 {
		p.mu.alterRetryAt = p.now().Add(backoff)
		return
	}
	ns := resp.State
	st := p.mu.state
	if ns.LeaderEpoch == st.LeaderEpoch && ns.PartitionEpoch > st.PartitionEpoch {
		st.ISR, st.PartitionEpoch, st.Replicas = ns.ISR, ns.PartitionEpoch, ns.Replicas
		p.mu.state = st
		p.syncFollowersLocked()
	}
	p.maybeAdvanceHWLocked()
	p.signalLocked()
}
