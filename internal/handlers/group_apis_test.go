package handlers_test

// The group APIs over the wire with kmsg requests against a real broker:
// coordinator discovery, the internal topic's protections, listing,
// describing and deleting groups, multi-group OffsetFetch and OffsetDelete.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
	"github.com/strata-io/strata/internal/record"
)

type groupEnv struct {
	t    *testing.T
	addr string
	cl   *kgo.Client
	ctx  context.Context
}

func startGroupEnv(t *testing.T) *groupEnv {
	t.Helper()
	addr := brokertest.Start(t, groupTestConfig)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e := &groupEnv{t: t, addr: addr, cl: cl, ctx: ctx}
	ct := kmsg.NewPtrCreateTopicsRequest()
	ct.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "t", NumPartitions: 3, ReplicationFactor: 1}}
	if _, err := ct.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	return e
}

// req sends r to broker 1 (the coordinator of every group on one node),
// retrying while the coordinator's shards load.
func (e *groupEnv) req(r kmsg.Request) kmsg.Response {
	e.t.Helper()
	for {
		resp, err := e.cl.Broker(1).Request(e.ctx, r)
		if err != nil {
			e.t.Fatalf("%T: %v", r, err)
		}
		if ec, ok := resp.(interface{ GetErrorCode() int16 }); !ok || ec.GetErrorCode() != kerr.CoordinatorLoadInProgress.Code {
			return resp
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reqV sends r at exactly version v on its own connection (a kgo client
// would pick the highest version both sides know).
func (e *groupEnv) reqV(v int16, r kmsg.Request) kmsg.Response {
	e.t.Helper()
	r.SetVersion(v)
	conn, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("test")).AppendRequest(nil, r, 7)); err != nil {
		e.t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		e.t.Fatalf("%T v%d: %v", r, v, err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(conn, body); err != nil {
		e.t.Fatal(err)
	}
	body = body[4:] // correlation id
	resp := r.ResponseKind()
	resp.SetVersion(v)
	if resp.IsFlexible() {
		body = body[1:] // empty header tag section
	}
	if err := resp.ReadFrom(body); err != nil {
		e.t.Fatalf("%T v%d: decode: %v", r, v, err)
	}
	return resp
}

func TestFindCoordinatorVersions(t *testing.T) {
	e := startGroupEnv(t)
	for v := int16(0); v <= 5; v++ {
		r := kmsg.NewPtrFindCoordinatorRequest()
		r.Version = v
		r.CoordinatorKey = "g"
		r.CoordinatorKeys = []string{"g", "h"}
		resp := e.reqV(v, r).(*kmsg.FindCoordinatorResponse)
		if v < 4 {
			if resp.ErrorCode != 0 || resp.NodeID != 1 || resp.Port <= 0 {
				t.Errorf("v%d: %+v", v, resp)
			}
			continue
		}
		if len(resp.Coordinators) != 2 {
			t.Fatalf("v%d: %d coordinators for 2 keys", v, len(resp.Coordinators))
		}
		for _, c := range resp.Coordinators {
			if c.ErrorCode != 0 || c.NodeID != 1 || c.Port <= 0 {
				t.Errorf("v%d key %s: %+v", v, c.Key, c)
			}
		}
	}
	// Transactions are not implemented: a fast, non-retriable answer.
	r := kmsg.NewPtrFindCoordinatorRequest()
	r.CoordinatorType = 1
	r.CoordinatorKeys = []string{"txn"}
	if c := e.req(r).(*kmsg.FindCoordinatorResponse).Coordinators[0]; c.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Errorf("transaction key: %+v", c)
	}
	// The offsets topic now exists, is internal and compacted.
	mr := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	name := "__consumer_offsets"
	mt.Topic = &name
	mr.Topics = append(mr.Topics, mt)
	md := e.req(mr).(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || !md.Topics[0].IsInternal || len(md.Topics[0].Partitions) != 4 {
		t.Fatalf("metadata of the offsets topic: %+v", md.Topics)
	}
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: name, ConfigNames: []string{"cleanup.policy", "segment.bytes"}}}
	cfg := e.req(dc).(*kmsg.DescribeConfigsResponse)
	got := map[string]string{}
	for _, c := range cfg.Resources[0].Configs {
		got[c.Name] = *c.Value
	}
	if got["cleanup.policy"] != "compact" || got["segment.bytes"] != "104857600" {
		t.Fatalf("offsets topic configs: %v", got)
	}
}

func TestOffsetsTopicIsProtected(t *testing.T) {
	e := startGroupEnv(t)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g"}
	e.req(fc)
	name := "__consumer_offsets"

	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = -1, 5000
	pr.Topics = []kmsg.ProduceRequestTopic{{Topic: name, Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: oneBatch()}}}}
	if c := e.req(pr).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; c != kerr.InvalidTopicException.Code {
		t.Errorf("produce to the offsets topic: %d", c)
	}
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{name}
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &name}}
	if c := e.req(dt).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; c != kerr.InvalidTopicException.Code {
		t.Errorf("delete the offsets topic: %d", c)
	}
	cp := kmsg.NewPtrCreatePartitionsRequest()
	cp.Topics = []kmsg.CreatePartitionsRequestTopic{{Topic: name, Count: 60}}
	if c := e.req(cp).(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode; c != kerr.InvalidTopicException.Code {
		t.Errorf("repartition the offsets topic: %d", c)
	}
	dr := kmsg.NewPtrDeleteRecordsRequest()
	dr.Topics = []kmsg.DeleteRecordsRequestTopic{{Topic: name, Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{Partition: 0, Offset: -1}}}}
	if c := e.req(dr).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode; c != kerr.InvalidTopicException.Code {
		t.Errorf("delete records of the offsets topic: %d", c)
	}
}

