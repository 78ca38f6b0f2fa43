package group

// The test bench of the coordinator: a real metadata store, real logs and
// partitions of __consumer_offsets in t.TempDir(), a manual clock, and
// helpers that send kmsg requests the way a client would.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/storage"
)

type coordTest struct {
	t     testing.TB
	dir   string
	cfg   config.Broker
	clock *ManualClock
	meta  *metadata.Store
	logs  *storage.Manager
	parts *partition.Set
	c     *Coordinator
}

// testConfig: one offsets partition (every group in one shard), no
// initial delay unless a test wants one, small session bounds.
var testConfig = map[string]string{
	config.OffsetsTopicNumPartitions:    "1",
	config.GroupInitialRebalanceDelayMs: "0",
	config.GroupMinSessionTimeoutMs:     "1000",
}

func newCoordTest(t testing.TB, overrides map[string]string) *coordTest {
	t.Helper()
	set := map[string]string{}
	for k, v := range testConfig {
		set[k] = v
	}
	for k, v := range overrides {
		set[k] = v
	}
	cfg, err := config.NewBroker(set)
	if err != nil {
		t.Fatal(err)
	}
	ct := &coordTest{t: t, dir: t.TempDir(), cfg: cfg, clock: NewManualClock(time.Unix(1_700_000_000, 0))}
	ct.meta, err = metadata.Open(metadata.Options{Dir: ct.dir + "/_metadata", NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ct.meta.Close() })
	if err := ct.meta.Update(func(*metadata.Image) ([]metadata.Record, error) {
		return []metadata.Record{{Type: metadata.TypeRegisterBroker, Broker: &metadata.Broker{NodeID: 1, Host: "127.0.0.1", Port: 9092}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A user topic to commit offsets for.
	if err := ct.meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(img, cfg, metadata.TopicSpec{Name: "t", NumPartitions: 3, ReplicationFactor: 1})
	}); err != nil {
		t.Fatal(err)
	}
	ct.start()
	if err := ct.c.EnsureTopic(); err != nil {
		t.Fatal(err)
	}
	ct.syncLeadership()
	t.Cleanup(ct.stop)
	return ct
}

// start opens the logs and a coordinator on the data directory.
func (ct *coordTest) start() {
	var err error
	ct.logs, err = storage.OpenManager(ct.dir, storage.ManagerOptions{})
	if err != nil {
		ct.t.Fatal(err)
	}
	ct.parts = partition.NewSet()
	ct.c = New(Options{NodeID: 1, Config: ct.cfg, Meta: ct.meta, Parts: ct.parts, Clock: ct.clock})
}

// syncLeadership opens the offsets topic's partitions (as the broker's
// reconcile does) and waits for the coordinator to load them.
func (ct *coordTest) syncLeadership() {
	img := ct.meta.Image()
	t := img.Topic(metadata.OffsetsTopic)
	for i, pm := range t.Partitions {
		if ct.parts.Get(t.Name, int32(i)) != nil {
			continue
		}
		lg, err := ct.logs.Open(storage.TopicPartition{Topic: t.Name, Partition: int32(i)}, storage.Config{RetentionMs: -1})
		if err != nil {
			ct.t.Fatal(err)
		}
		st := partition.State{Leader: pm.Leader, LeaderEpoch: pm.LeaderEpoch, Replicas: pm.Replicas, ISR: pm.ISR}
		ct.parts.Put(partition.New(t.Name, int32(i), 1, lg, st, partition.Settings{MinInsyncReplicas: 1}))
	}
	ct.c.SyncLeadership(img)
	deadline := time.Now().Add(10 * time.Second)
	for !ct.c.Loaded() {
		if time.Now().After(deadline) {
			ct.t.Fatal("coordinator did not load")
		}
		time.Sleep(time.Millisecond)
	}
}

func (ct *coordTest) stop() {
	if ct.c != nil {
		ct.c.Close()
		ct.c = nil
	}
	if ct.logs != nil {
		ct.logs.Close()
		ct.logs = nil
	}
}

// restart closes the coordinator and the logs and opens both again: the
// new coordinator knows only what it replays.
func (ct *coordTest) restart() {
	ct.stop()
	ct.start()
	ct.syncLeadership()
}

var req9 = Request{Version: 9, ClientID: "cl", ClientHost: "/127.0.0.1"}

func reqV(v int16) Request { return Request{Version: v, ClientID: "cl", ClientHost: "/127.0.0.1"} }

// joinReq is a consumer's JoinGroup with one protocol.
func joinReq(groupID, memberID, protocol string, meta string) *kmsg.JoinGroupRequest {
	r := kmsg.NewPtrJoinGroupRequest()
	r.Group = groupID
	r.MemberID = memberID
	r.ProtocolType = "consumer"
	r.SessionTimeoutMillis = 10000
	r.RebalanceTimeoutMillis = 30000
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = protocol
	p.Metadata = []byte(meta)
	r.Protocols = append(r.Protocols, p)
	return r
}

// pendingJoin is a JoinGroup in flight.
type pendingJoin struct {
	ch chan *kmsg.JoinGroupResponse
}

// join sends r and returns at once; wait gets the response.
func (ct *coordTest) join(req Request, r *kmsg.JoinGroupRequest) *pendingJoin {
	p := &pendingJoin{ch: make(chan *kmsg.JoinGroupResponse, 1)}
	go func() { p.ch <- ct.c.JoinGroup(context.Background(), req, r) }()
	return p
}

func (p *pendingJoin) wait(t testing.TB) *kmsg.JoinGroupResponse {
	t.Helper()
	select {
	case r := <-p.ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("JoinGroup did not return")
		return nil
	}
}

// notYet checks the join is still waiting (it is answered by a state
// change under the group's lock, which has happened by the time the
// coordinator call that caused it returned).
func (p *pendingJoin) notYet(t testing.TB) {
	t.Helper()
	select {
	case r := <-p.ch:
		t.Fatalf("JoinGroup answered early: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
}

// joinNew joins a new dynamic member the KIP-394 way (MEMBER_ID_REQUIRED,
// then again with the id) and returns the pending second join.
func (ct *coordTest) joinNew(groupID, protocol, meta string) (string, *pendingJoin) {
	ct.t.Helper()
	r := ct.join(req9, joinReq(groupID, "", protocol, meta)).wait(ct.t)
	if r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		ct.t.Fatalf("first join: error %d member %q, want MEMBER_ID_REQUIRED with an id", r.ErrorCode, r.MemberID)
	}
	return r.MemberID, ct.join(req9, joinReq(groupID, r.MemberID, protocol, meta))
}

func syncReq(groupID, memberID string, gen int32, assign map[string]string) *kmsg.SyncGroupRequest {
	r := kmsg.NewPtrSyncGroupRequest()
	r.Group, r.MemberID, r.Generation = groupID, memberID, gen
	for m, a := range assign {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = m, []byte(a)
		r.GroupAssignment = append(r.GroupAssignment, ga)
	}
	return r
}

type pendingSync struct{ ch chan *kmsg.SyncGroupResponse }

func (ct *coordTest) sync(r *kmsg.SyncGroupRequest) *pendingSync {
	p := &pendingSync{ch: make(chan *kmsg.SyncGroupResponse, 1)}
	go func() { p.ch <- ct.c.SyncGroup(context.Background(), reqV(5), r) }()
	return p
}

func (p *pendingSync) wait(t testing.TB) *kmsg.SyncGroupResponse {
	t.Helper()
	select {
	case r := <-p.ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("SyncGroup did not return")
		return nil
	}
}

func (ct *coordTest) heartbeat(groupID, memberID string, gen int32) int16 {
	r := kmsg.NewPtrHeartbeatRequest()
	r.Group, r.MemberID, r.Generation = groupID, memberID, gen
	return ct.c.Heartbeat(reqV(4), r).ErrorCode
}

func (ct *coordTest) commit(groupID, memberID string, gen int32, offsets map[int32]int64) map[int32]int16 {
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Group, r.MemberID, r.Generation = groupID, memberID, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	for p, o := range offsets {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, o
		rt.Partitions = append(rt.Partitions, rp)
	}
	r.Topics = append(r.Topics, rt)
	img := ct.meta.Image()
	exists := func(topic string, p int32) bool {
		t := img.Topic(topic)
		return t != nil && p >= 0 && int(p) < len(t.Partitions)
	}
	resp := ct.c.OffsetCommit(reqV(9), r, exists)
	out := map[int32]int16{}
	for _, p := range resp.Topics[0].Partitions {
		out[p.Partition] = p.ErrorCode
	}
	return out
}

// committed returns the group's committed offsets of topic t (-1: none).
func (ct *coordTest) committed(groupID string) map[int32]int64 {
	f := ct.c.FetchOffsets(groupID, "", -1, []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0, 1, 2}}}, false)
	if f.Code != 0 {
		ct.t.Fatalf("fetch offsets of %s: error %d", groupID, f.Code)
	}
	out := map[int32]int64{}
	for _, p := range f.Topics[0].Partitions {
		out[p.Partition] = p.Offset
	}
	return out
}

