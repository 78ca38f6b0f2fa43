package partition

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/storage"
)

// Errors a partition returns besides the storage ones.
var (
	ErrNotEnoughReplicas            = errors.New("partition: ISR smaller than min.insync.replicas")                  // NOT_ENOUGH_REPLICAS
	ErrNotEnoughReplicasAfterAppend = errors.New("partition: ISR shrank below min.insync.replicas after the append") // NOT_ENOUGH_REPLICAS_AFTER_APPEND
	ErrFencedLeaderEpoch            = errors.New("partition: leader epoch older than current")                       // FENCED_LEADER_EPOCH
	ErrUnknownLeaderEpoch           = errors.New("partition: leader epoch newer than current")                       // UNKNOWN_LEADER_EPOCH
	ErrNotLeader                    = errors.New("partition: this broker is not the leader")                         // NOT_LEADER_OR_FOLLOWER
	ErrRequestTimedOut              = errors.New("partition: timed out waiting for the ISR to replicate")            // REQUEST_TIMED_OUT
	// errNotFollowerOf: a fetch response arrived for a leader and epoch
	// this replica no longer follows.
	errNotFollowerOf = errors.New("partition: no longer a follower of that leader and epoch")
)

// defaultAppendTimeout is Append's wait for the ISR when Settings has none
// (Kafka's offsets.commit.timeout.ms default).
const defaultAppendTimeout = 5 * time.Second

// State is a partition's placement and leadership, from the metadata image.
type State struct {
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
	TopicID        metadata.UUID
}

// Settings are the topic configs a partition itself enforces (the rest go
// to the storage log).
type Settings struct {
	MinInsyncReplicas int
	// AppendTimeout bounds how long Append with acks=-1 waits for the ISR
	// (the group coordinator's offsets.commit.timeout.ms); 0 means 5 s.
	AppendTimeout time.Duration
}

// Partition is this broker's replica of one partition: the leader, or a
// follower that copies the leader's log (see follower.go, leader.go).
type Partition struct {
	Topic    string
	Index    int32
	nodeID   int32
	log      *storage.Log
	settings atomic.Pointer[Settings]
	repl     atomic.Pointer[Replication] // nil without replication (tests, a lone node's start)

	// roleMu serializes role changes (SetState) with the follower's
	// appends and truncations, so that a fetch response from an old
	// leader is never written after this replica became leader.
	// Lock order: roleMu before mu.
	roleMu sync.Mutex

	mu struct {
		sync.Mutex
		state State
		// hw is the first offset not yet on every ISR member; hw <= LEO.
		hw int64
		// localEnd is what the leader itself has of its log for the HW:
		// the log end, or the recovery point for an fsync-before-ack log.
		localEnd int64
		// followers is the leader's view of the other replicas (nil on a
		// follower), by broker id.
		followers map[int32]*replicaState
		// pendingISR is the ISR of an AlterPartition in flight (nil if
		// none); the HW counts the union with state.ISR (Kafka's maximal
		// ISR), so an expansion is safe before it commits and a shrink
		// only helps once it has.
		pendingISR []int32
		// pendingReq is the AlterPartition that proposed pendingISR, sent
		// again while it goes unanswered.
		pendingReq metadata.AlterPartitionRequest
		// alterGen identifies the AlterPartition in flight; a state change
		// bumps it so that a late answer is ignored. alterRetryAt holds
		// back the next request after a failed one.
		alterGen     int32
		alterRetryAt time.Time
		// epochStart is the first offset of this leader's epoch: a
		// follower joins the ISR only once it has fetched past it.
		epochStart int64
		// hwChanged is closed (and replaced) whenever hw or the state
		// changes: acks=all appends wait on it.
		hwChanged chan struct{}
		// waiters get a non-blocking send when the log grows: each is a
		// long-polling fetch's wakeup channel (buffered, capacity 1).
		waiters []chan<- struct{}
	}
}

// New wraps an open log as a replica of topic/index on node nodeID.
func New(topic string, index int32, nodeID int32, log *storage.Log, st State, s Settings) *Partition {
	p := &Partition{Topic: topic, Index: index, nodeID: nodeID, log: log}
	p.settings.Store(&s)
	p.mu.hwChanged = make(chan struct{})
	p.mu.hw = log.HighWatermark()
	p.mu.localEnd = log.LogEndOffset()
	p.mu.state = State{Leader: -1, LeaderEpoch: -1}
	p.SetState(st)
	return p
}

// Log is the underlying storage log.
func (p *Partition) Log() *storage.Log { return p.log }

// SetSettings applies new topic settings.
func (p *Partition) SetSettings(s Settings) { p.settings.Store(&s) }

