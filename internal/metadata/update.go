package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// update.go: the doors for changes. Update and Propose run on any node;
// the records go to the active controller (the Raft leader), which appends
// them to the log; they return once the records are applied on this node.

// UpdateTimeout bounds an Update: Kafka's request.timeout.ms, the longest
// a client would wait for the answer anyway. Without a quorum an Update
// fails after it instead of hanging its caller.
const UpdateTimeout = 30 * time.Second

// conflictWait bounds the wait for the change that made an Update's
// precondition fail: normally it arrives within a round trip; a leader
// that has not applied its predecessor's last entries yet may have
// refused with an offset behind ours, and then we simply try again.
const conflictWait = 50 * time.Millisecond

// Built-in controller RPCs: append a command; report the offset of
// everything committed so far.
const (
	methodPropose = "metadata.propose"
	methodSync    = "metadata.sync"
)

// proposeResponse is the image offset after the command was applied on
// the leader.
type proposeResponse struct {
	Offset int64 `json:"offset"`
}

// Update runs fn on this node's current image and writes the records it
// returns, on the condition that no other change reached the log first;
// otherwise it waits for that change and runs fn again. If fn returns an
// error or no records, nothing is written. It returns after the records
// are applied on this node, so the caller's next Image() shows them.
func (s *Store) Update(fn func(img *Image) ([]Record, error)) error {
	ctx, cancel := context.WithTimeout(s.ctx, UpdateTimeout)
	defer cancel()
	return s.UpdateContext(ctx, fn)
}

// UpdateContext is Update bounded by ctx.
func (s *Store) UpdateContext(ctx context.Context, fn func(img *Image) ([]Record, error)) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for {
		changed := s.changed()
		cur := s.Image()
		recs, err := fn(cur)
		if err != nil || len(recs) == 0 {
			return err
		}
		off := cur.Offset
		err = s.propose(ctx, command{Records: recs, IfOffset: &off, ID: NewUUID().String()})
		if !errors.Is(err, ErrConflict) {
			return err
		}
		t := time.NewTimer(conflictWait)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return s.ctxErr(ctx)
		}
		t.Stop()
	}
}

// Propose writes recs with no precondition (the controller's writes, which
// carry their own checks such as the partition epoch). It returns after
// they are applied on this node, or the state machine's reason for
// rejecting them.
func (s *Store) Propose(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	return s.propose(ctx, command{Records: recs})
}

// propose sends cmd to the leader and waits until it is applied here.
func (s *Store) propose(ctx context.Context, cmd command) error {
	var resp proposeResponse
	if err := s.Call(ctx, methodPropose, cmd, &resp); err != nil {
		return err
	}
	return s.waitOffset(ctx, resp.Offset)
}

// waitOffset waits until this node's image has reached offset.
func (s *Store) waitOffset(ctx context.Context, offset int64) error {
	for {
		changed := s.changed()
		if s.Image().Offset >= offset {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s.ctxErr(ctx)
		}
	}
}

// ctxErr names why a wait ended: the store closing or the caller's ctx.
func (s *Store) ctxErr(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return fmt.Errorf("metadata: no answer from the controller quorum: %w", ctx.Err())
}

// handlePropose runs on the leader: it appends the command and returns the
// state machine's answer.
func (s *Store) handlePropose(ctx context.Context, req json.RawMessage) (any, error) {
	var cmd command
	if err := json.Unmarshal(req, &cmd); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
	}
	timeout := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	f := s.raft.Apply(req, timeout)
	if err := s.await(ctx, f); err != nil {
		return nil, leaderError(err)
	}
	res, ok := f.Response().(*applyResult)
	if !ok {
		return nil, fmt.Errorf("metadata: unexpected apply result %T", f.Response())
	}
	if res.err != nil {
		return nil, res.err
	}
	return proposeResponse{Offset: res.offset}, nil
}

// errNotLeader means the request reached a node that is not (or no
// longer) the active controller; callers retry on the new one.
var errNotLeader = errors.New("metadata: not the active controller")

// leaderError maps the library's errors of a lost or missing leadership
// to errNotLeader so Call retries them.
//
// NB: with ErrLeadershipLost the entry may still commit under the next
// leader. Retrying is safe for Update (its precondition then fails and fn
// runs again on the new image) and for the controller's partition changes
// (the partition epoch refuses a second copy).
func leaderError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w: %v", errNotLeader, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("metadata: timed out appending to the log: %w", context.DeadlineExceeded)
	}
	return err
}

// Sync waits until this node's image holds every change the quorum had
// committed when Sync was called (a restarted node starts from its last
// snapshot and learns the rest from the leader).
func (s *Store) Sync(ctx context.Context) error {
	var resp proposeResponse
	if err := s.Call(ctx, methodSync, struct{}{}, &resp); err != nil {
		return err
	}
	return s.waitOffset(ctx, resp.Offset)
}

// handleSync runs on the leader: after the barrier every committed entry
// is applied here, so our offset covers them all.
func (s *Store) handleSync(ctx context.Context, _ json.RawMessage) (any, error) {
	timeout := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	if err := s.await(ctx, s.raft.Barrier(timeout)); err != nil {
		return nil, leaderError(err)
	}
	return proposeResponse{Offset: s.Image().Offset}, nil
}
