package clienttest

// group_franz_test.go: franz-go's kgo.ConsumerGroup against the classic
// group protocol, with the eager range balancer and the cooperative-sticky
// balancer: split/leave/rejoin, eviction of a member whose network is cut,
// and exactly-once accounting while members come and go.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// balancers are the two kinds of rebalance kgo offers: eager (every
// partition revoked at each rebalance) and cooperative (only moved ones).
var balancers = []struct {
	name string
	b    func() kgo.GroupBalancer
}{
	{"range-eager", kgo.RangeBalancer},
	{"cooperative-sticky", kgo.CooperativeStickyBalancer},
}

// franzMember is a kgo group consumer that processes a poll fully before
// a rebalance may run (BlockRebalanceOnPoll) and commits what it polled
// when partitions are revoked, so a graceful membership change neither
// loses nor repeats a record.
type franzMember struct {
	cl     *kgo.Client
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newFranzMember(balancer func() kgo.GroupBalancer, extra ...kgo.Opt) newMemberFunc {
	return func(t *testing.T, addr, group, topic, name string, l *ledger) groupMember {
		t.Helper()
		opts := append([]kgo.Opt{
			kgo.SeedBrokers(addr),
			kgo.ClientID(name),
			kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(topic),
			kgo.Balancers(balancer()),
			kgo.SessionTimeout(groupSession),
			kgo.HeartbeatInterval(groupHeartbeat),
			kgo.RebalanceTimeout(groupRebalance),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(200 * time.Millisecond),
			kgo.DisableAutoCommit(),
			kgo.BlockRebalanceOnPoll(),
			kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
				if err := cl.CommitUncommittedOffsets(ctx); err != nil {
					t.Logf("%s: commit on revoke: %v", name, err)
				}
			}),
		}, extra...)
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatalf("kgo.NewClient: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		m := &franzMember{cl: cl, name: name, cancel: cancel, done: make(chan struct{})}
		go m.poll(ctx, l)
		t.Cleanup(m.close)
		return m
	}
}

// poll consumes into l until ctx ends. At most 5 records per poll, so a
// member is usually mid-stream when the group changes.
func (m *franzMember) poll(ctx context.Context, l *ledger) {
	defer close(m.done)
	for ctx.Err() == nil {
		fs := m.cl.PollRecords(ctx, 5)
		_, gen := m.cl.GroupMetadata()
		fs.EachRecord(func(r *kgo.Record) {
			l.add(consumed{member: m.name, generation: gen, partition: r.Partition, offset: r.Offset, value: string(r.Value)})
		})
		m.cl.AllowRebalance()
	}
}

// close stops polling, commits what was polled and leaves the group.
func (m *franzMember) close() {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.cl.CommitUncommittedOffsets(ctx)
		m.cl.Close()
	})
}

func TestGroupFranzSplitLeaveRejoin(t *testing.T) {
	for _, bal := range balancers {
		t.Run(bal.name, func(t *testing.T) {
			runSplitLeaveRejoin(t, newFranzMember(bal.b))
		})
	}
}

// TestGroupFranzEviction cuts one member's network: it can no longer
// heartbeat, so after the session timeout the coordinator evicts it and
// gives its partitions to the other member, which consumes them. No record
// is consumed twice by different members in one generation, none skipped.
func TestGroupFranzEviction(t *testing.T) {
	for _, bal := range balancers {
		t.Run(bal.name, func(t *testing.T) {
			addr := startGroupBroker(t)
			topic, group := "evict", "evict-group"
			createTopic(t, addr, topic, 6, nil)
			adm := newAdmin(t, addr)
			prod := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			l := &ledger{}

			d := &cuttableDialer{}
			victim := newFranzMember(bal.b, kgo.Dialer(d.dial), kgo.RetryTimeout(2*time.Second))(t, addr, group, topic, "victim", l)
			newFranzMember(bal.b)(t, addr, group, topic, "survivor", l)
			owners := waitSplit(t, adm, group, topic, 6, map[string]int{"victim": 3, "survivor": 3})
			produceNumbered(t, prod, topic, 6, 0, 60)
			waitFor(t, "the first 60 records consumed", func() bool { return len(l.byValue()) >= 60 })
			probe(t, prod, l, topic, "before-cut", owners)

			d.cutAll()
			cutAt := time.Now()
			// Records produced while the victim is unreachable must
			// reach the survivor once it owns everything.
			produceNumbered(t, prod, topic, 6, 60, 60)
			owners = waitSplit(t, adm, group, topic, 6, map[string]int{"survivor": 6})
			t.Logf("evicted %v after the cut (session timeout %v)", time.Since(cutAt).Round(100*time.Millisecond), groupSession)
			probe(t, prod, l, topic, "after-cut", owners)
			waitFor(t, "all 120 numbered records consumed", func() bool { return countNumbered(l, 120) == 120 })
			checkOncePerGeneration(t, l)
			victim.close()
		})
	}
}