// SetState applies a new leadership state from the metadata image. A
// replica that becomes leader starts a new leader epoch at its log end and
// starts tracking its followers; one that stops leading forgets them.
// States older than the current one (by leader and partition epoch) are
// ignored: an AlterPartition answer may have been applied first.
func (p *Partition) SetState(st State) {
	p.roleMu.Lock()
	defer p.roleMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.mu.state
	if st.LeaderEpoch < old.LeaderEpoch || st.LeaderEpoch == old.LeaderEpoch && st.PartitionEpoch < old.PartitionEpoch {
		return
	}
	p.mu.state = st
	lead := st.Leader == p.nodeID
	switch {
	case lead && (old.Leader != p.nodeID || st.LeaderEpoch != old.LeaderEpoch):
		if st.LeaderEpoch > p.log.LatestEpoch() {
			// A new leader epoch starts at the current log end.
			_ = p.log.AssignEpochStart(st.LeaderEpoch, p.log.LogEndOffset())
		}
		p.becomeLeaderLocked()
	case !lead:
		p.mu.followers = nil
	default:
		p.syncFollowersLocked()
	}
	if st.LeaderEpoch != old.LeaderEpoch || st.PartitionEpoch != old.PartitionEpoch || !slices.Equal(old.ISR, st.ISR) {
		p.mu.pendingISR = nil
		p.mu.alterGen++
		p.mu.alterRetryAt = time.Time{}
	}
	p.maybeAdvanceHWLocked()
	p.signalLocked()
}

// Stop marks a replica this broker no longer holds (deleted, or
// reassigned away): it leads nothing from now on, so produces waiting for
// the ISR fail with ErrNotLeader at once instead of at their timeout.
func (p *Partition) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.state.Leader = -1
	p.mu.followers = nil
	p.signalLocked()
	p.wakeFetchesLocked()
}

// State returns the partition's leadership state.
func (p *Partition) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.state
}

// IsLeader reports whether this replica leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.state.Leader == p.nodeID
}

// CheckLeaderEpoch validates a client's current leader epoch (-1: no
// check), as Kafka does for Fetch, ListOffsets and OffsetForLeaderEpoch.
func (p *Partition) CheckLeaderEpoch(epoch int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkLeaderLocked(epoch)
}

func (p *Partition) checkLeaderLocked(epoch int32) error {
	switch {
	case epoch >= 0 && epoch < p.mu.state.LeaderEpoch:
		return ErrFencedLeaderEpoch
	case epoch > p.mu.state.LeaderEpoch:
		return ErrUnknownLeaderEpoch
	case p.mu.state.Leader != p.nodeID:
		return ErrNotLeader
	}
	return nil
}