// snapshot renders every group's observable state (describe + offsets),
// to compare before and after a bad request or a restart.
func (ct *coordTest) snapshot() string {
	var b strings.Builder
	list := ct.c.ListGroups(reqV(5), kmsg.NewPtrListGroupsRequest())
	ids := []string{}
	for _, g := range list.Groups {
		ids = append(ids, g.Group)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d := ct.c.DescribeGroup(5, id, false)
		fmt.Fprintf(&b, "group %s state=%s type=%s protocol=%s\n", id, d.State, d.ProtocolType, d.Protocol)
		for _, m := range d.Members {
			fmt.Fprintf(&b, "  member %s meta=%q assignment=%q\n", m.MemberID, m.ProtocolMetadata, m.MemberAssignment)
		}
		g := ct.c.FetchOffsets(id, "", -1, nil, false)
		var offs []string
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				offs = append(offs, fmt.Sprintf("%s/%d=%d(%q)", t.Topic, p.Partition, p.Offset, *p.Metadata))
			}
		}
		sort.Strings(offs)
		fmt.Fprintf(&b, "  offsets %s\n", strings.Join(offs, " "))
		if g := ct.group(id); g != nil {
			g.mu.Lock()
			fmt.Fprintf(&b, "  generation=%d leader=%s\n", g.generation, g.leader)
			g.mu.Unlock()
		}
	}
	return b.String()
}

