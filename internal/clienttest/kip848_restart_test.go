package clienttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// A KIP-848 consumer commits, the broker restarts on the same data, and a
// new consumer of the group resumes exactly at the committed offsets; the
// group itself (its epoch) was reloaded from __consumer_offsets.
func TestKIP848CommitRestartResume(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, kip848Overrides())
	addr := b.Addr().String()
	const topic, group, parts, per = "ledger", "resume848", 3, 40
	createTopic(t, addr, topic, parts, nil)
	producer := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceN(t, producer, topic, parts, per, "before")

	c := newConsumption()
	m := startMember(t, addr, group, topic, "first", kgo.CooperativeStickyBalancer(), c)
	waitFor848(t, "the first batch", 30*time.Second, func() bool { return c.total() == parts*per })
	m.leave() // commits and leaves (which grows the group epoch)
	epochBefore := describe848(t, producer, group).Epoch
	producer.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = brokertest.StartBroker(t, dir, kip848Overrides())
	addr = b.Addr().String()
	producer = newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	// The group survived the restart: same epoch, now empty.
	var d = describe848(t, producer, group)
	for deadline := time.Now().Add(30 * time.Second); d.ErrorCode != 0 && time.Now().Before(deadline); d = describe848(t, producer, group) {
		time.Sleep(50 * time.Millisecond) // the coordinator shard may still be loading
	}
	if d.ErrorCode != 0 || d.Epoch != epochBefore || d.State != "Empty" {
		t.Fatalf("after restart: %+v (epoch before %d)", d, epochBefore)
	}
	produceN(t, producer, topic, parts, per, "after")
	c2 := newConsumption()
	startMember(t, addr, group, topic, "second", kgo.CooperativeStickyBalancer(), c2)
	waitFor848(t, "the second batch", 30*time.Second, func() bool { return c2.total() == parts*per })
	time.Sleep(300 * time.Millisecond) // a record re-read from before the commit would show up by now
	c2.mu.Lock()
	defer c2.mu.Unlock()
	for k := range c2.seen {
		var p, off int
		if _, err := fmt.Sscanf(k, "%d/%d", &p, &off); err != nil || off < per {
			t.Errorf("resumed consumer read %s, before the committed offset %d", k, per)
		}
	}
	if len(c2.seen) != parts*per {
		t.Errorf("resumed consumer read %d records, want %d", len(c2.seen), parts*per)
	}
}

// An empty consumer group taken over by a classic JoinGroup stays classic
// across a restart: the takeover deleted the consumer group's records.
func TestKIP848EmptyGroupTakenOverByClassic(t *testing.T) {
	dir := t.TempDir()
	o := kip848Overrides()
	o["group.initial.rebalance.delay.ms"] = "0"
	b := brokertest.StartBroker(t, dir, o)
	addr := b.Addr().String()
	createTopic(t, addr, "t", 2, nil)
	cl := newKgo(t, addr)
	h := hb848{t, cl, "turncoat"}
	wantCode(t, "join", h.send(join848("m", "t")).ErrorCode, nil)
	wantCode(t, "leave", h.send(beat848("m", -1, nil)).ErrorCode, nil)

	req := kmsg.NewPtrJoinGroupRequest()
	req.Group = "turncoat"
	req.MemberID = "classic-member"
	req.SessionTimeoutMillis = 10000
	req.RebalanceTimeoutMillis = 10000
	req.ProtocolType = "consumer"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: (&kmsg.ConsumerMemberMetadata{Topics: []string{"t"}}).AppendTo(nil)}}
	req.MemberID = ""
	resp, err := req.RequestWith(testCtx(t), cl)
	if err == nil && resp.ErrorCode == kerr.MemberIDRequired.Code {
		req.MemberID = resp.MemberID
		resp, err = req.RequestWith(testCtx(t), cl)
	}
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("classic join of an empty consumer group: %v %+v", err, resp)
	}
	if d := describe848(t, cl, "turncoat"); d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("still a consumer group: %+v", d)
	}
	cl.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = brokertest.StartBroker(t, dir, o)
	cl = newKgo(t, b.Addr().String())
	var d kmsg.ConsumerGroupDescribeResponseGroup
	for deadline := time.Now().Add(30 * time.Second); ; {
		d = describe848(t, cl, "turncoat")
		if d.ErrorCode != kerr.CoordinatorLoadInProgress.Code && d.ErrorCode != kerr.NotCoordinator.Code || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("after restart the consumer group is back: %+v", d)
	}
}
