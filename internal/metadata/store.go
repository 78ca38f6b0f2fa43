package metadata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Options configure a Store.
type Options struct {
	// Dir holds the Raft log and stable store (raft.db) and the snapshots
	// (<data-dir>/_metadata).
	Dir    string
	NodeID int32
	// ControllerListen is the host:port of this node's controller listener
	// (Raft and the controller RPC on one port). "" is allowed only for a
	// lone voter, which then runs on an in-memory transport.
	ControllerListen string
	// ControllerListener, if set, is used instead of listening on
	// ControllerListen (tests pre-bind port 0 so every node's address is
	// known before any starts). The Store closes it.
	ControllerListener net.Listener
	// ControllerAdvertised is the address other members dial for this
	// node when it is not a voter ("" : ControllerListen, with a wildcard
	// host taken as 127.0.0.1). A voter is dialled at its Voters entry.
	ControllerAdvertised string
	// Voters maps node id to controller address; this node is a voter iff
	// its id is in it. Empty means {NodeID: ControllerListen}: one node.
	Voters map[int32]string
	Logger *slog.Logger

	// ElectionTimeout and FetchTimeout are Kafka's
	// controller.quorum.election.timeout.ms and
	// controller.quorum.fetch.timeout.ms (see raftConfig); zero means 1 s
	// and 2 s.
	ElectionTimeout, FetchTimeout time.Duration
	// SnapshotThreshold (log entries), SnapshotInterval and TrailingLogs
	// override the Raft library's snapshot settings when non-zero (tests
	// set them low to exercise catching up from a snapshot).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
}

// Store is this node's copy of the cluster metadata: a Raft node of the
// metadata quorum (voter or non-voter) whose state machine is the Image.
type Store struct {
	opts   Options
	log    *slog.Logger
	id     raft.ServerID
	voters map[int32]string
	lone   bool // the only voter: a quorum of one

	raft      *raft.Raft
	trans     raft.Transport
	bolt      *raftboltdb.BoltStore
	mux       *mux          // the controller listener; nil on the in-memory transport
	closeMux  func() error  // closes mux
	importing chan struct{} // closed when the journal import is done (or not needed)

	// img is the current image; written only under pub.
	img atomic.Pointer[Image]

	// pub serializes publishing images: the FSM goroutine (records) and
	// the leadership watcher (ControllerID) both publish, and subscribers
	// must see one ordered sequence.
	pub struct {
		sync.Mutex
		subs []func(*Image)
		// changed is closed when the next image is published.
		changed chan struct{}
	}

	// applied remembers recent conditional commands (see appliedIDs).
	applied appliedIDs

	// writeMu serializes this node's Updates, so they never conflict
	// with each other (only with other nodes').
	writeMu sync.Mutex

	lead    leadership
	rpc     rpcState
	reports reports

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// dialCtx ends the Raft transport's waits for unreachable peers; it
	// outlives ctx in Close so the hand-over can still reach a peer.
	dialCtx    context.Context
	cancelDial context.CancelFunc

	closeOnce sync.Once
	closeErr  error
	// noHandOver makes Close stop as a crash would, without handing
	// leadership over (tests measure failover with it).
	noHandOver bool
}

const (
	raftDBName = "raft.db"
	// snapshotsRetained is how many snapshots the FileSnapshotStore keeps.
	snapshotsRetained = 2
	// loneStartTimeout bounds how long Open waits for a lone voter to
	// elect itself (it takes tens of milliseconds).
	loneStartTimeout = 10 * time.Second
)

// ErrClosed is returned by writes to a closed Store.
var ErrClosed = errors.New("metadata: store closed")

