package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// Store is what the controller needs of the metadata store (the Raft-backed
// metadata.Store): the image, conditional writes, leadership, and the
// controller RPC.
type Store interface {
	Image() *metadata.Image
	// Update runs fn on the image and writes its records if no other
	// change got in meanwhile (else runs fn again on the newer image).
	Update(fn func(*metadata.Image) ([]metadata.Record, error)) error
	IsLeader() bool
	OnLeadership(fn func(leader bool))
	Handle(method string, fn func(ctx context.Context, req json.RawMessage) (any, error))
	// Call runs method on the active controller, retrying on leader
	// changes until ctx ends.
	Call(ctx context.Context, method string, req, resp any) error
	Quorum() metadata.QuorumInfo
	// Sync waits until the image holds everything the quorum had
	// committed when Sync was called.
	Sync(ctx context.Context) error
}

// Options configure a Controller.
type Options struct {
	NodeID int32
	Store  Store
	// Config returns the broker's effective configuration (static values
	// with the dynamic ones laid over them).
	Config func() config.Broker
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Controller is the controller code every broker runs; it serves the
// controller RPCs, and while its node is the active controller (the Raft
// leader) it fences brokers whose session expired, elects leaders for
// leaderless partitions, completes reassignments and rebalances leaders.
type Controller struct {
	opts Options
	log  *slog.Logger

	ctx    context.Context // ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the active term's loop

	mu struct {
		sync.Mutex
		closed bool
		// endTerm stops the loop of the term this node is leader in; nil
		// while it is not the leader.
		endTerm context.CancelFunc
		// deadlines are the brokers' session ends, in this term only; a
		// broker first seen in a term gets firstGrace (see there).
		deadlines map[int32]time.Time
	}
}

// New starts the controller: it registers the RPC handlers with the store
// and follows the store's leadership.
func New(opts Options) *Controller {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Controller{opts: opts, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	s := opts.Store
	s.Handle(metadata.MethodRegisterBroker, rpc(c.register))
	s.Handle(metadata.MethodBrokerHeartbeat, rpc(c.heartbeat))
	s.Handle(metadata.MethodAlterPartition, rpc(c.alterPartition))
	s.Handle(metadata.MethodControlledShutdown, rpc(c.controlledShutdown))
	s.Handle(metadata.MethodReassign, rpc(c.reassign))
	s.Handle(metadata.MethodElectLeaders, rpc(c.electLeaders))
	s.Handle(metadata.MethodDescribeQuorum, func(context.Context, json.RawMessage) (any, error) {
		return s.Quorum(), nil
	})
	s.OnLeadership(c.onLeadership)
	if s.IsLeader() {
		c.onLeadership(true) // NB: idempotent; the store may also report it
	}
	return c
}

// rpc adapts a typed handler to the store's JSON one.
func rpc[Req, Resp any](fn func(Req) (Resp, error)) func(context.Context, json.RawMessage) (any, error) {
	return func(_ context.Context, raw json.RawMessage) (any, error) {
		var req Req
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("controller: decoding request: %w", err)
		}
		return fn(req)
	}
}

// Close stops the active term's loop.
func (c *Controller) Close() {
	c.mu.Lock()
	c.mu.closed = true
	if c.mu.endTerm != nil {
		c.mu.endTerm()
		c.mu.endTerm = nil
	}
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

func (c *Controller) onLeadership(leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed || leader == (c.mu.endTerm != nil) {
		return
	}
	if !leader {
		c.mu.endTerm()
		c.mu.endTerm = nil
		c.mu.deadlines = nil
		c.log.Info("no longer the active controller", "node_id", c.opts.NodeID)
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.mu.endTerm = cancel
	c.mu.deadlines = map[int32]time.Time{}
	c.log.Info("active controller", "node_id", c.opts.NodeID)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.term(ctx)
	}()
}

// reconcileEvery is how often the active controller looks for leaderless
// partitions and ready reassignments that no event handled.
const reconcileEvery = time.Second

// term is the active controller's loop: session checks every tick, the
// reconcile sweep and the leader rebalance at their intervals.
func (c *Controller) term(ctx context.Context) {
	bc := c.opts.Config()
	tick := time.NewTicker(min(time.Duration(bc.Int(config.BrokerHeartbeatIntervalMs))*time.Millisecond, 250*time.Millisecond))
	defer tick.Stop()
	now := c.opts.Now()
	nextReconcile := now
	nextRebalance := now.Add(c.rebalanceInterval(bc))
	last := now
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := c.opts.Now()
		if gap := now.Sub(last); gap > c.sessionTimeout()/2 {
			// This loop did not run for a good part of a session (the
			// process was paused or starved of CPU): the heartbeats that
			// came meanwhile may not have been counted either. Give every
			// broker the time back rather than fence live ones.
			c.extendSessions(gap)
			c.log.Warn("controller loop was late; extended every broker's session", "late_by", gap)
		}
		last = now
		c.fenceExpired(now)
		if !now.Before(nextReconcile) {
			nextReconcile = now.Add(reconcileEvery)
			c.write("reconcile", func(img *metadata.Image) ([]metadata.Record, error) {
				return Reconcile(img, c.opts.Config()), nil
			})
		}
		if bc := c.opts.Config(); !now.Before(nextRebalance) {
			nextRebalance = now.Add(c.rebalanceInterval(bc))
			if bc.Bool(config.AutoLeaderRebalanceEnable) {
				pct := int(bc.Int(config.LeaderImbalancePerBrokerPercentage))
				c.write("leader rebalance", func(img *metadata.Image) ([]metadata.Record, error) {
					return Rebalance(img, pct), nil
				})
			}
		}
	}
}

func (c *Controller) rebalanceInterval(bc config.Broker) time.Duration {
	return time.Duration(bc.Int(config.LeaderImbalanceCheckIntervalSeconds)) * time.Second
}

// write runs a decision of the active controller through Update and logs
// what it changed.
//
// NB: Update works from any node (it forwards to the leader), so a node
// that has just lost the leadership, and whose deadlines are stale (a
// paused process that resumes), must not decide anything: fn runs only
// while this node still leads.
func (c *Controller) write(what string, fn func(*metadata.Image) ([]metadata.Record, error)) {
	n := 0
	err := c.opts.Store.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		if !c.active() {
			n = 0
			return nil, nil
		}
		recs, err := fn(img)
		n = len(recs)
		return recs, err
	})
	switch {
	case err != nil:
		c.log.Warn("controller: "+what, "err", err)
	case n > 0:
		c.log.Info("controller: "+what, "records", n)
	}
}

