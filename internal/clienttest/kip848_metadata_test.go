package clienttest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// Metadata changes reach KIP-848 groups: a franz-go regex consumer (the
// broker resolves SubscribedTopicRegex) is given a matching topic created
// later, the partitions added to a topic, and loses a deleted topic.
func TestKIP848MetadataChanges(t *testing.T) {
	addr := brokertest.Start(t, kip848Overrides())
	createTopic(t, addr, "re-a", 2, nil)
	createTopic(t, addr, "other", 2, nil)
	c := newConsumption() // only its mutex is used here
	byTopic := map[string]int{}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup("regex848"),
		kgo.ConsumeTopics("re-.*"),
		kgo.ConsumeRegex(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ServerSideBalancer(),
		kgo.MetadataMinAge(50*time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for t, ps := range a {
				byTopic[t] += len(ps)
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for t, ps := range r {
				byTopic[t] -= len(ps)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			c.mu.Lock()
			defer c.mu.Unlock()
			for t, ps := range r {
				byTopic[t] -= len(ps)
			}
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	owns := func(want map[string]int) func() bool {
		return func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			for topic, n := range byTopic {
				if n != want[topic] {
					return false
				}
			}
			for topic, n := range want {
				if byTopic[topic] != n {
					return false
				}
			}
			return true
		}
	}
	waitFor848(t, "re-a only", 30*time.Second, owns(map[string]int{"re-a": 2}))

	createTopic(t, addr, "re-b", 3, nil)
	waitFor848(t, "the new matching topic", 30*time.Second, owns(map[string]int{"re-a": 2, "re-b": 3}))

	adm := newAdmin(t, addr)
	if _, err := adm.UpdatePartitions(testCtx(t), 4, "re-a"); err != nil { // to 4 in all
		t.Fatal(err)
	}
	waitFor848(t, "the added partitions", 30*time.Second, owns(map[string]int{"re-a": 4, "re-b": 3}))

	if _, err := adm.DeleteTopics(testCtx(t), "re-b"); err != nil {
		t.Fatal(err)
	}
	waitFor848(t, "the deleted topic gone", 30*time.Second, owns(map[string]int{"re-a": 4}))
	d := describe848(t, cl, "regex848")
	if d.ErrorCode != 0 || len(d.Members) != 1 || d.Members[0].SubscribedTopicRegex == nil {
		t.Errorf("describe: %+v", d)
	}
}

// Static membership over the wire: a static member that leaves with epoch
// -2 keeps its partitions reserved, and its replacement (same instance id,
// new member id) gets them back without a rebalance.
func TestKIP848StaticMember(t *testing.T) {
	addr := brokertest.Start(t, kip848Overrides())
	createTopic(t, addr, "t", 4, nil)
	h := hb848{t, newKgo(t, addr), "static848"}
	inst := "instance-1"
	s := join848("s1", "t")
	s.InstanceID = &inst
	a := h.send(s)
	b := h.send(join848("b", "t"))
	// Settle: a gives two partitions up, b takes them.
	for i := 0; i < 10 && (owned848(a.Assignment) != 2 || owned848(b.Assignment) != 2); i++ {
		next := h.send(beat848("s1", a.MemberEpoch, a.Assignment))
		next.Assignment = keepAssignment(next.Assignment, a.Assignment)
		a = next
		next = h.send(beat848("b", b.MemberEpoch, b.Assignment))
		next.Assignment = keepAssignment(next.Assignment, b.Assignment)
		b = next
	}
	if owned848(a.Assignment) != 2 || owned848(b.Assignment) != 2 {
		t.Fatalf("no 2/2 split: %+v %+v", a, b)
	}
	epoch := describe848(t, h.cl, "static848").Epoch

	leave := beat848("s1", -2, nil)
	leave.InstanceID = &inst
	if r := h.send(leave); r.ErrorCode != 0 || r.MemberEpoch != -2 {
		t.Fatalf("static leave: %+v", r)
	}
	// b does not get the departed member's partitions.
	nb := h.send(beat848("b", b.MemberEpoch, b.Assignment))
	if nb.ErrorCode != 0 || (nb.Assignment != nil && owned848(nb.Assignment) != 2) {
		t.Fatalf("b after the static leave: %+v", nb)
	}
	back := join848("s1-restarted", "t")
	back.InstanceID = &inst
	r := h.send(back)
	if r.ErrorCode != 0 || owned848(r.Assignment) != 2 {
		t.Fatalf("static rejoin: %+v", r)
	}
	if d := describe848(t, h.cl, "static848"); d.Epoch != epoch || len(d.Members) != 2 {
		t.Errorf("static rejoin rebalanced: epoch %d -> %d, %d members", epoch, d.Epoch, len(d.Members))
	}
	// The old member id of the instance is fenced.
	old := beat848("s1", a.MemberEpoch, nil)
	old.InstanceID = &inst
	wantCode(t, "old static member id", h.send(old).ErrorCode, kerr.FencedInstanceID)
}