// Open starts this node's metadata Raft node on opts.Dir: it creates and
// bootstraps the quorum on first start (every voter bootstraps with the
// same voter set, so no format step is needed), recovers the image from
// the latest snapshot, and imports a pre-Raft journal once. A lone voter
// is the leader and fully caught up when Open returns; in a cluster Open
// does not wait for a quorum.
func Open(opts Options) (_ *Store, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	voters := opts.Voters
	if len(voters) == 0 {
		voters = map[int32]string{opts.NodeID: opts.ControllerListen}
	}
	_, isVoter := voters[opts.NodeID]
	s := &Store{
		opts:      opts,
		log:       opts.Logger.With("node_id", opts.NodeID),
		id:        serverID(opts.NodeID),
		voters:    voters,
		lone:      isVoter && len(voters) == 1,
		importing: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.dialCtx, s.cancelDial = context.WithCancel(context.Background())
	s.pub.changed = make(chan struct{})
	s.lead.init()
	s.rpc.init()
	s.reports.mu.byNode = map[int32]memberReport{}
	s.img.Store(emptyImage())
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	journal, err := readOldJournal(opts.Dir)
	if err != nil {
		return nil, err
	}
	if s.trans, err = s.openTransport(); err != nil {
		return nil, err
	}
	if s.bolt, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(opts.Dir, raftDBName)}); err != nil {
		return nil, fmt.Errorf("metadata: opening raft log: %w", err)
	}
	hlog := newHclog(s.log)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(opts.Dir, snapshotsRetained, hlog)
	if err != nil {
		return nil, fmt.Errorf("metadata: opening snapshots: %w", err)
	}
	logs, err := raft.NewLogCache(512, s.bolt)
	if err != nil {
		return nil, err
	}
	conf := s.raftConfig(hlog)
	has, err := raft.HasExistingState(logs, s.bolt, snaps)
	if err != nil {
		return nil, fmt.Errorf("metadata: reading raft state: %w", err)
	}
	if !has && isVoter {
		if err := raft.BootstrapCluster(conf, logs, s.bolt, snaps, s.trans, s.initialConfiguration()); err != nil {
			return nil, fmt.Errorf("metadata: bootstrapping the quorum: %w", err)
		}
	}
	if s.raft, err = raft.NewRaft(conf, fsm{s}, logs, s.bolt, snaps, s.trans); err != nil {
		return nil, fmt.Errorf("metadata: starting raft: %w", err)
	}
	s.startLeadershipWatch()
	s.startReports()
	if !isVoter {
		s.startJoin()
	}
	s.startImport(journal)
	if s.lone {
		ctx, cancel := context.WithTimeout(s.ctx, loneStartTimeout)
		defer cancel()
		if err := s.waitLeader(ctx); err != nil {
			return nil, fmt.Errorf("metadata: the single node did not become the controller: %w", err)
		}
		select {
		case <-s.importing:
		case <-ctx.Done():
			return nil, fmt.Errorf("metadata: importing the old journal: %w", ctx.Err())
		}
	}
	return s, nil
}

func serverID(id int32) raft.ServerID { return raft.ServerID(strconv.Itoa(int(id))) }

