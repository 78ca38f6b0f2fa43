package metadata

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// leadership.go: who the active controller is. The Raft leader is the
// active controller; every node watches the library's observations (and
// polls, since observations may be dropped) and publishes changes of
// leader as Image.ControllerID. This node announces its own leadership
// (IsLeader, OnLeadership(true)) only after a barrier: by then every entry
// of earlier terms is applied here, so the controller starts from the
// whole image.

type leadership struct {
	mu struct {
		sync.Mutex
		leaderID  int32 // -1: unknown
		leaderAdr string
		isLeader  bool // announced: after the barrier
		fns       []func(bool)
		stopped   bool
	}
	// reload, for a lone voter, holds the configured timeouts to switch to
	// once it leads (see raftConfig). Owned by the watch goroutine.
	reload *raft.ReloadableConfig
	// elected is closed the first time this node announces leadership.
	elected chan struct{}
}

func (l *leadership) init() {
	l.mu.leaderID = -1
	l.elected = make(chan struct{})
}

// leaderPoll is how often the watcher rechecks the leader in case an
// observation was dropped.
const leaderPoll = 100 * time.Millisecond

// barrierTimeout bounds the barrier a new leader issues before it
// announces itself.
const barrierTimeout = 5 * time.Second

func (s *Store) startLeadershipWatch() {
	obs := make(chan raft.Observation, 64)
	o := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(o)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.raft.DeregisterObserver(o)
		t := time.NewTicker(leaderPoll)
		defer t.Stop()
		for {
			s.observeLeader()
			select {
			case <-s.ctx.Done():
				return
			case <-obs:
			case <-t.C:
			}
		}
	}()
}

// observeLeader reads the library's view of the leader and publishes any
// change. Only the watch goroutine calls it.
func (s *Store) observeLeader() {
	addr, id := s.raft.LeaderWithID()
	leaderID := int32(-1)
	if id != "" {
		leaderID = parseServerID(id)
	}
	isLeader := s.raft.State() == raft.Leader
	s.lead.mu.Lock()
	was := s.lead.mu.isLeader
	s.lead.mu.Unlock()
	if isLeader && !was {
		// Apply everything of earlier terms before acting as the
		// controller. If leadership is lost meanwhile, the barrier fails
		// and the next observation sorts it out.
		ctx, cancel := context.WithTimeout(s.ctx, barrierTimeout)
		err := s.await(ctx, s.raft.Barrier(barrierTimeout))
		cancel()
		if err != nil {
			s.log.Info("metadata: barrier after election failed", "err", err)
			return
		}
		if r := s.lead.reload; r != nil {
			if err := s.raft.ReloadConfig(*r); err != nil {
				s.log.Warn("metadata: setting raft timeouts", "err", err)
			}
			s.lead.reload = nil
		}
		leaderID, addr = s.opts.NodeID, s.trans.LocalAddr()
		s.fixOwnAddress()
	}
	if !isLeader && leaderID == s.opts.NodeID {
		leaderID = -1 // stepping down: the library still names us
	}

	s.lead.mu.Lock()
	if s.lead.mu.stopped {
		s.lead.mu.Unlock()
		return
	}
	changedLeader := leaderID != s.lead.mu.leaderID
	s.lead.mu.leaderID, s.lead.mu.leaderAdr = leaderID, string(addr)
	s.lead.mu.isLeader = isLeader
	fns := s.lead.mu.fns
	s.lead.mu.Unlock()

	if changedLeader {
		s.log.Info("metadata: controller changed", "controller_id", leaderID)
		s.pub.Lock()
		next := *s.img.Load()
		next.ControllerID = leaderID
		s.publishLocked(&next)
		s.pub.Unlock()
	}
	if isLeader != was {
		if isLeader {
			s.log.Info("metadata: this node is the active controller")
			select {
			case <-s.lead.elected:
			default:
				close(s.lead.elected)
			}
		} else {
			s.log.Info("metadata: this node is no longer the active controller")
		}
		for _, fn := range fns {
			fn(isLeader)
		}
	}
}

// stop tells the OnLeadership callbacks that this node stops leading (at
// Close) and ignores any later observation.
func (l *leadership) stop(s *Store) {
	l.mu.Lock()
	was := l.mu.isLeader
	l.mu.isLeader, l.mu.stopped = false, true
	fns := l.mu.fns
	l.mu.Unlock()
	if was {
		for _, fn := range fns {
			fn(false)
		}
	}
}

// IsLeader reports whether this node is the active controller.
func (s *Store) IsLeader() bool {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	return s.lead.mu.isLeader
}

// LeaderID is the active controller's node id, -1 if unknown.
func (s *Store) LeaderID() int32 {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	return s.lead.mu.leaderID
}

// leader returns the leader's id and controller address as last observed.
func (s *Store) leader() (int32, string) {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	return s.lead.mu.leaderID, s.lead.mu.leaderAdr
}

// OnLeadership registers fn to be called with true when this node becomes
// the active controller and false when it stops (including at Close). If
// it already leads, fn(true) is called at once. Calls come from one
// goroutine, in order; fn must not block for long.
func (s *Store) OnLeadership(fn func(leader bool)) {
	s.lead.mu.Lock()
	s.lead.mu.fns = append(s.lead.mu.fns, fn)
	now := s.lead.mu.isLeader
	s.lead.mu.Unlock()
	if now {
		fn(true)
	}
}

// waitLeader waits until this node has announced leadership once.
func (s *Store) waitLeader(ctx context.Context) error {
	select {
	case <-s.lead.elected:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fixOwnAddress updates this node's address in the quorum configuration
// when it differs from the transport's (a node that ran alone on the
// in-memory transport and now has a controller listener, or whose
// controller listener moved). Only the leader can change the
// configuration; followers are corrected when they lead or by AddNonvoter
// at join.
func (s *Store) fixOwnAddress() {
	ctx, cancel := context.WithTimeout(s.ctx, barrierTimeout)
	defer cancel()
	f := s.raft.GetConfiguration()
	if s.await(ctx, f) != nil {
		return
	}
	want := s.trans.LocalAddr()
	for _, srv := range f.Configuration().Servers {
		if srv.ID != s.id || srv.Address == want {
			continue
		}
		s.log.Info("metadata: updating this node's controller address in the quorum", "old", srv.Address, "new", want)
		var err error
		if srv.Suffrage == raft.Voter {
			err = s.await(ctx, s.raft.AddVoter(s.id, want, 0, barrierTimeout))
		} else {
			err = s.await(ctx, s.raft.AddNonvoter(s.id, want, 0, barrierTimeout))
		}
		if err != nil {
			s.log.Warn("metadata: updating this node's controller address", "err", err)
		}
	}
}

// await waits for a future of the library, or for ctx.
//
// NB: a future of an entry the leader had dispatched when it shut down
// can stay unanswered (Barrier's has no shutdown channel); waiting on
// Error() alone hung a Close. The goroutine left behind ends if the
// future is ever answered.
func (s *Store) await(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if s.ctx.Err() != nil {
			return ErrClosed
		}
		return ctx.Err()
	}
}
