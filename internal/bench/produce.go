package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// stampSize is the bytes at the start of an e2e record's value that hold
// its send time (Unix nanoseconds, big endian); 0 marks a warm-up record.
const stampSize = 8

// producer is one franz-go client fed from a fixed pool of records: the
// hot loop takes a record from the pool, fills it in place and hands it
// to the client; the promise puts it back. Nothing is allocated per
// record once the pool has grown to its working size.
type producer struct {
	cl      *kgo.Client
	topic   string
	payload []byte
	keys    KeyMode
	stamp   bool // e2e: each record owns its value and carries its send time
	rng     *rand.Rand

	free      chan *kgo.Record
	allocated int // records created so far; at most cap(free)

	m   *meter
	lat *histogram // send to acknowledgement
	// promise is p.onAck as a func value, made once: a method value
	// built per Produce call would allocate.
	promise func(*kgo.Record, error)

	errMu    sync.Mutex
	firstErr error
}

// poolSize is how many records a producer may have in flight: enough for
// several full batches per partition, bounded in memory when each record
// owns its value.
func poolSize(valueSize int, stamp bool) int {
	n := 100_000
	if stamp {
		n = min(n, max(1024, (64<<20)/max(valueSize, 1)))
	}
	return n
}

func newProducer(cfg *ProduceConfig, id int, m *meter, stamp bool, extra ...kgo.Opt) (*producer, error) {
	acks, idempotent, _ := ParseAcks(cfg.Acks)
	codec, _ := ParseCompression(cfg.codec())
	slots := poolSize(len(cfg.Payload), stamp)
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(cfg.Linger),
		kgo.MaxBufferedRecords(slots),
	}
	if cfg.BatchMaxBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(cfg.BatchMaxBytes))
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(cfg.MaxInflight))
	}
	cl, err := cfg.newClient(append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	p := &producer{
		cl: cl, topic: cfg.Topic, payload: cfg.Payload, keys: cfg.Keys, stamp: stamp,
		rng:  rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(id))),
		free: make(chan *kgo.Record, slots),
		m:    m, lat: newHistogram(),
	}
	p.promise = p.onAck
	return p, nil
}

func (p *producer) onAck(r *kgo.Record, err error) {
	if err != nil {
		p.m.errors.Add(1)
		p.errMu.Lock()
		if p.firstErr == nil {
			p.firstErr = err
		}
		p.errMu.Unlock()
	} else {
		p.m.add(1, int64(len(r.Key)+len(r.Value)))
		p.lat.record(time.Since(r.Timestamp))
	}
	p.free <- r // never blocks: the channel holds every record made
}

// take returns a record to fill: a recycled one, a new one while the pool
// is still growing, or (pool exhausted) the next one acknowledged.
func (p *producer) take(stop <-chan struct{}) *kgo.Record {
	select {
	case r := <-p.free:
		return r
	default:
	}
	if p.allocated < cap(p.free) {
		p.allocated++
		r := &kgo.Record{}
		if p.keys.Kind != "none" {
			r.Key = make([]byte, 0, 20)
		}
		if p.stamp {
			r.Value = append([]byte(nil), p.payload...)
		}
		return r
	}
	select {
	case r := <-p.free:
		return r
	case <-stop:
		return nil
	}
}

// send produces record number seq (numbered across all producers).
// stamp is the e2e send time to embed; 0 marks a warm-up record.
func (p *producer) send(ctx context.Context, r *kgo.Record, seq int64, stamp int64) {
	key, val := r.Key, r.Value
	*r = kgo.Record{Topic: p.topic}
	switch p.keys.Kind {
	case "seq":
		r.Key = strconv.AppendInt(key[:0], seq, 10)
	case "random":
		r.Key = strconv.AppendInt(key[:0], p.rng.Int64N(p.keys.N), 10)
	}
	if p.stamp {
		binary.BigEndian.PutUint64(val[:stampSize], uint64(stamp))
		r.Value = val
	} else {
		r.Value = p.payload
	}
	r.Timestamp = time.Now()
	p.cl.Produce(ctx, r, p.promise)
}

func (p *producer) err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.firstErr
}

// pacer spaces a producer's records evenly at a fixed rate. It follows a
// schedule rather than sleeping a fixed gap, so a late wakeup is made up
// by sending the records that are due at once.
//
// A pacer is shared by a run's producers; each waits on its own timer.
type pacer struct {
	start    time.Time
	interval float64 // ns between records; 0: no pacing
}

// waitOn sleeps until record i is due on *t, creating the timer on first
// use and resetting it after, so that pacing allocates nothing per
// record. It reports false if stop closed first.
func (pc *pacer) waitOn(t **time.Timer, i int64, stop <-chan struct{}) bool {
	if pc.interval == 0 {
		return true
	}
	due := pc.start.Add(time.Duration(float64(i) * pc.interval))
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	tm := *t
	if tm == nil {
		tm = time.NewTimer(d)
		*t = tm
	} else {
		tm.Reset(d) // Go 1.23+: no stale value to drain
	}
	select {
	case <-tm.C:
		return true
	case <-stop:
		return false
	}
}