func parseServerID(id raft.ServerID) int32 {
	n, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

// raftConfig maps Kafka's quorum timeouts to the library's.
//
// Kafka's fetch timeout is the longest a voter goes without hearing from
// the leader before it stands for election; the library waits a random
// time between HeartbeatTimeout and twice that, so HeartbeatTimeout is
// half the fetch timeout (1 s: a dead leader is noticed in 1-2 s). The
// election timeout bounds a candidate's wait for votes (the library needs
// it >= HeartbeatTimeout). The leader steps down after LeaderLeaseTimeout
// without a majority, as Kafka's leader does after its fetch timeout.
//
// A lone voter has no one to wait for: it starts with millisecond timeouts
// so a single node elects itself at once, and switches to the configured
// ones once it leads (so heartbeats to non-voters that join later are not
// sent every millisecond).
func (s *Store) raftConfig(hlog hclog.Logger) *raft.Config {
	election, fetch := s.opts.ElectionTimeout, s.opts.FetchTimeout
	if election <= 0 {
		election = time.Second
	}
	if fetch <= 0 {
		fetch = 2 * time.Second
	}
	c := raft.DefaultConfig()
	c.LocalID = s.id
	c.Logger = hlog
	c.HeartbeatTimeout = max(fetch/2, 10*time.Millisecond)
	c.ElectionTimeout = max(election, c.HeartbeatTimeout)
	c.LeaderLeaseTimeout = c.HeartbeatTimeout / 2
	c.CommitTimeout = 5 * time.Millisecond
	if s.lone {
		s.lead.reload = &raft.ReloadableConfig{
			TrailingLogs: c.TrailingLogs, SnapshotInterval: c.SnapshotInterval, SnapshotThreshold: c.SnapshotThreshold,
			HeartbeatTimeout: c.HeartbeatTimeout, ElectionTimeout: c.ElectionTimeout,
		}
		c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 10*time.Millisecond, 10*time.Millisecond, 10*time.Millisecond
	}
	if s.opts.SnapshotThreshold > 0 {
		c.SnapshotThreshold = s.opts.SnapshotThreshold
	}
	if s.opts.SnapshotInterval > 0 {
		c.SnapshotInterval = s.opts.SnapshotInterval
	}
	if s.opts.TrailingLogs > 0 {
		c.TrailingLogs = s.opts.TrailingLogs
	}
	if r := s.lead.reload; r != nil {
		r.TrailingLogs, r.SnapshotInterval, r.SnapshotThreshold = c.TrailingLogs, c.SnapshotInterval, c.SnapshotThreshold
	}
	return c
}

// initialConfiguration is the voter set every voter bootstraps with.
func (s *Store) initialConfiguration() raft.Configuration {
	var c raft.Configuration
	for id, addr := range s.voters {
		a := raft.ServerAddress(addr)
		if id == s.opts.NodeID {
			a = s.trans.LocalAddr()
		}
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: serverID(id), Address: a})
	}
	return c
}

// Image returns the current image. It is immutable.
func (s *Store) Image() *Image { return s.img.Load() }

// Subscribe registers fn to be called with every new image, in order: at
// once with the current image, then as committed records apply and when
// the controller changes. fn runs on the state machine's goroutine with
// publishing held, so it must not call Update or Propose (they wait for
// that goroutine) and should be quick.
func (s *Store) Subscribe(fn func(*Image)) {
	s.pub.Lock()
	defer s.pub.Unlock()
	s.pub.subs = append(s.pub.subs, fn)
	fn(s.img.Load())
}

// publishLocked makes next the current image and tells the subscribers.
func (s *Store) publishLocked(next *Image) {
	s.img.Store(next)
	for _, fn := range s.pub.subs {
		fn(next)
	}
	close(s.pub.changed)
	s.pub.changed = make(chan struct{})
}

// changed returns a channel closed at the next publish.
func (s *Store) changed() <-chan struct{} {
	s.pub.Lock()
	defer s.pub.Unlock()
	return s.pub.changed
}

// handOver, on a leader with other voters, hands leadership to the most
// up-to-date of them before this node stops, so the quorum has a new
// controller in milliseconds instead of after a fetch timeout.
func (s *Store) handOver() {
	if s.noHandOver || s.raft.State() != raft.Leader || len(s.voters) < 2 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), barrierTimeout)
	defer cancel()
	if err := s.await(ctx, s.raft.LeadershipTransfer()); err != nil {
		s.log.Info("metadata: handing leadership over before stopping", "err", err)
	}
}

// Close leaves the quorum's work to the others: it stops the controller
// (OnLeadership(false)), hands leadership over if it leads, shuts the
// Raft node down and closes its files.
// Writes after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		var errs []error
		if s.raft != nil {
			s.lead.stop(s)
			s.handOver()
			s.cancelDial()
			errs = append(errs, s.raft.Shutdown().Error())
		}
		s.cancelDial()
		if s.closeMux != nil {
			errs = append(errs, s.closeMux())
		} else if s.opts.ControllerListener != nil {
			errs = append(errs, s.opts.ControllerListener.Close())
		}
		if nt, ok := s.trans.(*raft.NetworkTransport); ok {
			nt.CloseStreams()
		}
		if c, ok := s.trans.(interface{ Close() error }); ok {
			errs = append(errs, c.Close())
		}
		s.closeConns()
		s.wg.Wait()
		if s.bolt != nil {
			errs = append(errs, s.bolt.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