// Append writes the batches in b as the leader. acks is the producer's
// acks setting: with acks=-1 the ISR must have min.insync.replicas members,
// and Append returns once the whole ISR has the batches (the HW passed
// them) or Settings.AppendTimeout passed (ErrRequestTimedOut). b is
// modified in place. It returns once the append may be acknowledged.
func (p *Partition) Append(b []byte, acks int16) (storage.AppendResult, error) {
	res, err := p.AppendDeferSync(b, acks)
	if err != nil {
		return res, err
	}
	if err := p.FinishAppend(res); err != nil {
		return res, err
	}
	if acks != -1 || res.Duplicate {
		return res, nil
	}
	timeout := p.settings.Load().AppendTimeout
	if timeout <= 0 {
		timeout = defaultAppendTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return res, p.WaitReplicated(ctx, res.LastOffset)
}

// AppendDeferSync is Append without waiting for an fsync the append needs
// (res.SyncNeeded) nor for the ISR: the caller calls FinishAppend and,
// for acks=-1, WaitReplicated before acknowledging.
func (p *Partition) AppendDeferSync(b []byte, acks int16) (storage.AppendResult, error) {
	p.mu.Lock()
	if err := p.checkLeaderLocked(-1); err != nil {
		p.mu.Unlock()
		return storage.AppendResult{}, err
	}
	if acks == -1 && p.inSyncLocked(p.now()) < p.minISR() {
		p.mu.Unlock()
		return storage.AppendResult{}, ErrNotEnoughReplicas
	}
	epoch := p.mu.state.LeaderEpoch
	p.mu.Unlock()

	// NB: the storage log serializes appends itself; holding p.mu across
	// the write would stall fetches' HW reads behind the disk.
	res, err := p.log.AppendDeferSync(b, epoch)
	if err != nil || res.Duplicate {
		return res, err
	}
	if !res.SyncNeeded {
		p.localEndTo(p.log.LogEndOffset())
	} else {
		p.wakeFetches() // followers may copy it while it is fsynced
	}
	return res, nil
}

func (p *Partition) minISR() int { return max(p.settings.Load().MinInsyncReplicas, 1) }

// FinishAppend waits for the fsync an AppendDeferSync result needs, then
// moves the high watermark. It does nothing for a result that needs none.
func (p *Partition) FinishAppend(res storage.AppendResult) error {
	if !res.SyncNeeded {
		return nil
	}
	if err := p.log.WaitSynced(res); err != nil {
		return err
	}
	// NB: only to the recovery point, not the log end: appends made while
	// this fsync ran are not on disk yet, and no consumer may read what a
	// power failure could take back from an fsync-before-ack log.
	p.localEndTo(p.log.RecoveryPoint())
	return nil
}

// WaitReplicated waits until the high watermark passes lastOffset (every
// ISR member has it), for an acks=-1 append. It fails with ErrNotLeader if
// this replica stops leading, ErrNotEnoughReplicasAfterAppend if the ISR
// is below min.insync.replicas once the HW passed, and ErrRequestTimedOut
// when ctx ends first.
func (p *Partition) WaitReplicated(ctx context.Context, lastOffset int64) error {
	for {
		p.mu.Lock()
		hw, ch := p.mu.hw, p.mu.hwChanged
		leader := p.mu.state.Leader == p.nodeID
		isr := len(p.mu.state.ISR)
		p.mu.Unlock()
		switch {
		case !leader:
			return ErrNotLeader
		case hw > lastOffset && isr < p.minISR():
			return ErrNotEnoughReplicasAfterAppend
		case hw > lastOffset:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ErrRequestTimedOut
		}
	}
}

// localEndTo moves the leader's own end up to end, then the HW if the ISR
// allows, and wakes waiting fetches (followers wait for the log end,
// consumers for the HW).
func (p *Partition) localEndTo(end int64) {
	p.mu.Lock()
	if end > p.mu.localEnd {
		p.mu.localEnd = end
	}
	hw, moved := p.maybeAdvanceHWLocked()
	p.wakeFetchesLocked()
	p.mu.Unlock()
	if moved {
		p.log.SetHighWatermark(hw)
	}
}

// signalLocked wakes acks=all waiters.
func (p *Partition) signalLocked() {
	close(p.mu.hwChanged)
	p.mu.hwChanged = make(chan struct{})
}

func (p *Partition) wakeFetches() {
	p.mu.Lock()
	p.wakeFetchesLocked()
	p.mu.Unlock()
}

func (p *Partition) wakeFetchesLocked() {
	for _, ch := range p.mu.waiters {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
}

// Watch registers ch (capacity >= 1) to be signalled when the log grows,
// until Unwatch. A fetch waiting for min bytes watches all its partitions
// with one channel.
func (p *Partition) Watch(ch chan<- struct{}) {
	p.mu.Lock()
	p.mu.waiters = append(p.mu.waiters, ch)
	p.mu.Unlock()
}

// Unwatch removes a channel registered with Watch.
func (p *Partition) Unwatch(ch chan<- struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range p.mu.waiters {
		if w == ch {
			last := len(p.mu.waiters) - 1
			p.mu.waiters[i] = p.mu.waiters[last]
			p.mu.waiters[last] = nil
			p.mu.waiters = p.mu.waiters[:last]
			return
		}
	}
}

// HighWatermark is the first offset not yet replicated to the whole ISR.
func (p *Partition) HighWatermark() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.hw
}

// LogStartOffset is the first readable offset.
func (p *Partition) LogStartOffset() int64 { return p.log.LogStartOffset() }

// LogEndOffset is the next offset to be written.
func (p *Partition) LogEndOffset() int64 { return p.log.LogEndOffset() }

// ReadResult is what a fetch gets from one partition.
type ReadResult struct {
	Data           storage.ReadResult
	HighWatermark  int64
	LogStartOffset int64
}

// Read reads committed data (below the HW) from offset. Transactions do not
// exist yet, so read_committed and read_uncommitted see the same records
// and the last stable offset equals the HW.
func (p *Partition) Read(offset int64, maxBytes int32, minOneBatch bool) (ReadResult, error) {
	hw := p.HighWatermark()
	res := ReadResult{HighWatermark: hw, LogStartOffset: p.log.LogStartOffset()}
	if offset > hw && offset <= p.log.LogEndOffset() {
		// Between HW and LEO: nothing readable yet, not out of range.
		return res, nil
	}
	data, err := p.log.Read(offset, maxBytes, hw, minOneBatch)
	if err != nil {
		return res, err
	}
	res.Data = data
	return res, nil
}

// DeleteRecordsBefore moves the log start offset to offset (-1: the HW),
// as DeleteRecords does. Offsets above the HW are out of range.
func (p *Partition) DeleteRecordsBefore(offset int64) (int64, error) {
	hw := p.HighWatermark()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return 0, storage.ErrOffsetOutOfRange
	}
	if err := p.log.DeleteRecordsBefore(offset); err != nil {
		return 0, err
	}
	return p.log.LogStartOffset(), nil
}