// stopper is closed when a run must stop early: its duration is up or the
// caller's context is done.
type stopper struct {
	once sync.Once
	ch   chan struct{}
	hit  atomic.Bool
}

func newStopper(ctx context.Context, d time.Duration) (*stopper, func()) {
	s := &stopper{ch: make(chan struct{})}
	var t *time.Timer
	if d > 0 {
		t = time.AfterFunc(d, s.stop)
	}
	unreg := context.AfterFunc(ctx, s.stop)
	return s, func() {
		unreg()
		if t != nil {
			t.Stop()
		}
	}
}

func (s *stopper) stop() {
	s.once.Do(func() {
		s.hit.Store(true)
		close(s.ch)
	})
}

// produceLoop sends this producer's share of records: numbers id,
// id+n, id+2n, … below total (0: unbounded) until stop. It returns how
// many it sent.
func (p *producer) produceLoop(ctx context.Context, id, n int, total int64, pc *pacer, st *stopper) int64 {
	var sent int64
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for seq := int64(id); total == 0 || seq < total; seq += int64(n) {
		if st.hit.Load() || !pc.waitOn(&timer, sent, st.ch) {
			break
		}
		r := p.take(st.ch)
		if r == nil {
			break
		}
		var stamp int64
		if p.stamp {
			stamp = time.Now().UnixNano()
		}
		p.send(ctx, r, seq, stamp)
		sent++
	}
	return sent
}

// Produce runs cfg: it creates the topic if needed, produces, waits for
// every acknowledgement and returns the result. Progress lines go to
// progress (nil: none).
func Produce(ctx context.Context, cfg ProduceConfig, progress io.Writer) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	parts, err := cfg.ensureTopic(ctx)
	if err != nil {
		return nil, err
	}
	m := &meter{}
	prods := make([]*producer, cfg.Producers)
	for i := range prods {
		if prods[i], err = newProducer(&cfg, i, m, false); err != nil {
			return nil, err
		}
		defer prods[i].cl.Close()
	}
	// Connect and load metadata before the clock starts, so the run
	// measures producing, not bootstrapping.
	for _, p := range prods {
		if err := warmMetadata(ctx, p.cl, cfg.RequestTimeout); err != nil {
			return nil, err
		}
	}
	st, release := newStopper(ctx, cfg.Duration)
	defer release()
	s := newSampler(m, cfg.ProgressInterval, progress, "produce", cfg.Records, cfg.Duration)
	s.begin()
	pc := &pacer{start: time.Now()}
	if cfg.Rate > 0 {
		pc.interval = float64(time.Second) * float64(cfg.Producers) / cfg.Rate
	}
	var wg sync.WaitGroup
	for i, p := range prods {
		wg.Go(func() {
			p.produceLoop(ctx, i, len(prods), cfg.Records, pc, st)
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.RequestTimeout)
			defer cancel()
			_ = p.cl.Flush(fctx) // a record still unacknowledged then counts as missing
		})
	}
	wg.Wait()
	res := &Result{Mode: "produce", Topic: cfg.Topic, Partitions: parts, Config: cfg.describe()}
	res.finish(s.end(), m.errors.Load())
	lat := newHistogram()
	var errs []error
	for _, p := range prods {
		lat.merge(p.lat)
		if err := p.err(); err != nil {
			errs = append(errs, err)
		}
	}
	res.Latency = lat.summary("ack")
	res.Curve = lat.curve()
	if cfg.Cleanup {
		errs = append(errs, cfg.deleteTopic(ctx))
	}
	if len(errs) > 0 && errs[0] != nil {
		return res, fmt.Errorf("%d records failed; the first: %w", res.Errors, errs[0])
	}
	return res, errors.Join(errs...)
}

// warmMetadata connects the client to the cluster before the clock
// starts. (The topic's metadata is loaded by the first record; that takes
// one round trip, noise against a run of seconds.)
func warmMetadata(ctx context.Context, cl *kgo.Client, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := cl.Ping(cctx); err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	return nil
}

// describe lists the run's settings for the JSON and HTML output.
func (c *ProduceConfig) describe() map[string]any {
	return map[string]any{
		"records": c.Records, "duration_s": c.Duration.Seconds(), "record_size": len(c.Payload),
		"acks": c.Acks, "producers": c.Producers, "linger_ms": float64(c.Linger) / 1e6,
		"batch_max_bytes": c.BatchMaxBytes, "compression": c.Compression, "keys": c.Keys.String(),
		"rate": c.Rate, "max_inflight": c.MaxInflight, "partitions": c.Partitions,
		"replication_factor": c.ReplicationFactor,
	}
}