// oneBatch is a valid uncompressed batch of one record.
func oneBatch() []byte {
	return record.Build(record.BatchSpec{LeaderEpoch: -1, Records: []record.RecordSpec{{Key: []byte("k"), Value: []byte("v"), Timestamp: 1}}})
}

func TestGroupAdminAPIs(t *testing.T) {
	e := startGroupEnv(t)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"simple", "other"}
	e.req(fc)
	commit := func(group string, offsets map[int32]int64) {
		r := kmsg.NewPtrOffsetCommitRequest()
		r.Group, r.Generation = group, -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "t"
		for p, o := range offsets {
			rt.Partitions = append(rt.Partitions, kmsg.OffsetCommitRequestTopicPartition{Partition: p, Offset: o, LeaderEpoch: -1})
		}
		r.Topics = []kmsg.OffsetCommitRequestTopic{rt}
		resp := e.req(r).(*kmsg.OffsetCommitResponse)
		for _, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("commit %s/%d: %d", group, p.Partition, p.ErrorCode)
			}
		}
	}
	commit("simple", map[int32]int64{0: 5, 1: 6})
	commit("other", map[int32]int64{2: 7})

	// OffsetFetch v8: two groups and an unknown one in one request.
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Groups = []kmsg.OffsetFetchRequestGroup{
		{Group: "simple", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0, 1, 2}}}},
		{Group: "other"}, // null topics: everything committed
		{Group: "unknown", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}},
	}
	fr := e.reqV(8, of).(*kmsg.OffsetFetchResponse)
	if len(fr.Groups) != 3 {
		t.Fatalf("%d groups", len(fr.Groups))
	}
	if ps := fr.Groups[0].Topics[0].Partitions; ps[0].Offset != 5 || ps[1].Offset != 6 || ps[2].Offset != -1 {
		t.Errorf("simple: %+v", ps)
	}
	if ts := fr.Groups[1].Topics; len(ts) != 1 || len(ts[0].Partitions) != 1 || ts[0].Partitions[0].Offset != 7 {
		t.Errorf("other (all topics): %+v", ts)
	}
	if g := fr.Groups[2]; g.ErrorCode != 0 || g.Topics[0].Partitions[0].Offset != -1 {
		t.Errorf("unknown group: %+v", g)
	}
	// The same through v1 (per-partition answer).
	of1 := kmsg.NewPtrOffsetFetchRequest()
	of1.Group = "simple"
	of1.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{1}}}
	if p := e.reqV(1, of1).(*kmsg.OffsetFetchResponse).Topics[0].Partitions[0]; p.Offset != 6 {
		t.Errorf("v1 fetch: %+v", p)
	}

	// ListGroups with filters.
	lg := kmsg.NewPtrListGroupsRequest()
	lg.StatesFilter = []string{"empty"} // case-insensitive, as in Kafka
	lg.TypesFilter = []string{"classic"}
	groups := e.req(lg).(*kmsg.ListGroupsResponse).Groups
	if len(groups) != 2 || groups[0].Group != "other" || groups[1].Group != "simple" || groups[0].GroupState != "Empty" || groups[0].GroupType != "classic" {
		t.Errorf("list: %+v", groups)
	}
	lg.StatesFilter = []string{"Stable"}
	if groups := e.req(lg).(*kmsg.ListGroupsResponse).Groups; len(groups) != 0 {
		t.Errorf("list Stable: %+v", groups)
	}

	// DescribeGroups: unknown groups are Dead before v6, not found from v6.
	for _, v := range []int16{5, 6} {
		dg := kmsg.NewPtrDescribeGroupsRequest()
		dg.Groups = []string{"simple", "nope"}
		resp := e.reqV(v, dg).(*kmsg.DescribeGroupsResponse)
		if resp.Groups[0].ErrorCode != 0 || resp.Groups[0].State != "Empty" {
			t.Errorf("v%d describe simple: %+v", v, resp.Groups[0])
		}
		want := int16(0)
		if v >= 6 {
			want = kerr.GroupIDNotFound.Code
		}
		if resp.Groups[1].ErrorCode != want || resp.Groups[1].State != "Dead" {
			t.Errorf("v%d describe unknown: %+v", v, resp.Groups[1])
		}
	}

	// OffsetDelete, then DeleteGroups.
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "simple"
	od.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	if r := e.req(od).(*kmsg.OffsetDeleteResponse); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Errorf("offset delete: %+v", r)
	}
	od.Group = "nope"
	if r := e.req(od).(*kmsg.OffsetDeleteResponse); r.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Errorf("offset delete of an unknown group: %d", r.ErrorCode)
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"simple", "nope", ""}
	dr := e.req(del).(*kmsg.DeleteGroupsResponse)
	if dr.Groups[0].ErrorCode != 0 || dr.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code || dr.Groups[2].ErrorCode != kerr.InvalidGroupID.Code {
		t.Errorf("delete groups: %+v", dr.Groups)
	}
	lg = kmsg.NewPtrListGroupsRequest()
	if groups := e.req(lg).(*kmsg.ListGroupsResponse).Groups; len(groups) != 1 || groups[0].Group != "other" {
		t.Errorf("list after delete: %+v", groups)
	}
}

