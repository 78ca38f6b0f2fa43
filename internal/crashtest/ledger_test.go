package crashtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ack is one record the broker acknowledged.
type ack struct {
	partition int32
	offset    int64
	value     string
}

// ledger collects acknowledgements for one topic across all rounds.
type ledger struct {
	topic string
	// idempotent: the producers writing to this topic never duplicate, so
	// every value must be stored at most once and, per producer, in order.
	idempotent bool

	mu struct {
		sync.Mutex
		acks []ack
	}
}

func (l *ledger) add(a ack) {
	l.mu.Lock()
	l.mu.acks = append(l.mu.acks, a)
	l.mu.Unlock()
}

func (l *ledger) snapshot() []ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ack(nil), l.mu.acks...)
}

// producer writes records to one topic as fast as the broker takes them
// until stopped, recording each acknowledgement in its ledger.
type producer struct {
	cl     *kgo.Client
	led    *ledger
	prefix string // unique per producer and round: values are prefix-seq

	stop     atomic.Bool
	done     chan struct{}
	acked    atomic.Int64
	failed   atomic.Int64
	firstAck chan struct{}
	ackOnce  sync.Once
}

// startProducer starts a producer on its own client. opts set acks and
// idempotence.
func startProducer(t *testing.T, addr string, led *ledger, prefix string, opts ...kgo.Opt) *producer {
	t.Helper()
	all := append([]kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.DefaultProduceTopic(led.topic),
		kgo.MaxBufferedRecords(2000),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	p := &producer{cl: cl, led: led, prefix: prefix, done: make(chan struct{}), firstAck: make(chan struct{})}
	go p.run(t.Context())
	return p
}

// producerRate caps each producer, in records per second. Unpaced, one
// producer writes ~100k records/s here, and reading millions back after
// every round would dominate the test's time without testing more: what
// matters is that writes are in flight when the broker dies.
const producerRate = 20_000

func (p *producer) run(ctx context.Context) {
	defer close(p.done)
	start := time.Now()
	for seq := 0; !p.stop.Load() && ctx.Err() == nil; seq++ {
		if seq%100 == 0 {
			if ahead := time.Until(start.Add(time.Duration(seq) * time.Second / producerRate)); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		r := &kgo.Record{
			Key:   []byte(strconv.Itoa(seq % 64)),
			Value: fmt.Appendf(nil, "%s-%09d-%s", p.prefix, seq, strings.Repeat("x", seq%97)),
		}
		// Produce blocks while the buffer is full, e.g. while the broker
		// is down; ctx ends that wait only when the test ends.
		p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				p.failed.Add(1)
				return
			}
			p.led.add(ack{r.Partition, r.Offset, string(r.Value)})
			p.acked.Add(1)
			p.ackOnce.Do(func() { close(p.firstAck) })
		})
	}
}

// finish stops producing, gives buffered and in-flight records up to
// flushFor to be acknowledged (the broker may have been restarted in the
// meantime), and closes the client, failing what is left.
func (p *producer) finish(t *testing.T, flushFor time.Duration) {
	t.Helper()
	p.stop.Store(true)
	select {
	case <-p.done:
	case <-time.After(flushFor):
		t.Fatalf("producer %s: still blocked in Produce %v after stop", p.prefix, flushFor)
	}
	ctx, cancel := context.WithTimeout(t.Context(), flushFor)
	defer cancel()
	if err := p.cl.Flush(ctx); err != nil {
		t.Logf("producer %s: flush: %v (the unflushed records count as unacknowledged)", p.prefix, err)
	}
	p.cl.Close()
}

// createTopics creates each ledger's topic with the given partition count.
func createTopics(t *testing.T, addr string, partitions int32, leds ...*ledger) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, l := range leds {
		resp, err := kadm.NewClient(cl).CreateTopic(waitCtx(t, 30*time.Second), partitions, 1, nil, l.topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create topic %q: %v", l.topic, err)
		}
	}
}
