package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/controller"
	"github.com/strata-io/strata/internal/group"
	"github.com/strata-io/strata/internal/handlers"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/storage"
	"github.com/strata-io/strata/internal/txn"
)

// Options are the parts of a broker that are not Kafka configs.
type Options struct {
	// Logger receives the broker's structured logs; nil discards them.
	Logger *slog.Logger
	// ControllerListener, if set, serves the CONTROLLER listener instead
	// of a new listen on its configured address (tests pre-bind port 0
	// so that every node's address is known before any starts).
	ControllerListener net.Listener
}

// Broker is one running Strata broker.
type Broker struct {
	static config.Broker
	log    *slog.Logger
	nodeID int32
	ln     net.Listener
	lock   *os.File // exclusive lock on the data directory
	meta   *metadata.Store
	// ctrl is the controller code (active while this node leads the
	// metadata quorum); member is this broker's registration and
	// heartbeats.
	ctrl   *controller.Controller
	member *controller.Member
	logs   *storage.Manager
	parts  *partition.Set
	repl   *partition.Replication
	groups *group.Coordinator
	env    *handlers.Env
	// cfg is the effective broker config: static values with the dynamic
	// ones from the metadata image laid over them. Replaced on every
	// metadata change.
	cfg atomic.Pointer[config.Broker]
	// applyMu is held by apply (called in order by the metadata store as
	// records apply) and by Close to stop it before the logs close: on a
	// cluster node records keep arriving until the store closes.
	applyMu struct {
		sync.Mutex
		// applied is the last image apply brought the broker in line with.
		applied *metadata.Image
		stopped bool
	}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	connsMu sync.Mutex
	conns   map[net.Conn]struct{}

	closeOnce sync.Once
	closeErr  error
}

// Data directory entries that are not partition logs.
const (
	metadataDirName = "_metadata"
	producerIDsName = "producer-ids"
	producerIDBlock = 1000
	checkpointEvery = 5 * time.Second
)

// New opens the broker's data directory, recovers its logs, and starts
// serving on the configured listener. It returns once the broker accepts
// connections; Close stops it.
func New(cfg config.Broker, opts Options) (_ *Broker, err error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{static: cfg, log: logger, nodeID: cfg.NodeID(), parts: partition.NewSet(), conns: map[net.Conn]struct{}{}}
	b.cfg.Store(&cfg)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			b.cancel()
			b.closeResources()
		}
	}()

	dir := cfg.DataDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if b.lock, err = lockDataDir(dir); err != nil {
		return nil, err
	}
	if b.meta, err = openMetadata(cfg, filepath.Join(dir, metadataDirName), opts, logger); err != nil {
		return nil, fmt.Errorf("opening metadata: %w", err)
	}
	b.logs, err = storage.OpenManager(dir, storage.ManagerOptions{
		Logger:                            logger,
		RetentionCheckInterval:            time.Duration(cfg.Int("log.retention.check.interval.ms")) * time.Millisecond,
		CheckpointInterval:                time.Duration(cfg.Int("replica.high.watermark.checkpoint.interval.ms")) * time.Millisecond,
		RecoveryCheckpointInterval:        time.Duration(cfg.Int("log.flush.offset.checkpoint.interval.ms")) * time.Millisecond,
		ProducerIDExpiration:              time.Duration(cfg.Int("producer.id.expiration.ms")) * time.Millisecond,
		ProducerIDExpirationCheckInterval: time.Duration(cfg.Int("producer.id.expiration.check.interval.ms")) * time.Millisecond,
		DisableCleaner:                    !cfg.Bool(config.LogCleanerEnable),
		CleanerBackoff:                    max(time.Duration(cfg.Int(config.LogCleanerBackoffMs))*time.Millisecond, time.Millisecond),
		DedupeBufferSize:                  cfg.Int(config.LogCleanerDedupeBufferSize),
	})
	if err != nil {
		return nil, fmt.Errorf("opening logs: %w", err)
	}
	// Producer ids come in blocks from the metadata log, cluster-wide;
	// ids a broker handed out from its own file before it was part of a
	// cluster stay taken (the floor).
	floor, err := txn.ProducerIDsFileEnd(filepath.Join(dir, producerIDsName))
	if err != nil {
		return nil, fmt.Errorf("opening producer ids: %w", err)
	}
	pids := txn.NewProducerIDs(&producerIDBlocks{ctx: b.ctx, store: b.meta, floor: floor})

	if b.ln, err = net.Listen("tcp", cfg.ListenAddr()); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	advertised := cfg.AdvertisedAddr()
	if !cfg.IsSet("advertised.listeners") {
		// Listening on port 0 or a wildcard: tell clients the real address.
		advertised = advertisedFor(b.ln.Addr().(*net.TCPAddr), cfg.ListenAddr())
	}
	b.repl = partition.NewReplication(replicationConfig(cfg, b.nodeID, b.meta, logger), b.parts)
	b.groups = group.New(group.Options{
		NodeID: b.nodeID, Config: cfg, Meta: b.meta, Parts: b.parts, Logger: logger,
		Consumer: group.NewConsumerProtocol(group.ConsumerConfigFrom(cfg)),
		Voters:   max(len(cfg.Voters()), 1),
	})
	// Every broker runs the controller; it acts only while its metadata
	// store is the quorum's leader.
	b.ctrl = controller.New(controller.Options{NodeID: b.nodeID, Store: b.meta, Config: b.Config, Logger: logger})
	b.env = &handlers.Env{
		NodeID:      b.nodeID,
		Logger:      logger,
		Meta:        b.meta,
		Parts:       b.parts,
		Logs:        b.logs,
		ProducerIDs: pids,
		Config:      b.Config,
		Groups:      b.groups,
		Controller:  b.ctrl,
	}

	// A restarted node's image starts at its last snapshot, which may be
	// far behind: applying it could open (and set aside as another
	// topic's) the directory of a topic recreated since. So catch up with
	// the quorum first, then apply; a lone node is caught up already.
	if err := b.syncMetadata(); err != nil {
		return nil, err
	}
	b.meta.Subscribe(b.apply) // opens the logs the metadata knows at once
	host, port, err := handlers.SplitHostPort(advertised)
	if err != nil {
		return nil, fmt.Errorf("advertised address %q: %w", advertised, err)
	}
	b.member = controller.NewMember(controller.MemberOptions{
		Store:  b.meta,
		Self:   metadata.Broker{NodeID: b.nodeID, Host: host, Port: port, Rack: cfg.Str("broker.rack"), ControllerAddr: cfg.ControllerListenAddr()},
		Config: b.Config,
		Logger: logger,
	})
	if err := b.member.Register(b.ctx); err != nil {
		return nil, fmt.Errorf("registering with the controller: %w", err)
	}
	b.applyMu.Lock() // not while apply opens a new partition's log
	b.setAsideStrayLogs()
	b.applyMu.Unlock()

	b.wg.Add(1)
	go b.acceptLoop()
	logger.Info("strata broker ready", "addr", advertised, "listen", b.ln.Addr().String(), "node_id", b.nodeID, "data_dir", dir, "cluster_id", b.meta.Image().ClusterID)
	return b, nil
}

