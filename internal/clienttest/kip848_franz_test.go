package clienttest

// KIP-848 consumer groups driven by franz-go's next-gen consumer
// (kgo.ServerSideBalancer): the broker assigns partitions with its uniform
// (franz-go's sticky balancers ask for it) or range assignor.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// kip848Broker is a broker whose KIP-848 timings suit tests: heartbeats
// every 250 ms and a 3 s session (Kafka's defaults are 5 s and 45 s).
func kip848Overrides() map[string]string {
	return map[string]string{
		"auto.create.topics.enable":                "false",
		"group.consumer.heartbeat.interval.ms":     "250",
		"group.consumer.min.heartbeat.interval.ms": "100",
		"group.consumer.session.timeout.ms":        "3000",
		"group.consumer.min.session.timeout.ms":    "1000",
		"offsets.topic.num.partitions":             "4",
	}
}

// consumption records which member consumed which record.
type consumption struct {
	mu   sync.Mutex
	seen map[string][]string // "partition/offset" → members
	// owned is each member's current assignment (from its callbacks).
	owned map[string]map[int32]bool
}

func newConsumption() *consumption {
	return &consumption{seen: map[string][]string{}, owned: map[string]map[int32]bool{}}
}

func (c *consumption) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for m, ps := range c.owned {
		out[m] = len(ps)
	}
	return out
}

// member is one franz-go next-gen group consumer polling in its own
// goroutine until stopped.
type member848 struct {
	name string
	cl   *kgo.Client
	stop context.CancelFunc
	done chan struct{}
}

func startMember(t *testing.T, addr, group, topic, name string, balancer kgo.GroupBalancer, c *consumption, extra ...kgo.Opt) *member848 {
	t.Helper()
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer),
		kgo.ServerSideBalancer(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.owned[name] == nil {
				c.owned[name] = map[int32]bool{}
			}
			for _, p := range a[topic] {
				c.owned[name][p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			// Commit what was consumed before giving partitions up, so
			// the next owner starts where this one stopped.
			_ = cl.CommitUncommittedOffsets(ctx)
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range r[topic] {
				delete(c.owned[name], p)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, p := range l[topic] {
				delete(c.owned[name], p)
			}
		}),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member848{name: name, cl: cl, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				c.mu.Lock()
				k := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
				c.seen[k] = append(c.seen[k], name)
				c.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() { m.leave() })
	return m
}

// leave stops polling and closes the client, which leaves the group
// (epoch -1) after committing.
func (m *member848) leave() {
	select {
	case <-m.done:
		return
	default:
	}
	m.stop()
	<-m.done
	_ = m.cl.CommitUncommittedOffsets(context.Background())
	m.cl.Close()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor848(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func produceN(t *testing.T, cl *kgo.Client, topic string, partitions, perPartition int, tag string) {
	t.Helper()
	var recs []*kgo.Record
	for p := 0; p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(fmt.Sprintf("%s-%d-%d", tag, p, i))})
		}
	}
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func TestKIP848SplitLeaveRejoin(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer func() kgo.GroupBalancer
	}{
		{"uniform", kgo.CooperativeStickyBalancer},
		{"range", kgo.RangeBalancer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := brokertest.Start(t, kip848Overrides())
			const topic, group, parts, per = "orders", "g848", 6, 50
			createTopic(t, addr, topic, parts, nil)
			producer := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			c := newConsumption()

			a := startMember(t, addr, group, topic, "a", tc.balancer(), c)
			b := startMember(t, addr, group, topic, "b", tc.balancer(), c)
			waitFor848(t, "a 3/3 split", 30*time.Second, func() bool {
				n := c.counts()
				return n["a"] == 3 && n["b"] == 3
			})
			// The broker did the assignment: it is a consumer group, using
			// the assignor franz-go asked for.
			d := describe848(t, producer, group)
			if d.ErrorCode != 0 || len(d.Members) != 2 || d.AssignorName != tc.name || d.State != "Stable" {
				t.Fatalf("ConsumerGroupDescribe: %+v", d)
			}
			produceN(t, producer, topic, parts, per, "one")
			waitFor848(t, "all of batch one", 30*time.Second, func() bool { return c.total() == parts*per })

			// b leaves: a takes over all six partitions.
			b.leave()
			waitFor848(t, "a owning all 6", 30*time.Second, func() bool { return c.counts()["a"] == 6 })
			produceN(t, producer, topic, parts, per, "two")
			waitFor848(t, "all of batch two", 30*time.Second, func() bool { return c.total() == 2*parts*per })

			// b comes back as a new member: split again.
			startMember(t, addr, group, topic, "b2", tc.balancer(), c)
			waitFor848(t, "a 3/3 split again", 30*time.Second, func() bool {
				n := c.counts()
				return n["a"] == 3 && n["b2"] == 3
			})
			produceN(t, producer, topic, parts, per, "three")
			waitFor848(t, "all of batch three", 30*time.Second, func() bool { return c.total() == 3*parts*per })
			_ = a
			c.checkOnce(t, 3*parts*per)
		})
	}
}

// total is the number of distinct records consumed.
func (c *consumption) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// checkOnce fails unless exactly want distinct records were consumed and
// none of them twice.
func (c *consumption) checkOnce(t *testing.T, want int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) != want {
		t.Errorf("consumed %d distinct records, want %d", len(c.seen), want)
	}
	for k, who := range c.seen {
		if len(who) > 1 {
			t.Errorf("record %s consumed %d times: %v", k, len(who), who)
		}
	}
}

// describe848 describes one group with ConsumerGroupDescribe.
func describe848(t *testing.T, cl *kgo.Client, group string) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("ConsumerGroupDescribe: %v", err)
	}
	if len(resp.Groups) != 1 {
		t.Fatalf("ConsumerGroupDescribe: %d groups", len(resp.Groups))
	}
	return resp.Groups[0]
}

// With group.coordinator.rebalance.protocols=classic the consumer group
// APIs are not advertised, and franz-go's next-gen consumer falls back to
// the classic protocol (the group is then a classic one).
func TestKIP848ProtocolDisabled(t *testing.T) {
	o := kip848Overrides()
	o["group.coordinator.rebalance.protocols"] = "classic"
	o["group.initial.rebalance.delay.ms"] = "0"
	addr := brokertest.Start(t, o)
	cl := newKgo(t, addr)
	versions, err := kmsg.NewPtrApiVersionsRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range versions.ApiKeys {
		if k.ApiKey == 68 || k.ApiKey == 69 {
			t.Errorf("api key %d advertised with the consumer protocol off", k.ApiKey)
		}
	}
	createTopic(t, addr, "t", 2, nil)
	c := newConsumption()
	startMember(t, addr, "fallback", "t", "a", kgo.CooperativeStickyBalancer(), c)
	waitFor848(t, "a classic assignment", 30*time.Second, func() bool { return c.counts()["a"] == 2 })
	list := kmsg.NewPtrListGroupsRequest()
	list.TypesFilter = []string{"classic"}
	lresp, err := list.RequestWith(testCtx(t), cl)
	if err != nil || len(lresp.Groups) != 1 || lresp.Groups[0].Group != "fallback" {
		t.Errorf("the fallen-back group is not a classic group: %v %+v", err, lresp)
	}
}