// TestFranzCooperativeGroupSplitsAndLeaves: two cooperative-sticky
// members split a topic's partitions; when one leaves the other gets all.
func TestFranzCooperativeGroupSplitsAndLeaves(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	func() {
		b := brokertest.StartBroker(t, t.TempDir(), groupTestConfig)
		defer b.Close()
		addr := b.Addr().String()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		ctr := kmsg.NewPtrCreateTopicsRequest()
		ctr.Topics = []kmsg.CreateTopicsRequestTopic{{Topic: "coop", NumPartitions: 6, ReplicationFactor: 1}}
		if _, err := ctr.RequestWith(ctx, admin); err != nil {
			t.Fatal(err)
		}
		newMember := func() *kgo.Client {
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("coop-g"), kgo.ConsumeTopics("coop"),
				kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(200*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			return cl
		}
		m1, m2 := newMember(), newMember()
		defer m1.Close()
		owned := func() (int, int) {
			d := kmsg.NewPtrDescribeGroupsRequest()
			d.Groups = []string{"coop-g"}
			resp, err := d.RequestWith(ctx, admin)
			if err != nil || len(resp.Groups) == 0 || resp.Groups[0].State != "Stable" {
				return -1, -1
			}
			var counts []int
			for _, m := range resp.Groups[0].Members {
				var a kmsg.ConsumerMemberAssignment
				if err := a.ReadFrom(m.MemberAssignment); err != nil {
					return -1, -1
				}
				n := 0
				for _, tp := range a.Topics {
					n += len(tp.Partitions)
				}
				counts = append(counts, n)
			}
			if len(counts) == 1 {
				return counts[0], 0
			}
			if len(counts) != 2 {
				return -1, -1
			}
			return counts[0], counts[1]
		}
		waitFor := func(a, b int) {
			for {
				x, y := owned()
				if x == a && y == b || x == b && y == a {
					return
				}
				if ctx.Err() != nil {
					t.Fatalf("group never reached a %d/%d split (last %d/%d)", a, b, x, y)
				}
				poll(ctx, m1)
				time.Sleep(20 * time.Millisecond)
			}
		}
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			for {
				select {
				case <-stop:
					return
				default:
					poll(ctx, m2)
				}
			}
		}()
		waitFor(3, 3)
		close(stop)
		<-stopped
		m2.Close() // leaves the group
		waitFor(6, 0)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after the broker closed:\n%s", goroutines, n, buf[:runtime.Stack(buf, true)])
	}
}

// poll runs one short poll so the client's group machinery makes progress.
func poll(ctx context.Context, cl *kgo.Client) {
	c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	cl.PollFetches(c)
}

