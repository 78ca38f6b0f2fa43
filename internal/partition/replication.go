package partition

// Replication is the broker-wide part of replication (Kafka's
// ReplicaManager minus the request handling): it assigns follower replicas
// to replica fetchers, one set per leader broker (num.replica.fetchers),
// runs the ISR shrink check every replica.lag.time.max.ms / 2, and sends
// the leaders' AlterPartition requests to the controller.

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/strata-io/strata/internal/metadata"
)

// ReplicationConfig is what replication needs from the broker: Kafka's
// replica.* configs and the ways to reach the other brokers.
type ReplicationConfig struct {
	NodeID                int32
	LagTimeMax            time.Duration // replica.lag.time.max.ms
	FetchMaxBytes         int32         // replica.fetch.max.bytes (per partition)
	FetchMinBytes         int32         // replica.fetch.min.bytes
	FetchWaitMax          time.Duration // replica.fetch.wait.max.ms
	FetchBackoff          time.Duration // replica.fetch.backoff.ms
	FetchResponseMaxBytes int32         // replica.fetch.response.max.bytes
	NumFetchers           int           // num.replica.fetchers (per leader broker)
	SocketTimeout         time.Duration // replica.socket.timeout.ms

	// BrokerAddr is a broker's Kafka listener ("host:port") from the
	// metadata image.
	BrokerAddr func(id int32) (string, bool)
	// AlterPartition asks the active controller to change an ISR; nil
	// leaves ISRs as the controller set them.
	AlterPartition func(ctx context.Context, req metadata.AlterPartitionRequest) (metadata.AlterPartitionResponse, error)
	// BrokerEpoch is this broker's current registration epoch, sent with
	// AlterPartition; nil sends 0.
	BrokerEpoch func() int64
	// Now is the clock for ISR lag; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Replication runs a broker's replica fetchers and ISR checks.
type Replication struct {
	cfg    ReplicationConfig
	parts  *Set
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		closed   bool
		fetchers map[fetcherID]*fetcher
		assigned map[*Partition]fetcherID
	}
}

// fetcherID names a replica fetcher: the leader it fetches from and its
// index among num.replica.fetchers.
type fetcherID struct {
	leader int32
	index  int
}

// NewReplication starts replication for the replicas in parts.
func NewReplication(cfg ReplicationConfig, parts *Set) *Replication {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NumFetchers < 1 {
		cfg.NumFetchers = 1
	}
	if cfg.LagTimeMax <= 0 {
		cfg.LagTimeMax = 30 * time.Second
	}
	if cfg.FetchBackoff <= 0 {
		cfg.FetchBackoff = time.Second
	}
	if cfg.SocketTimeout <= 0 {
		cfg.SocketTimeout = 30 * time.Second
	}
	r := &Replication{cfg: cfg, parts: parts}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.mu.fetchers = map[fetcherID]*fetcher{}
	r.mu.assigned = map[*Partition]fetcherID{}
	r.wg.Add(1)
	go r.isrLoop()
	return r
}

func (r *Replication) now() time.Time { return r.cfg.Now() }

// Track brings p's replication in line with its current state: a
// follower is fetched by the fetcher of its leader, a leader or a replica
// without a leader by none. Call it after New and after every SetState.
func (r *Replication) Track(p *Partition) {
	p.repl.Store(r)
	st := p.State()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.closed {
		return
	}
	cur, has := r.mu.assigned[p]
	if st.Leader == r.cfg.NodeID || st.Leader < 0 {
		if has {
			r.removeLocked(p, cur)
		}
		return
	}
	h := fnv.New32a()
	h.Write([]byte(p.Topic))
	id := fetcherID{leader: st.Leader, index: int((h.Sum32() + uint32(p.Index)) % uint32(r.cfg.NumFetchers))}
	if has && cur == id {
		r.mu.fetchers[id].retryNow(p) // perhaps a new epoch: fetch with it now
		return
	}
	if has {
		r.removeLocked(p, cur)
	}
	f := r.mu.fetchers[id]
	if f == nil {
		f = newFetcher(r, id)
		r.mu.fetchers[id] = f
		r.wg.Add(1)
		go f.run()
	}
	r.mu.assigned[p] = id
	f.add(p)
}

// Untrack stops replicating p (its replica is being dropped or closed).
func (r *Replication) Untrack(p *Partition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.mu.assigned[p]; ok {
		r.removeLocked(p, id)
	}
}

func (r *Replication) removeLocked(p *Partition, id fetcherID) {
	delete(r.mu.assigned, p)
	f := r.mu.fetchers[id]
	if f != nil && f.remove(p) == 0 {
		f.stop()
		delete(r.mu.fetchers, id)
	}
}

// Close stops every fetcher and the ISR checks, and waits for them and
// for AlterPartition requests in flight.
func (r *Replication) Close() {
	r.mu.Lock()
	r.mu.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// isrLoop checks every replica.lag.time.max.ms / 2 for followers to drop
// from the ISRs this broker leads (Kafka's isr-expiration task).
func (r *Replication) isrLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.LagTimeMax / 2)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		now := r.now()
		for _, k := range r.parts.Keys() {
			if p := r.parts.Get(k.Topic, k.Index); p != nil {
				p.maybeShrinkISR(now, r.cfg.LagTimeMax)
			}
		}
	}
}

// alterPartition sends req for p in the background and hands the answer
// to p.alterDone. It is called with p.mu held (lock order: p.mu, r.mu,
// then a fetcher's mu).
func (r *Replication) alterPartition(p *Partition, req metadata.AlterPartitionRequest, gen int32) {
	if r.cfg.BrokerEpoch != nil {
		req.BrokerEpoch = r.cfg.BrokerEpoch()
	}
	r.mu.Lock()
	closed := r.mu.closed
	if !closed {
		r.wg.Add(1)
	}
	r.mu.Unlock()
	if closed {
		return
	}
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.LagTimeMax)
		defer cancel()
		resp, err := r.cfg.AlterPartition(ctx, req)
		if err != nil || resp.ErrorCode != 0 {
			r.cfg.Logger.Info("AlterPartition refused", "topic", p.Topic, "partition", p.Index, "isr", req.NewISR, "error_code", resp.ErrorCode, "err", err)
		} else {
			r.cfg.Logger.Info("ISR changed", "topic", p.Topic, "partition", p.Index, "isr", resp.State.ISR, "partition_epoch", resp.State.PartitionEpoch)
		}
		p.alterDone(gen, resp, err, r.cfg.FetchBackoff)
	}()
}
