package partition

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/strata-io/strata/internal/storage"
)

// Errors a partition returns besides the storage ones.
var (
	ErrNotEnoughReplicas  = errors.New("partition: ISR smaller than min.insync.replicas") // NOT_ENOUGH_REPLICAS
	ErrFencedLeaderEpoch  = errors.New("partition: leader epoch older than current")      // FENCED_LEADER_EPOCH
	ErrUnknownLeaderEpoch = errors.New("partition: leader epoch newer than current")      // UNKNOWN_LEADER_EPOCH
	ErrNotLeader          = errors.New("partition: this broker is not the leader")        // NOT_LEADER_OR_FOLLOWER
)

// State is a partition's placement and leadership, from the metadata image.
type State struct {
	Leader      int32
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
}

// Settings are the topic configs a partition itself enforces (the rest go
// to the storage log).
type Settings struct {
	MinInsyncReplicas int
}

// Partition is this broker's replica of one partition.
type Partition struct {
	Topic    string
	Index    int32
	nodeID   int32
	log      *storage.Log
	settings atomic.Pointer[Settings]

	mu struct {
		sync.Mutex
		state State
		// hw is the first offset not yet on every ISR member; hw <= LEO.
		hw int64
		// waiters get a non-blocking send when the log grows: each is a
		// long-polling fetch's wakeup channel (buffered, capacity 1).
		waiters []chan<- struct{}
	}
}

// New wraps an open log as a replica of topic/index on node nodeID.
func New(topic string, index int32, nodeID int32, log *storage.Log, st State, s Settings) *Partition {
	p := &Partition{Topic: topic, Index: index, nodeID: nodeID, log: log}
	p.settings.Store(&s)
	p.mu.state = st
	p.mu.hw = log.LogEndOffset() // single node: the leader is the whole ISR
	if st.Leader == nodeID && st.LeaderEpoch > log.LatestEpoch() {
		// A new leader epoch starts at the current log end.
		_ = log.AssignEpochStart(st.LeaderEpoch, log.LogEndOffset())
	}
	log.SetHighWatermark(p.mu.hw)
	return p
}

// Log is the underlying storage log.
func (p *Partition) Log() *storage.Log { return p.log }

// SetSettings applies new topic settings.
func (p *Partition) SetSettings(s Settings) { p.settings.Store(&s) }

// SetState applies a new leadership state from the metadata image.
func (p *Partition) SetState(st State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.Leader == p.nodeID && st.LeaderEpoch > p.log.LatestEpoch() {
		_ = p.log.AssignEpochStart(st.LeaderEpoch, p.log.LogEndOffset())
	}
	p.mu.state = st
}

// State returns the partition's leadership state.
func (p *Partition) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.state
}

// CheckLeaderEpoch validates a client's current leader epoch (-1: no
// check), as Kafka does for Fetch, ListOffsets and OffsetForLeaderEpoch.
func (p *Partition) CheckLeaderEpoch(epoch int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.checkLeaderLocked(epoch)
}

func (p *Partition) checkLeaderLocked(epoch int32) error {
	if p.mu.state.Leader != p.nodeID {
		return ErrNotLeader
	}
	switch {
	case epoch < 0 || epoch == p.mu.state.LeaderEpoch:
		return nil
	case epoch < p.mu.state.LeaderEpoch:
		return ErrFencedLeaderEpoch
	default:
		return ErrUnknownLeaderEpoch
	}
}

// Append writes the batches in b as the leader. acks is the producer's
// acks setting: with acks=-1 the ISR must have min.insync.replicas members.
// b is modified in place. It returns once the append may be acknowledged
// (after its fsync, when flush.messages calls for one).
func (p *Partition) Append(b []byte, acks int16) (storage.AppendResult, error) {
	res, err := p.AppendDeferSync(b, acks)
	if err != nil {
		return res, err
	}
	return res, p.FinishAppend(res)
}

// AppendDeferSync is Append without waiting for an fsync the append needs
// (res.SyncNeeded): the caller calls FinishAppend before acknowledging,
// and the high watermark stays where it is until then.
func (p *Partition) AppendDeferSync(b []byte, acks int16) (storage.AppendResult, error) {
	p.mu.Lock()
	if err := p.checkLeaderLocked(-1); err != nil {
		p.mu.Unlock()
		return storage.AppendResult{}, err
	}
	if acks == -1 && len(p.mu.state.ISR) < p.settings.Load().MinInsyncReplicas {
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
		p.advance()
	}
	return res, nil
}

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
	p.advanceTo(p.log.RecoveryPoint())
	return nil
}

// advance moves the HW to the log end (single node: ISR = leader) and
// wakes waiting fetches.
func (p *Partition) advance() { p.advanceTo(p.log.LogEndOffset()) }

// advanceTo moves the HW up to end (never down) and wakes waiting fetches.
func (p *Partition) advanceTo(end int64) {
	p.mu.Lock()
	if end > p.mu.hw {
		p.mu.hw = end
	}
	hw := p.mu.hw
	for _, ch := range p.mu.waiters {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
	p.mu.Unlock()
	p.log.SetHighWatermark(hw)
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