// active reports whether this node leads the quorum and runs its term.
func (c *Controller) active() bool {
	c.mu.Lock()
	term := c.mu.endTerm != nil
	c.mu.Unlock()
	return term && c.opts.Store.IsLeader()
}

// extendSessions moves every broker's session end later by d.
func (c *Controller) extendSessions(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, t := range c.mu.deadlines {
		c.mu.deadlines[id] = t.Add(d)
	}
}

func (c *Controller) sessionTimeout() time.Duration {
	return time.Duration(c.opts.Config().Int(config.BrokerSessionTimeoutMs)) * time.Millisecond
}

// touch extends a broker's session, if this node is the active
// controller.
func (c *Controller) touch(id int32) {
	until := c.opts.Now().Add(c.sessionTimeout())
	c.mu.Lock()
	if c.mu.deadlines != nil {
		c.mu.deadlines[id] = until
	}
	c.mu.Unlock()
}

// firstGrace is the session a new controller gives a broker it has not
// heard from yet: half a session, but at least four heartbeats.
//
// NB: Kafka gives a full session, since the new controller cannot know
// when the old one last heard from a broker. But no broker could reach a
// controller during the election that preceded this term, so a dead
// broker has been silent for that long already, while a live one finds
// the new controller within a heartbeat or two. A full session on top of
// the election would put a dead leader that was also the controller past
// the 5 s failover.
func (c *Controller) firstGrace() time.Duration {
	bc := c.opts.Config()
	hb := time.Duration(bc.Int(config.BrokerHeartbeatIntervalMs)) * time.Millisecond
	session := c.sessionTimeout()
	return min(session, max(session/2, 4*hb))
}

// fenceExpired fences the unfenced brokers whose session ended.
func (c *Controller) fenceExpired(now time.Time) {
	expired := func(img *metadata.Image) []int32 {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.mu.deadlines == nil {
			return nil
		}
		var out []int32
		for _, id := range img.BrokerIDs() {
			if img.Brokers[id].Fenced {
				delete(c.mu.deadlines, id)
				continue
			}
			d, ok := c.mu.deadlines[id]
			if !ok {
				c.mu.deadlines[id] = now.Add(c.firstGrace())
				continue
			}
			if now.After(d) {
				out = append(out, id)
			}
		}
		return out
	}
	if len(expired(c.opts.Store.Image())) == 0 {
		return
	}
	var fenced []int32
	c.write("fencing brokers whose session expired", func(img *metadata.Image) ([]metadata.Record, error) {
		// NB: checked again on the image the write is conditional on: a
		// broker that registered again meanwhile has a new session.
		fenced = expired(img)
		return Fence(img, c.opts.Config(), fenced...), nil
	})
	if len(fenced) > 0 {
		c.log.Warn("fenced brokers: no heartbeat within broker.session.timeout.ms", "brokers", fenced)
	}
}