// TestClassicGroupOverEveryVersion runs one member through join, sync,
// heartbeat, commit, fetch and leave at old and new versions of each API,
// over the wire.
func TestClassicGroupOverEveryVersion(t *testing.T) {
	e := startGroupEnv(t)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"warm-up"}
	e.req(fc)
	for _, v := range []int16{0, 1, 3, 4, 5, 7, 9} {
		group := fmt.Sprintf("versions-%d", v)
		jr := kmsg.NewPtrJoinGroupRequest()
		jr.Group, jr.ProtocolType = group, "consumer"
		jr.SessionTimeoutMillis, jr.RebalanceTimeoutMillis = 10000, 10000
		jr.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte("meta")}}
		join := e.reqV(v, jr).(*kmsg.JoinGroupResponse)
		if v >= 4 {
			if join.ErrorCode != kerr.MemberIDRequired.Code || join.MemberID == "" {
				t.Fatalf("JoinGroup v%d: %+v, want MEMBER_ID_REQUIRED", v, join)
			}
			jr.MemberID = join.MemberID
			join = e.reqV(v, jr).(*kmsg.JoinGroupResponse)
		}
		if join.ErrorCode != 0 || join.Generation != 1 || join.LeaderID != join.MemberID || len(join.Members) != 1 || string(join.Members[0].ProtocolMetadata) != "meta" {
			t.Fatalf("JoinGroup v%d: %+v", v, join)
		}
		sv := min(v, 5)
		sr := kmsg.NewPtrSyncGroupRequest()
		sr.Group, sr.MemberID, sr.Generation = group, join.MemberID, 1
		pt, p := "consumer", "range"
		sr.ProtocolType, sr.Protocol = &pt, &p
		sr.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: join.MemberID, MemberAssignment: []byte("mine")}}
		if s := e.reqV(sv, sr).(*kmsg.SyncGroupResponse); s.ErrorCode != 0 || string(s.MemberAssignment) != "mine" {
			t.Fatalf("SyncGroup v%d: %+v", sv, s)
		}
		hr := kmsg.NewPtrHeartbeatRequest()
		hr.Group, hr.MemberID, hr.Generation = group, join.MemberID, 1
		if h := e.reqV(min(v, 4), hr).(*kmsg.HeartbeatResponse); h.ErrorCode != 0 {
			t.Fatalf("Heartbeat v%d: %d", min(v, 4), h.ErrorCode)
		}
		cv := min(v+2, 9) // OffsetCommit goes further than JoinGroup
		cr := kmsg.NewPtrOffsetCommitRequest()
		cr.Group, cr.MemberID, cr.Generation = group, join.MemberID, 1
		md := "md"
		cr.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: int64(100 + v), LeaderEpoch: -1, Metadata: &md}}}}
		if c := e.reqV(cv, cr).(*kmsg.OffsetCommitResponse); c.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("OffsetCommit v%d: %d", cv, c.Topics[0].Partitions[0].ErrorCode)
		}
		fv := min(v+1, 7)
		fr := kmsg.NewPtrOffsetFetchRequest()
		fr.Group = group
		fr.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{1}}}
		if f := e.reqV(fv, fr).(*kmsg.OffsetFetchResponse); f.Topics[0].Partitions[0].Offset != int64(100+v) || *f.Topics[0].Partitions[0].Metadata != "md" {
			t.Fatalf("OffsetFetch v%d: %+v", fv, f.Topics[0].Partitions[0])
		}
		lv := min(v, 5)
		lr := kmsg.NewPtrLeaveGroupRequest()
		lr.Group, lr.MemberID = group, join.MemberID
		lr.Members = []kmsg.LeaveGroupRequestMember{{MemberID: join.MemberID}}
		l := e.reqV(lv, lr).(*kmsg.LeaveGroupResponse)
		if l.ErrorCode != 0 || lv >= 3 && (len(l.Members) != 1 || l.Members[0].ErrorCode != 0) {
			t.Fatalf("LeaveGroup v%d: %+v", lv, l)
		}
		dg := kmsg.NewPtrDescribeGroupsRequest()
		dg.Groups = []string{group}
		if d := e.reqV(min(v, 6), dg).(*kmsg.DescribeGroupsResponse); d.Groups[0].State != "Empty" {
			t.Fatalf("DescribeGroups v%d after leave: %+v", min(v, 6), d.Groups[0])
		}
	}
}

func TestDeleteTopicDropsItsCommittedOffsets(t *testing.T) {
	e := startGroupEnv(t)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g"}
	e.req(fc)
	cr := kmsg.NewPtrOffsetCommitRequest()
	cr.Group, cr.Generation = "g", -1
	cr.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5, LeaderEpoch: -1}}}}
	if c := e.req(cr).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; c != 0 {
		t.Fatalf("commit: %d", c)
	}
	name := "t"
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{name}
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &name}}
	if c := e.req(dt).(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode; c != 0 {
		t.Fatalf("delete topic: %d", c)
	}
	for {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
		if ts := e.req(of).(*kmsg.OffsetFetchResponse).Groups[0].Topics; len(ts) == 0 {
			return
		}
		if e.ctx.Err() != nil {
			t.Fatal("the deleted topic's offsets are still committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
