package clustertest

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Ack is one record the cluster acknowledged.
type Ack struct {
	Partition int32
	Offset    int64
	Value     string
	At        time.Time // when the acknowledgement reached the producer
}

// Ledger records, for one topic, every value the producers sent and
// every acknowledgement they got, for Verify to check against what a
// consumer reads back.
type Ledger struct {
	Topic string
	// Plain marks a ledger written by producers without idempotence:
	// their retries may store a record twice or out of order, which
	// Verify then allows (an acknowledged record must still be at its
	// offset).
	Plain bool

	mu struct {
		sync.Mutex
		sent map[string]bool // every value handed to a producer
		acks []Ack
		errs map[string]int // produce error text -> count
	}
}

// NewLedger returns an empty ledger for topic.
func NewLedger(topic string) *Ledger {
	l := &Ledger{Topic: topic}
	l.mu.sent = make(map[string]bool)
	l.mu.errs = make(map[string]int)
	return l
}

func (l *Ledger) sent(v string) {
	l.mu.Lock()
	l.mu.sent[v] = true
	l.mu.Unlock()
}

func (l *Ledger) ack(a Ack) {
	l.mu.Lock()
	l.mu.acks = append(l.mu.acks, a)
	l.mu.Unlock()
}

func (l *Ledger) failed(err error) {
	l.mu.Lock()
	l.mu.errs[err.Error()]++
	l.mu.Unlock()
}

// Acks returns a copy of the acknowledgements so far.
func (l *Ledger) Acks() []Ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Ack(nil), l.mu.acks...)
}

// AcksBetween counts acknowledgements that arrived in [from, to).
func (l *Ledger) AcksBetween(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.mu.acks {
		if !a.At.Before(from) && a.At.Before(to) {
			n++
		}
	}
	return n
}

// Errors returns how often each produce error was seen.
func (l *Ledger) Errors() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.mu.errs)
}

func (l *Ledger) wasSent(v string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.sent[v]
}

// Producer writes records to its ledger's topic at a steady rate with
// franz-go's idempotent producer and acks=all (the client's defaults),
// recording every value it sends and every acknowledgement.
type Producer struct {
	cl     *kgo.Client
	led    *Ledger
	prefix string // values are prefix-<seq>-<padding>, unique per producer
	rate   int    // records per second

	stop   atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
	acked  atomic.Int64
	failed atomic.Int64
	closed sync.Once
}

// StartProducer starts a producer writing rate records per second to
// led's topic. opts are added to the client's (e.g. a record delivery
// timeout so that an unavailable partition fails records instead of
// retrying them forever).
func (c *Cluster) StartProducer(led *Ledger, prefix string, rate int, opts ...kgo.Opt) *Producer {
	c.t.Helper()
	if strings.Contains(prefix, "-") {
		c.t.Fatalf("clustertest: producer prefix %q must not contain '-'", prefix)
	}
	all := append([]kgo.Opt{
		kgo.SeedBrokers(c.Addrs()...),
		kgo.DefaultProduceTopic(led.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.MaxBufferedRecords(1000),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		// A request to a paused (SIGSTOPped) broker gets no answer; the
		// client gives up on it after the produce timeout plus this
		// overhead and retries the batch at the partition's new leader.
		// kgo's defaults (10 s + 10 s) would stall the producer that long
		// after the cluster has moved on.
		kgo.ProduceRequestTimeout(5 * time.Second),
		kgo.RequestTimeoutOverhead(2 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		c.t.Fatalf("clustertest: kgo.NewClient: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Producer{cl: cl, led: led, prefix: prefix, rate: rate, cancel: cancel, done: make(chan struct{})}
	go p.run(ctx)
	c.t.Cleanup(func() {
		cancel()
		<-p.done
		p.closed.Do(cl.Close)
	})
	return p
}

func (p *Producer) run(ctx context.Context) {
	defer close(p.done)
	interval := time.Second / time.Duration(p.rate)
	next := time.Now()
	for seq := 0; !p.stop.Load() && ctx.Err() == nil; seq++ {
		// NB: after Produce blocked (an outage filled the buffer) the
		// schedule restarts from now rather than bursting to catch up.
		switch d := time.Until(next); {
		case d > 0:
			time.Sleep(d)
		case d < -time.Second:
			next = time.Now()
		}
		next = next.Add(interval)
		v := fmt.Sprintf("%s-%09d-%s", p.prefix, seq, strings.Repeat("x", seq%37))
		p.led.sent(v)
		r := &kgo.Record{Key: []byte(strconv.Itoa(seq % 64)), Value: []byte(v)}
		// Produce blocks while the buffer is full (no leader, no ISR);
		// ctx ends that wait only when the producer is stopped.
		p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				p.failed.Add(1)
				p.led.failed(err)
				return
			}
			p.led.ack(Ack{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value), At: time.Now()})
			p.acked.Add(1)
		})
	}
}

// Acked and Failed count the producer's outcomes so far.
func (p *Producer) Acked() int64  { return p.acked.Load() }
func (p *Producer) Failed() int64 { return p.failed.Load() }

// WaitAcked waits until the producer has n more acknowledgements than
// now, failing the test after timeout.
func (p *Producer) WaitAcked(t testing.TB, n int64, timeout time.Duration) {
	t.Helper()
	want := p.acked.Load() + n
	deadline := time.Now().Add(timeout)
	for p.acked.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: producer %s: %d acknowledgements within %v, want %d more (failed: %d, errors: %v)",
				p.prefix, p.acked.Load()-(want-n), timeout, n, p.failed.Load(), p.led.Errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Finish stops producing and gives buffered records up to flushFor to be
// acknowledged; what is still unacknowledged then is failed (and counts
// as never acknowledged).
func (p *Producer) Finish(t testing.TB, flushFor time.Duration) {
	t.Helper()
	p.stop.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), flushFor)
	defer cancel()
	if err := p.cl.Flush(ctx); err != nil {
		t.Logf("clustertest: producer %s: flush: %v (unflushed records count as unacknowledged)", p.prefix, err)
	}
	p.cancel() // ends a Produce blocked on a full buffer
	<-p.done
	p.closed.Do(p.cl.Close)
	t.Logf("clustertest: producer %s: %d acknowledged, %d failed", p.prefix, p.acked.Load(), p.failed.Load())
}