// syncMetadata waits until the metadata image holds everything the
// quorum has committed, as long as it takes a quorum to form (as Kafka's
// brokers wait for theirs), saying so now and then.
func (b *Broker) syncMetadata() error {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(syncLogEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				b.log.Info("waiting for the metadata quorum (a majority of controller.quorum.voters)", "voters", b.static.Str(config.ControllerQuorumVoters))
			}
		}
	}()
	if err := b.meta.Sync(b.ctx); err != nil {
		return fmt.Errorf("catching up with the metadata quorum: %w", err)
	}
	return nil
}

// syncLogEvery is how often a broker waiting for its quorum says so.
const syncLogEvery = 5 * time.Second

// openMetadata opens the metadata store: a quorum of one with no
// controller.quorum.voters, else a voter or non-voting broker of the
// voters' quorum on the CONTROLLER listener.
func openMetadata(cfg config.Broker, dir string, opts Options, logger *slog.Logger) (*metadata.Store, error) {
	return metadata.Open(metadata.Options{
		Dir:                  dir,
		NodeID:               cfg.NodeID(),
		ControllerListen:     cfg.ControllerListenAddr(),
		ControllerListener:   opts.ControllerListener,
		ControllerAdvertised: cfg.AdvertisedControllerAddr(),
		Voters:               cfg.Voters(),
		Logger:               logger,
		ElectionTimeout:      time.Duration(cfg.Int(config.ControllerQuorumElectionTimeout)) * time.Millisecond,
		FetchTimeout:         time.Duration(cfg.Int(config.ControllerQuorumFetchTimeout)) * time.Millisecond,
	})
}

// advertisedFor turns the bound address into one a client can dial: a
// wildcard host becomes 127.0.0.1 unless the listen address named a host.
func advertisedFor(bound *net.TCPAddr, listen string) string {
	host, _, _ := net.SplitHostPort(listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(bound.Port))
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() net.Addr { return b.ln.Addr() }

// Metadata is the broker's metadata store (for tests and tools that look
// at the image or the quorum).
func (b *Broker) Metadata() *metadata.Store { return b.meta }

// Config returns the effective broker configuration.
func (b *Broker) Config() config.Broker { return *b.cfg.Load() }

func (b *Broker) acceptLoop() {
	defer b.wg.Done()
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			b.log.Warn("accept", "err", err)
			time.Sleep(10 * time.Millisecond) // e.g. EMFILE: don't spin
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		b.connsMu.Lock()
		b.conns[nc] = struct{}{}
		b.connsMu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.serveConn(b.ctx, nc)
			b.connsMu.Lock()
			delete(b.conns, nc)
			b.connsMu.Unlock()
		}()
	}
}

// Close stops accepting, closes every connection, waits for the handlers
// to return, and shuts the logs down cleanly (checkpoints and the
// clean-shutdown marker), so the next start needs no recovery.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		// First, while still serving: move this broker's leaderships
		// away, so clients and followers go to the new leaders before
		// this one stops answering.
		b.member.Shutdown()
		b.cancel()
		_ = b.ln.Close()
		b.connsMu.Lock()
		for nc := range b.conns {
			_ = nc.Close()
		}
		b.connsMu.Unlock()
		b.wg.Wait()
		b.closeErr = b.closeResources()
		b.log.Info("strata broker stopped")
	})
	return b.closeErr
}

func (b *Broker) closeResources() error {
	var errs []error
	if b.member != nil {
		b.member.Shutdown() // no-op after Close's; stops the heartbeats if New failed
	}
	if b.ctrl != nil {
		b.ctrl.Close()
	}
	b.applyMu.Lock()
	b.applyMu.stopped = true // no more opening of logs: they close next
	b.applyMu.Unlock()
	if b.groups != nil {
		b.groups.Close() // before the logs: it may still be appending
	}
	if b.repl != nil {
		b.repl.Close() // the fetchers append to the logs too
	}
	if b.logs != nil {
		errs = append(errs, b.logs.Close())
	}
	if b.meta != nil {
		errs = append(errs, b.meta.Close())
	}
	if b.lock != nil {
		errs = append(errs, b.lock.Close())
	}
	return errors.Join(errs...)
}