func (ct *coordTest) group(id string) *Group {
	s, code := ct.c.shardFor(id)
	if code != 0 {
		return nil
	}
	return s.group(id)
}

func (ct *coordTest) state(id string) State {
	g := ct.group(id)
	if g == nil {
		return StateDead
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// stableGroup forms a Stable group of n dynamic members and returns their
// ids (the first is the leader) and the generation.
func (ct *coordTest) stableGroup(groupID string, n int) ([]string, int32) {
	ct.t.Helper()
	var ids []string
	var joins []*pendingJoin
	for i := range n {
		id, p := ct.joinNew(groupID, "range", fmt.Sprintf("m%d", i))
		ids = append(ids, id)
		joins = append(joins, p)
		if i == 0 {
			// The first member's join completes alone (no delay); the
			// others join the group it formed.
			r := p.wait(ct.t)
			joins[0] = nil
			if r.ErrorCode != 0 {
				ct.t.Fatalf("join: %d", r.ErrorCode)
			}
			ct.sync(syncReq(groupID, id, r.Generation, nil)).wait(ct.t)
		}
	}
	if n == 1 {
		return ids, 1
	}
	// Every earlier member rejoins for the new generation.
	for i := range n - 1 {
		if joins[i] == nil {
			joins[i] = ct.join(req9, joinReq(groupID, ids[i], "range", fmt.Sprintf("m%d", i)))
		}
	}
	var gen int32
	for i, p := range joins {
		r := p.wait(ct.t)
		if r.ErrorCode != 0 {
			ct.t.Fatalf("join of member %d: error %d", i, r.ErrorCode)
		}
		gen = r.Generation
	}
	assign := map[string]string{}
	for i, id := range ids {
		assign[id] = fmt.Sprintf("a%d", i)
	}
	var syncs []*pendingSync
	for i, id := range ids {
		if i == 0 {
			continue
		}
		syncs = append(syncs, ct.sync(syncReq(groupID, id, gen, nil)))
	}
	if r := ct.sync(syncReq(groupID, ids[0], gen, assign)).wait(ct.t); r.ErrorCode != 0 {
		ct.t.Fatalf("leader sync: %d", r.ErrorCode)
	}
	for _, s := range syncs {
		if r := s.wait(ct.t); r.ErrorCode != 0 {
			ct.t.Fatalf("follower sync: %d", r.ErrorCode)
		}
	}
	if st := ct.state(groupID); st != StateStable {
		ct.t.Fatalf("group %s is %s, want Stable", groupID, st)
	}
	return ids, gen
}

// waitAwaiting waits until n members of the group wait for a JoinGroup
// (or SyncGroup, with sync) response: the requests sent from goroutines
// have reached the coordinator.
func (ct *coordTest) waitAwaiting(groupID string, n int, sync bool) {
	ct.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := 0
		if g := ct.group(groupID); g != nil {
			g.mu.Lock()
			for _, m := range g.members {
				if !sync && m.joinWait != nil || sync && m.syncWait != nil {
					got++
				}
			}
			g.mu.Unlock()
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			ct.t.Fatalf("%d members awaiting, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}
