package partition

// The follower's side of replication: the replica fetcher (fetcher.go)
// calls these with the leader and epoch it fetched from; each re-checks,
// under roleMu, that the replica still follows that leader in that epoch,
// so nothing an old leader sent is written after a role change.

import (
	"errors"

	"github.com/strata-io/strata/internal/storage"
)

// fetchPosition is what the next fetch sends: the log end offset, the
// epoch of the last batch (LastFetchedEpoch, KIP-320) and the log start.
//
// NB: the epoch of the last batch, not the newest epoch in the cache: a
// replica that led an epoch without writing in it has that epoch at its
// log end, and sending it would make every leader report a divergence the
// truncation cannot resolve.
func (p *Partition) fetchPosition() (offset int64, lastEpoch int32, logStart int64) {
	offset = p.log.LogEndOffset()
	return offset, p.log.EpochForOffset(offset - 1), p.log.LogStartOffset()
}

// checkFollowingLocked reports whether the replica follows leader in epoch.
func (p *Partition) checkFollowingLocked(leader, epoch int32) error {
	st := p.mu.state
	if st.Leader != leader || st.LeaderEpoch != epoch || leader == p.nodeID {
		return errNotFollowerOf
	}
	return nil
}

// followerAppend appends batches fetched from leader in epoch.
func (p *Partition) followerAppend(leader, epoch int32, batches []byte) (storage.FollowerAppendResult, error) {
	p.roleMu.Lock()
	defer p.roleMu.Unlock()
	p.mu.Lock()
	err := p.checkFollowingLocked(leader, epoch)
	p.mu.Unlock()
	if err != nil {
		return storage.FollowerAppendResult{}, err
	}
	res, err := p.log.AppendAsFollower(batches)
	p.mu.Lock()
	p.mu.localEnd = p.log.LogEndOffset()
	p.mu.Unlock()
	return res, err
}

// followerSetHW takes the leader's high watermark, capped at what this
// replica has. Unlike a leader's, a follower's HW may move down (a new
// leader's HW can start lower).
func (p *Partition) followerSetHW(leader, epoch int32, leaderHW int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.checkFollowingLocked(leader, epoch) != nil {
		return
	}
	hw := max(min(leaderHW, p.log.LogEndOffset()), p.log.LogStartOffset())
	if hw != p.mu.hw {
		p.mu.hw = hw
		p.log.SetHighWatermark(hw)
	}
}

// followerTruncate removes this replica's log from offset on (a tail the
// leader does not have).
func (p *Partition) followerTruncate(leader, epoch int32, offset int64) error {
	return p.followerRewrite(leader, epoch, func() error { return p.log.TruncateTo(offset) })
}

// followerStartAt empties the log and restarts it at offset (the leader's
// log start, above this replica's log end).
func (p *Partition) followerStartAt(leader, epoch int32, offset int64) error {
	return p.followerRewrite(leader, epoch, func() error { return p.log.TruncateFullyAndStartAt(offset) })
}

// followerRewrite runs a change of the log's tail while this replica still
// follows leader in epoch, serialized with role changes.
func (p *Partition) followerRewrite(leader, epoch int32, change func() error) error {
	p.roleMu.Lock()
	defer p.roleMu.Unlock()
	p.mu.Lock()
	err := p.checkFollowingLocked(leader, epoch)
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	p.afterTruncate()
	return nil
}

func (p *Partition) afterTruncate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	leo := p.log.LogEndOffset()
	p.mu.localEnd = leo
	if p.mu.hw > leo {
		p.mu.hw = leo
	}
}

// followerLogStart moves the log start offset up to the leader's (after
// its retention or DeleteRecords), as far as this replica's HW allows.
func (p *Partition) followerLogStart(leaderStart int64) {
	if leaderStart <= p.log.LogStartOffset() {
		return
	}
	off := min(leaderStart, p.HighWatermark())
	if off > p.log.LogStartOffset() {
		if err := p.log.DeleteRecordsBefore(off); err != nil && !errors.Is(err, storage.ErrOffsetOutOfRange) {
			if r := p.repl.Load(); r != nil {
				r.cfg.Logger.Warn("moving a follower's log start offset", "topic", p.Topic, "partition", p.Index, "err", err)
			}
		}
	}
}
