package clienttest

// group_static_test.go: static membership (KIP-345, group.instance.id)
// with franz-go: a static member that restarts within its session timeout
// gets its partitions back without a rebalance; one that stays away is
// removed after the session timeout.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestGroupStaticMemberRestart(t *testing.T) {
	addr := startGroupBroker(t)
	const topic, group = "static", "static-group"
	createTopic(t, addr, topic, 6, nil)
	adm := newAdmin(t, addr)
	l := &ledger{}
	static := func(id string) newMemberFunc {
		return newFranzMember(kgo.RangeBalancer, kgo.InstanceID(id))
	}

	a := static("instance-a")(t, addr, group, topic, "member-a", l).(*franzMember)
	b := static("instance-b")(t, addr, group, topic, "member-b", l)
	waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 3, "member-b": 3})
	// A dynamic member comes and goes first, so the static members have
	// rejoined at least once before the restart.
	c := newFranzMember(kgo.RangeBalancer)(t, addr, group, topic, "member-c", l)
	waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 2, "member-b": 2, "member-c": 2})
	c.close()
	before := waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 3, "member-b": 3})
	// Once both consume their partitions, both have synced: the
	// generation a reports is the group's.
	prod := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	probe(t, prod, l, topic, "static-before", before)
	_, genBefore := a.cl.GroupMetadata()

	// A static member does not leave the group when it stops (kgo sends
	// no LeaveGroup for it), so the group waits for it to come back.
	b.close()
	static("instance-b")(t, addr, group, topic, "member-b", l)
	after := waitSplit(t, adm, group, topic, 6, map[string]int{"member-a": 3, "member-b": 3})
	for p, owner := range before {
		if after[p] != owner {
			t.Errorf("partition %d moved from %s to %s across a static member's restart", p, owner, after[p])
		}
	}
	if _, gen := a.cl.GroupMetadata(); gen != genBefore {
		t.Errorf("the other member's generation went from %d to %d: a static member's return caused a rebalance", genBefore, gen)
	}
	probe(t, prod, l, topic, "static-back", after)
}