// TestGroupFranzExactlyOnceAccounting produces numbered records while
// members join and leave, and checks that every record was consumed
// exactly once: members commit what they polled when partitions are
// revoked, so no graceful change loses or repeats one.
func TestGroupFranzExactlyOnceAccounting(t *testing.T) {
	for _, bal := range balancers {
		t.Run(bal.name, func(t *testing.T) {
			addr := startGroupBroker(t)
			topic, group := "ledger", "ledger-group"
			createTopic(t, addr, topic, 6, nil)
			adm := newAdmin(t, addr)
			prod := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			l := &ledger{}
			newMember := newFranzMember(bal.b)

			const per = 150
			produceNumbered(t, prod, topic, 6, 0, per)
			m1 := newMember(t, addr, group, topic, "m1", l)
			waitFor(t, "m1 consuming", func() bool { return len(l.snapshot()) > 0 })
			m2 := newMember(t, addr, group, topic, "m2", l) // joins while m1 consumes
			waitSplit(t, adm, group, topic, 6, map[string]int{"m1": 3, "m2": 3})
			produceNumbered(t, prod, topic, 6, per, per)
			m3 := newMember(t, addr, group, topic, "m3", l)
			m1.close() // leaves while the others consume
			waitSplit(t, adm, group, topic, 6, map[string]int{"m2": 3, "m3": 3})
			produceNumbered(t, prod, topic, 6, 2*per, per)
			m4 := newMember(t, addr, group, topic, "m4", l)
			waitSplit(t, adm, group, topic, 6, map[string]int{"m2": 2, "m3": 2, "m4": 2})
			produceNumbered(t, prod, topic, 6, 3*per, per)
			waitFor(t, "every record consumed", func() bool { return countNumbered(l, 4*per) == 4*per })
			m2.close()
			m3.close()
			m4.close()

			members := map[string]bool{}
			for v, cs := range l.byValue() {
				if len(cs) != 1 {
					t.Errorf("record %s consumed %d times: %v", v, len(cs), cs)
				}
				members[cs[0].member] = true
			}
			if len(members) < 3 {
				t.Errorf("only %d members consumed anything; the test did not exercise membership changes", len(members))
			}
			checkOncePerGeneration(t, l)
		})
	}
}

// produceNumbered produces n records "rec-<from>".."rec-<from+n-1>",
// record i to partition i%partitions.
func produceNumbered(t *testing.T, prod *kgo.Client, topic string, partitions, from, n int) {
	t.Helper()
	recs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: fmt.Appendf(nil, "rec-%d", i)})
	}
	produceFranz(t, prod, recs...)
}

// countNumbered counts the distinct records rec-0..rec-<n-1> consumed.
func countNumbered(l *ledger, n int) int {
	got := l.byValue()
	c := 0
	for i := range n {
		if len(got[fmt.Sprintf("rec-%d", i)]) > 0 {
			c++
		}
	}
	return c
}

// checkOncePerGeneration fails if two different members consumed the
// same record while in the same group generation: the coordinator gave
// one partition to two members at once.
func checkOncePerGeneration(t *testing.T, l *ledger) {
	t.Helper()
	for v, cs := range l.byValue() {
		byGen := map[int32]string{}
		for _, c := range cs {
			if other, ok := byGen[c.generation]; ok && other != c.member {
				t.Errorf("record %s consumed by %s and %s in generation %d", v, other, c.member, c.generation)
			}
			byGen[c.generation] = c.member
		}
	}
}
