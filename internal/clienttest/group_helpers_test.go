package clienttest

// group_helpers_test.go holds what the consumer group tests share: a
// broker tuned for fast rebalances, a ledger of who consumed what, the
// coordinator's view of a group (DescribeGroups) and a split/leave/rejoin
// scenario that every client runs.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Group timing used by every group test: clients ask for a 3 s session
// (the broker's group.min.session.timeout.ms is lowered to allow it) and
// heartbeat every 300 ms, so an evicted member is noticed in seconds.
const (
	groupSession   = 3 * time.Second
	groupHeartbeat = 300 * time.Millisecond
	groupRebalance = 10 * time.Second
)

// startGroupBroker starts a broker whose coordinator rebalances at once
// (no initial delay) and accepts short session timeouts.
func startGroupBroker(t *testing.T) string {
	t.Helper()
	return startBroker(t, groupOverrides())
}

func groupOverrides() map[string]string {
	return map[string]string{
		"group.initial.rebalance.delay.ms": "0",
		"group.min.session.timeout.ms":     "500",
	}
}

// consumed is one record as a group member saw it.
type consumed struct {
	member     string
	generation int32 // the member's group generation when it polled; -1 if unknown
	partition  int32
	offset     int64
	value      string
}

// ledger collects what every member of a test consumed.
type ledger struct {
	mu   sync.Mutex
	recs []consumed
}

func (l *ledger) add(c consumed) {
	l.mu.Lock()
	l.recs = append(l.recs, c)
	l.mu.Unlock()
}

func (l *ledger) snapshot() []consumed {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.recs)
}

// byValue indexes the ledger by record value.
func (l *ledger) byValue() map[string][]consumed {
	out := make(map[string][]consumed)
	for _, c := range l.snapshot() {
		out[c.value] = append(out[c.value], c)
	}
	return out
}

// groupView is the coordinator's view of a group: its state and each
// member's assigned partitions of one topic, by client id.
type groupView struct {
	state   string
	members map[string][]int32
}

func (v groupView) String() string {
	ids := slices.Sorted(maps.Keys(v.members))
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s=%v", id, v.members[id]))
	}
	return v.state + " {" + strings.Join(parts, " ") + "}"
}

// describeGroup asks the coordinator (DescribeGroups) who owns what.
func describeGroup(ctx context.Context, adm *kadm.Client, group, topic string) (groupView, error) {
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return groupView{}, err
	}
	g, ok := gs[group]
	if !ok {
		return groupView{}, errors.New("group missing from DescribeGroups")
	}
	if g.Err != nil {
		return groupView{}, g.Err
	}
	v := groupView{state: g.State, members: make(map[string][]int32)}
	for _, m := range g.Members {
		var ps []int32
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, at := range c.Topics {
				if at.Topic == topic {
					ps = append(ps, at.Partitions...)
				}
			}
		}
		slices.Sort(ps)
		if _, dup := v.members[m.ClientID]; dup {
			return groupView{}, fmt.Errorf("two members with client id %q", m.ClientID)
		}
		v.members[m.ClientID] = ps
	}
	return v, nil
}

// waitSplit waits until the group is Stable with exactly the members in
// want (client id → partition count), owning disjoint partitions that
// cover all n partitions, and returns who owns each partition.
func waitSplit(t *testing.T, adm *kadm.Client, group, topic string, n int, want map[string]int) map[int32]string {
	t.Helper()
	var last groupView
	var lastErr error
	owners := make(map[int32]string)
	ok := func() bool {
		last, lastErr = describeGroup(testCtx(t), adm, group, topic)
		if lastErr != nil || last.state != "Stable" || len(last.members) != len(want) {
			return false
		}
		clear(owners)
		for id, ps := range last.members {
			if len(ps) != want[id] {
				return false
			}
			for _, p := range ps {
				if _, dup := owners[p]; dup {
					t.Fatalf("partition %d assigned twice in a Stable group: %v", p, last)
				}
				owners[p] = id
			}
		}
		return len(owners) == n
	}
	deadline := time.Now().Add(groupSession + 2*groupRebalance)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("group %s never split as %v; last view %v (err %v)", group, want, last, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return owners
}

// probe produces one record per partition with value "<tag>-p<N>" and
// waits until members consumed each; each must be consumed exactly by its
// owner (from waitSplit) — the clients consume what the coordinator says
// they own.
func probe(t *testing.T, prod *kgo.Client, l *ledger, topic, tag string, owners map[int32]string) {
	t.Helper()
	var recs []*kgo.Record
	for p := range int32(len(owners)) {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "%s-p%d", tag, p)})
	}
	produceFranz(t, prod, recs...)
	waitFor(t, "members consume the "+tag+" probes", func() bool {
		got := l.byValue()
		for p := range int32(len(owners)) {
			if len(got[fmt.Sprintf("%s-p%d", tag, p)]) == 0 {
				return false
			}
		}
		return true
	})
	got := l.byValue()
	for p, owner := range owners {
		cs := got[fmt.Sprintf("%s-p%d", tag, p)]
		for _, c := range cs {
			if c.member != owner || c.partition != p {
				t.Errorf("%s probe of partition %d consumed by %s from partition %d; the coordinator says %s owns it", tag, p, c.member, c.partition, owner)
			}
		}
		if len(cs) > 1 {
			t.Errorf("%s probe of partition %d consumed %d times: %v", tag, p, len(cs), cs)
		}
	}
}

// groupMember is one consumer of a client library, consuming into a
// ledger in the background until close, which leaves the group.
type groupMember interface {
	close()
}

// newMemberFunc starts a member with client id name; it must start at the
// earliest offset where the group has no commit.
type newMemberFunc func(t *testing.T, addr, group, topic, name string, l *ledger) groupMember

// runSplitLeaveRejoin is the scenario every client library passes: two
// members split a 6-partition topic 3/3; one leaves and the other owns
// all 6; it comes back and they split again. After each change, probes
// check that the members consume what the coordinator assigned.
func runSplitLeaveRejoin(t *testing.T, newMember newMemberFunc) {
	addr := startGroupBroker(t)
	topic, group := "split", "split-group"
	createTopic(t, addr, topic, 6, nil)
	adm := newAdmin(t, addr)
	prod := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	l := &ledger{}

	a := newMember(t, addr, group, topic, "member-a", l)
	b := newMember(t, addr, group, topic, "member-b", l)
	owners := waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 3, "member-b": 3})
	probe(t, prod, l, topic, "split", owners)

	b.close()
	owners = waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 6})
	probe(t, prod, l, topic, "alone", owners)

	b = newMember(t, addr, group, topic, "member-b", l)
	owners = waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 3, "member-b": 3})
	probe(t, prod, l, topic, "rejoined", owners)
	a.close()
	b.close()
}

// cuttableDialer is a kgo.Dialer whose connections can all be cut at once:
// cut closes them and makes every later dial fail, as a network partition
// between the client and the broker would.
type cuttableDialer struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func (d *cuttableDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, errors.New("cuttableDialer: network cut")
	}
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cuttableDialer) cutAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = true
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}
