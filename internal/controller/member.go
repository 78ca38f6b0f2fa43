package controller

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// member.go: the broker's side of the controller protocol (Kafka's
// BrokerLifecycleManager): register at start, heartbeat every
// broker.heartbeat.interval.ms, register again when the controller says
// the broker is fenced or its epoch is stale, and on shutdown ask for a
// controlled shutdown.

// MemberOptions configure a Member.
type MemberOptions struct {
	Store Store
	// Self is this broker's registration (id, advertised address, rack,
	// controller listener); Fenced and Epoch are the controller's.
	Self   metadata.Broker
	Config func() config.Broker
	Logger *slog.Logger
}

// Member is a broker's membership in the cluster.
type Member struct {
	opts  MemberOptions
	log   *slog.Logger
	epoch atomic.Int64 // the broker epoch of the last registration

	ctx      context.Context // ended by Shutdown
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the heartbeat loop
	shutdown sync.Once
}

// NewMember returns a member that has not registered yet.
func NewMember(opts MemberOptions) *Member {
	m := &Member{opts: opts, log: opts.Logger}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// syncWait bounds how long a stopping broker waits to learn the current
// metadata before its controlled shutdown.
const syncWait = 2 * time.Second

// retryBackoff is the wait between registration attempts and after a
// failed heartbeat; the store's Call already waits for a leader.
const retryBackoff = 100 * time.Millisecond

// Register registers the broker with the active controller, retrying
// until it succeeds or ctx ends (a cluster's first broker waits here for
// a quorum), then starts the heartbeats.
func (m *Member) Register(ctx context.Context) error {
	if err := m.register(ctx); err != nil {
		return err
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.heartbeatLoop()
	}()
	return nil
}

func (m *Member) register(ctx context.Context) error {
	logged := time.Now()
	for {
		var resp metadata.RegisterBrokerResponse
		cctx, cancel := context.WithTimeout(ctx, m.sessionTimeout())
		err := m.opts.Store.Call(cctx, metadata.MethodRegisterBroker, metadata.RegisterBrokerRequest{Broker: m.opts.Self}, &resp)
		cancel()
		if err == nil {
			m.epoch.Store(resp.BrokerEpoch)
			m.log.Info("registered with the controller", "node_id", m.opts.Self.NodeID, "broker_epoch", resp.BrokerEpoch)
			return nil
		}
		if time.Since(logged) > 5*time.Second {
			logged = time.Now()
			m.log.Warn("waiting for the controller quorum to register", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryBackoff):
		}
	}
}

// Epoch is the broker epoch of the current registration.
func (m *Member) Epoch() int64 { return m.epoch.Load() }

func (m *Member) sessionTimeout() time.Duration {
	return time.Duration(m.opts.Config().Int(config.BrokerSessionTimeoutMs)) * time.Millisecond
}

func (m *Member) heartbeatLoop() {
	next := time.Now()
	for {
		// NB: on a fixed schedule, not an interval after the last answer:
		// a slow answer must not stretch the gap the controller sees.
		interval := time.Duration(m.opts.Config().Int(config.BrokerHeartbeatIntervalMs)) * time.Millisecond
		next = next.Add(interval)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		var resp metadata.BrokerHeartbeatResponse
		req := metadata.BrokerHeartbeatRequest{NodeID: m.opts.Self.NodeID, BrokerEpoch: m.Epoch(), MetadataOffset: m.opts.Store.Image().Offset}
		// NB: bounded by the session: a heartbeat that cannot reach a
		// controller for that long is late anyway, and the next one
		// should go to whichever controller is there by then.
		ctx, cancel := context.WithTimeout(m.ctx, m.sessionTimeout())
		err := m.opts.Store.Call(ctx, metadata.MethodBrokerHeartbeat, req, &resp)
		cancel()
		switch {
		case err != nil:
			if m.ctx.Err() == nil {
				m.log.Debug("heartbeat", "err", err)
			}
		case resp.Fenced || resp.ErrorCode == kerr.StaleBrokerEpoch.Code:
			m.log.Warn("the controller fenced this broker; registering again", "fenced", resp.Fenced, "error_code", resp.ErrorCode)
			if err := m.register(m.ctx); err != nil {
				return // shutting down
			}
		}
	}
}

// Shutdown stops the heartbeats and, with controlled.shutdown.enable,
// asks the controller to move this broker's leaderships away and fence
// it, up to controlled.shutdown.max.retries attempts. It returns when
// that is done or given up: the broker stops either way. Only the first
// call does anything.
func (m *Member) Shutdown() { m.shutdown.Do(m.stop) }

func (m *Member) stop() {
	m.cancel()
	m.wg.Wait()
	bc := m.opts.Config()
	if !bc.Bool(config.ControlledShutdownEnable) || m.Epoch() == 0 {
		return
	}
	// NB: the image must be current to tell whether another broker is
	// alive (the others may have stopped a moment ago), and if it cannot
	// be brought up to date there is no quorum to act on a controlled
	// shutdown: the last brokers of a cluster that is stopping as a whole
	// would otherwise wait out every attempt.
	ctx, cancel := context.WithTimeout(context.Background(), min(m.sessionTimeout(), syncWait))
	err := m.opts.Store.Sync(ctx)
	cancel()
	if err != nil {
		m.log.Warn("stopping without a controlled shutdown: the controller quorum does not answer", "err", err)
		return
	}
	if !m.othersAlive() {
		return // nowhere to move leadership to
	}
	attempts := int(bc.Int(config.ControlledShutdownMaxRetries))
	backoff := time.Duration(bc.Int(config.ControlledShutdownRetryBackoffMs)) * time.Millisecond
	req := metadata.ControlledShutdownRequest{NodeID: m.opts.Self.NodeID, BrokerEpoch: m.Epoch()}
	for i := range attempts {
		if i > 0 {
			time.Sleep(backoff)
		}
		var resp metadata.ControlledShutdownResponse
		ctx, cancel := context.WithTimeout(context.Background(), m.sessionTimeout())
		err := m.opts.Store.Call(ctx, metadata.MethodControlledShutdown, req, &resp)
		cancel()
		switch {
		case err != nil:
			m.log.Warn("controlled shutdown", "attempt", i+1, "err", err)
		case resp.ErrorCode != 0:
			m.log.Warn("controlled shutdown refused", "error", kerr.ErrorForCode(resp.ErrorCode))
			return
		case resp.Remaining > 0:
			m.log.Warn("controlled shutdown: leaderships remain", "attempt", i+1, "remaining", resp.Remaining)
		default:
			m.log.Info("controlled shutdown done")
			return
		}
	}
	m.log.Warn("stopping without a complete controlled shutdown")
}

// othersAlive reports whether any other broker is registered and unfenced.
func (m *Member) othersAlive() bool {
	img := m.opts.Store.Image()
	for id, b := range img.Brokers {
		if id != m.opts.Self.NodeID && !b.Fenced {
			return true
		}
	}
	return false
}
