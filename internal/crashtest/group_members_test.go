package crashtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupMembersSurviveBrokerKill runs two franz-go group members while
// the broker is killed with SIGKILL and restarted on the same address:
// the members reconnect, the coordinator rebuilds the group from
// __consumer_offsets, and the group goes on. Every record produced before
// and after the kill is consumed, and no two members consume a record in
// the same generation.
func TestGroupMembersSurviveBrokerKill(t *testing.T) {
	b := newBroker(t, "--override", "group.initial.rebalance.delay.ms=0", "--override", "group.min.session.timeout.ms=500")
	b.start()
	const topic, group, partitions = "members", "members-group", 6

	prod, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if resp, err := kadm.NewClient(prod).CreateTopic(waitCtx(t, 30*time.Second), partitions, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	produce := func(from, n int) {
		t.Helper()
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: fmt.Appendf(nil, "r%d", i)})
		}
		if err := prod.ProduceSync(waitCtx(t, 60*time.Second), recs...).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}

	type seen struct {
		member string
		gen    int32
	}
	type assignment struct {
		n   int // partitions of the topic
		gen int32
	}
	var mu sync.Mutex
	got := map[string][]seen{}
	owned := map[string]assignment{}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, name := range []string{"a", "b"} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ClientID(name), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.Balancers(kgo.RangeBalancer()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(300*time.Millisecond),
			kgo.FetchMaxWait(200*time.Millisecond), kgo.BlockRebalanceOnPoll(), kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, m map[string][]int32) {
				_, gen := cl.GroupMetadata()
				mu.Lock()
				owned[name] = assignment{n: len(m[topic]), gen: gen}
				mu.Unlock()
			}),
			kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
				cl.CommitUncommittedOffsets(ctx)
			}))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer cl.Close()
			for ctx.Err() == nil {
				fs := cl.PollRecords(ctx, 10)
				_, gen := cl.GroupMetadata()
				mu.Lock()
				fs.EachRecord(func(r *kgo.Record) { got[string(r.Value)] = append(got[string(r.Value)], seen{name, gen}) })
				mu.Unlock()
				cl.CommitUncommittedOffsets(ctx)
				cl.AllowRebalance()
			}
		})
	}
	waitUntil := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d of %d records consumed", what, count(), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Both members in one generation, 3 partitions each.
	var gen0 int32
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		a, b := owned["a"], owned["b"]
		mu.Unlock()
		if a.n == 3 && b.n == 3 && a.gen == b.gen {
			gen0 = a.gen
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the members never split the topic 3/3: %+v %+v", a, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	produce(0, 120)
	waitUntil("before the kill", 120)
	b.kill()
	b.start()
	produce(120, 120)
	waitUntil("after the restart", 240)
	mu.Lock()
	defer mu.Unlock()
	for v, ss := range got {
		byGen := map[int32]string{}
		for _, s := range ss {
			if other, ok := byGen[s.gen]; ok && other != s.member {
				t.Errorf("record %s consumed by %s and %s in generation %d", v, other, s.member, s.gen)
			}
			byGen[s.gen] = s.member
		}
	}
	// The coordinator rebuilt the group, members included, from
	// __consumer_offsets, so the members went on heartbeating in their
	// generation: the restart caused no rebalance (as in Kafka).
	members := map[string]bool{}
	moved := 0
	for i := 120; i < 240; i++ {
		for _, s := range got[fmt.Sprintf("r%d", i)] {
			members[s.member] = true
			if s.gen != gen0 && moved == 0 {
				t.Errorf("record r%d consumed by %s in generation %d; the group was in generation %d before the kill", i, s.member, s.gen, gen0)
			}
			if s.gen != gen0 {
				moved++
			}
		}
	}
	if moved > 1 {
		t.Errorf("%d records after the restart were consumed in a generation other than %d", moved, gen0)
	}
	if !members["a"] || !members["b"] {
		t.Errorf("after the restart the records were consumed by %v, want both members", members)
	}
	b.requireNoPanic()
}