// errNotApplied wraps decisions that did not reach the image.
var errNotApplied = errors.New("controller: change not written")

// decide runs a decision through Update and returns its answer as of the
// image the records were written against.
func decide[Resp any](c *Controller, fn func(*metadata.Image) ([]metadata.Record, Resp)) (Resp, error) {
	var resp Resp
	err := c.opts.Store.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		var recs []metadata.Record
		recs, resp = fn(img)
		return recs, nil
	})
	if err != nil {
		var zero Resp
		return zero, fmt.Errorf("%w: %w", errNotApplied, err)
	}
	return resp, nil
}

func (c *Controller) register(req metadata.RegisterBrokerRequest) (metadata.RegisterBrokerResponse, error) {
	var epoch int64
	err := c.opts.Store.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		recs, e, err := Register(img, c.opts.Config(), req.Broker)
		epoch = e
		return recs, err
	})
	if err != nil {
		return metadata.RegisterBrokerResponse{}, err
	}
	c.touch(req.Broker.NodeID)
	c.log.Info("registered broker", "node_id", req.Broker.NodeID, "addr", fmt.Sprintf("%s:%d", req.Broker.Host, req.Broker.Port), "epoch", epoch)
	return metadata.RegisterBrokerResponse{BrokerEpoch: epoch}, nil
}

func (c *Controller) heartbeat(req metadata.BrokerHeartbeatRequest) (metadata.BrokerHeartbeatResponse, error) {
	resp, ok := Heartbeat(c.opts.Store.Image(), req)
	if ok {
		c.touch(req.NodeID)
	}
	return resp, nil
}

func (c *Controller) alterPartition(req metadata.AlterPartitionRequest) (metadata.AlterPartitionResponse, error) {
	resp, err := decide(c, func(img *metadata.Image) ([]metadata.Record, metadata.AlterPartitionResponse) {
		return AlterPartition(img, c.opts.Config(), req)
	})
	if err == nil && resp.ErrorCode == 0 && Reassigning(resp.State) {
		// The ISR change may have readied a reassignment that moves the
		// leader (see AlterPartition): complete it now rather than at the
		// next sweep.
		c.write("completing a reassignment", func(img *metadata.Image) ([]metadata.Record, error) {
			return Reconcile(img, c.opts.Config()), nil
		})
	}
	return resp, err
}

func (c *Controller) controlledShutdown(req metadata.ControlledShutdownRequest) (metadata.ControlledShutdownResponse, error) {
	resp, err := decide(c, func(img *metadata.Image) ([]metadata.Record, metadata.ControlledShutdownResponse) {
		return ControlledShutdown(img, c.opts.Config(), req)
	})
	if err == nil && resp.ErrorCode == 0 {
		c.log.Info("controlled shutdown of broker", "node_id", req.NodeID, "remaining_leaderships", resp.Remaining)
	}
	return resp, err
}

func (c *Controller) reassign(req metadata.ReassignRequest) (metadata.ReassignResponse, error) {
	return decide(c, func(img *metadata.Image) ([]metadata.Record, metadata.ReassignResponse) {
		return Reassign(img, c.opts.Config(), req)
	})
}

func (c *Controller) electLeaders(req metadata.ElectLeadersRequest) (metadata.ElectLeadersResponse, error) {
	return decide(c, func(img *metadata.Image) ([]metadata.Record, metadata.ElectLeadersResponse) {
		return Elect(img, c.opts.Config(), req)
	})
}

// Reassign sends AlterPartitionReassignments to the active controller.
func (c *Controller) Reassign(ctx context.Context, req metadata.ReassignRequest) (metadata.ReassignResponse, error) {
	var resp metadata.ReassignResponse
	err := c.opts.Store.Call(ctx, metadata.MethodReassign, req, &resp)
	return resp, err
}

// ElectLeaders sends ElectLeaders to the active controller.
func (c *Controller) ElectLeaders(ctx context.Context, req metadata.ElectLeadersRequest) (metadata.ElectLeadersResponse, error) {
	var resp metadata.ElectLeadersResponse
	err := c.opts.Store.Call(ctx, metadata.MethodElectLeaders, req, &resp)
	return resp, err
}

// DescribeQuorum returns the quorum as the active controller sees it.
func (c *Controller) DescribeQuorum(ctx context.Context) (metadata.QuorumInfo, error) {
	if c.opts.Store.IsLeader() {
		return c.opts.Store.Quorum(), nil
	}
	var q metadata.QuorumInfo
	err := c.opts.Store.Call(ctx, metadata.MethodDescribeQuorum, struct{}{}, &q)
	return q, err
}
