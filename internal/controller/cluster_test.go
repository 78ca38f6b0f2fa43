package controller_test

// In-process clusters of real brokers (brokertest.StartCluster) driven by
// franz-go clients: fencing on a broker's death, controlled shutdown,
// reassignment, leader elections, and the cluster admin APIs.

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// clusterEnv is a started cluster with an admin client on every node.
type clusterEnv struct {
	t   *testing.T
	c   *brokertest.Cluster
	cl  *kgo.Client
	adm *kadm.Client
}

func startCluster(t *testing.T, n int, overrides map[string]string) *clusterEnv {
	t.Helper()
	set := map[string]string{
		config.BrokerHeartbeatIntervalMs: "100",
		config.BrokerSessionTimeoutMs:    "1500",
	}
	for k, v := range overrides {
		set[k] = v
	}
	c := brokertest.StartCluster(t, n, set)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &clusterEnv{t: t, c: c, cl: cl, adm: kadm.NewClient(cl)}
}

func (e *clusterEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// running is the index of some running node.
func (e *clusterEnv) running() int {
	for i := range e.c.Addrs() {
		if e.c.Broker(i) != nil {
			return i
		}
	}
	e.t.Fatal("no node is running")
	return -1
}

// image is a running node's metadata image.
func (e *clusterEnv) image() *metadata.Image {
	return e.c.Broker(e.running()).Metadata().Image()
}

// waitFor polls a running node's image until cond holds.
func (e *clusterEnv) waitFor(what string, cond func(*metadata.Image) bool) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond(e.image()) {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createTopic creates topic with the given replica assignment.
func (e *clusterEnv) createTopic(topic string, assignment ...[]int32) {
	e.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for p, replicas := range assignment {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(p), replicas
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(e.ctx(), e.cl)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		e.t.Fatalf("creating %s: %v %+v", topic, err, resp)
	}
	e.waitFor("topic "+topic+" everywhere", func(img *metadata.Image) bool { return img.Topic(topic) != nil })
}

func (e *clusterEnv) partition(topic string, p int32) metadata.Partition {
	return e.image().Topic(topic).Partitions[p]
}

// putInISR adds broker id to the partition's ISR through AlterPartition,
// as its leader does once the replica has caught up, unless it is there
// already.
func (e *clusterEnv) putInISR(topic string, p int32, id int32) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		img := e.image()
		t := img.Topic(topic)
		part := t.Partitions[p]
		if slices.Contains(part.ISR, id) {
			return
		}
		leader := e.c.Broker(int(part.Leader) - 1)
		if part.Leader >= 0 && leader != nil {
			var resp metadata.AlterPartitionResponse
			err := leader.Metadata().Call(e.ctx(), metadata.MethodAlterPartition, metadata.AlterPartitionRequest{
				NodeID: part.Leader, BrokerEpoch: img.Brokers[part.Leader].Epoch, TopicID: t.ID, Partition: p,
				LeaderEpoch: part.LeaderEpoch, PartitionEpoch: part.PartitionEpoch, NewISR: append(slices.Clone(part.ISR), id),
			}, &resp)
			if err != nil {
				e.t.Fatalf("AlterPartition: %v", err)
			}
			if resp.ErrorCode == 0 && slices.Contains(resp.State.ISR, id) {
				e.waitFor("the ISR change everywhere", func(img *metadata.Image) bool {
					return slices.Contains(img.Topic(topic).Partitions[p].ISR, id)
				})
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("could not add %d to the ISR of %s-%d: %+v", id, topic, p, part)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metadataLeader is the leader a client sees in Metadata.
func (e *clusterEnv) metadataLeader(topic string, p int32) (int32, []int32) {
	e.t.Helper()
	md, err := e.adm.Metadata(e.ctx(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	var brokers []int32
	for _, b := range md.Brokers {
		brokers = append(brokers, b.NodeID)
	}
	slices.Sort(brokers)
	return md.Topics[topic].Partitions[p].Leader, brokers
}

// waitMetadataLeader waits until clients are told want leads topic-p
// (each broker answers Metadata from its own image, which may trail the
// controller's by a moment).
func (e *clusterEnv) waitMetadataLeader(topic string, p, want int32) {
	e.t.Helper()
	e.waitClientView(topic, p, func(leader int32, _ []int32) bool { return leader == want })
}

// waitClientView waits until Metadata's leader of topic-p and broker list
// satisfy ok.
func (e *clusterEnv) waitClientView(topic string, p int32, ok func(leader int32, brokers []int32) bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		leader, brokers := e.metadataLeader(topic, p)
		if ok(leader, brokers) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("metadata: %s-%d led by %d, brokers %v", topic, p, leader, brokers)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A broker that dies without a controlled shutdown is fenced after its
// session: its leaderships move to ISR members, clients stop seeing it;
// when it comes back it is listed again.
func TestClusterFencingMovesLeadership(t *testing.T) {
	e := startCluster(t, 3, map[string]string{config.ControlledShutdownEnable: "false"})
	e.createTopic("f", []int32{1, 2, 3}, []int32{2, 3, 1}, []int32{3, 1, 2})
	if _, brokers := e.metadataLeader("f", 0); !slices.Equal(brokers, []int32{1, 2, 3}) {
		t.Fatalf("brokers %v", brokers)
	}

	start := time.Now()
	e.c.Stop(0) // broker 1: no heartbeats from now on
	e.waitFor("broker 1 fenced", func(img *metadata.Image) bool { return img.Brokers[1].Fenced })
	// Not before its session (1.5 s), or, if it was the controller, the
	// half session the next controller gives a broker it has not heard
	// from (0.75 s).
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Errorf("fenced after %v, before its session", d)
	}
	e.waitFor("leadership moved", func(img *metadata.Image) bool { return img.Topic("f").Partitions[0].Leader == 2 })
	p := e.partition("f", 0)
	if !slices.Equal(p.ISR, []int32{2, 3}) || p.LeaderEpoch != 1 {
		t.Fatalf("partition 0 after fencing: %+v", p)
	}
	if p := e.partition("f", 2); p.Leader != 3 || slices.Contains(p.ISR, 1) {
		t.Fatalf("partition 2 after fencing: %+v", p)
	}
	e.waitClientView("f", 0, func(leader int32, brokers []int32) bool {
		return leader == 2 && slices.Equal(brokers, []int32{2, 3})
	})
	// (kadm may ask another broker, whose image can trail the one that
	// answered above by a moment.)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		bd, err := e.adm.ListBrokers(e.ctx())
		if err == nil && len(bd) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kadm brokers: %v %+v", err, bd)
		}
	}

	e.c.Restart(0)
	e.waitFor("broker 1 back", func(img *metadata.Image) bool { return !img.Brokers[1].Fenced })
	e.waitClientView("f", 0, func(_ int32, brokers []int32) bool { return slices.Equal(brokers, []int32{1, 2, 3}) })
}

// SIGTERM (Close) moves a broker's leaderships away before it stops,
// without waiting for its session to run out.
func TestClusterControlledShutdown(t *testing.T) {
	e := startCluster(t, 3, map[string]string{config.BrokerSessionTimeoutMs: "20000"})
	e.createTopic("cs", []int32{1, 2, 3}, []int32{1, 3, 2}, []int32{2, 1, 3})
	start := time.Now()
	e.c.Stop(0)
	e.waitFor("broker 1 fenced", func(img *metadata.Image) bool { return img.Brokers[1].Fenced })
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("controlled shutdown took %v (the session is 20 s)", d)
	}
	img := e.image()
	for i, want := range []int32{2, 3, 2} {
		p := img.Topic("cs").Partitions[i]
		if p.Leader != want || slices.Contains(p.ISR, 1) {
			t.Errorf("partition %d after controlled shutdown: %+v, want leader %d and 1 out of the ISR", i, p, want)
		}
	}
	// Clients see the new leaders at once.
	e.waitClientView("cs", 0, func(leader int32, brokers []int32) bool { return leader == 2 && !slices.Contains(brokers, 1) })
}

// Preferred leader election (ElectLeaders through kadm) and the automatic
// leader rebalance bring leadership back to the first replica once it is
// in the ISR again.
func TestClusterElectLeaders(t *testing.T) {
	e := startCluster(t, 3, map[string]string{config.AutoLeaderRebalanceEnable: "false"})
	e.createTopic("el", []int32{1, 2, 3}, []int32{1, 3, 2})
	e.c.Stop(0)
	e.waitFor("leadership off broker 1", func(img *metadata.Image) bool { return img.Topic("el").Partitions[0].Leader != 1 })
	res, err := e.adm.ElectLeaders(e.ctx(), kadm.ElectPreferredReplica, kadm.TopicsSet{"el": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res["el"][0]; !errorIs(r.Err, kerr.PreferredLeaderNotAvailable) {
		t.Fatalf("election with the preferred replica down: %+v", r)
	}

	e.c.Restart(0)
	e.waitFor("broker 1 back", func(img *metadata.Image) bool { return !img.Brokers[1].Fenced })
	if p := e.partition("el", 0); p.Leader == 1 {
		t.Fatalf("broker 1 leads after its restart: %+v", p)
	}
	e.putInISR("el", 0, 1)
	e.putInISR("el", 1, 1)
	res, err = e.adm.ElectLeaders(e.ctx(), kadm.ElectPreferredReplica, kadm.TopicsSet{"el": {0: {}}})
	if err != nil || res["el"][0].Err != nil {
		t.Fatalf("preferred election: %v %+v", err, res)
	}
	e.waitFor("partition 0 led by 1", func(img *metadata.Image) bool { return img.Topic("el").Partitions[0].Leader == 1 })
	e.waitMetadataLeader("el", 0, 1)
	if p := e.partition("el", 1); p.Leader == 1 {
		t.Fatalf("partition 1 was not asked for but moved: %+v", p)
	}
	// Again: nothing to do.
	res, err = e.adm.ElectLeaders(e.ctx(), kadm.ElectPreferredReplica, kadm.TopicsSet{"el": {0: {}}})
	if err != nil || !errorIs(res["el"][0].Err, kerr.ElectionNotNeeded) {
		t.Fatalf("second election: %v %+v", err, res)
	}
}

func errorIs(err error, want *kerr.Error) bool {
	return err != nil && err.Error() == want.Error()
}

// The automatic leader rebalance moves leadership back to preferred
// replicas when a broker leads too few of them.
func TestClusterAutoLeaderRebalance(t *testing.T) {
	e := startCluster(t, 3, map[string]string{config.LeaderImbalanceCheckIntervalSeconds: "1"})
	e.createTopic("ar", []int32{1, 2, 3}, []int32{1, 3, 2})
	e.c.Stop(0)
	e.c.Restart(0)
	e.waitFor("broker 1 back", func(img *metadata.Image) bool { return !img.Brokers[1].Fenced })
	e.putInISR("ar", 0, 1)
	e.putInISR("ar", 1, 1)
	e.waitFor("leadership back on broker 1", func(img *metadata.Image) bool {
		t := img.Topic("ar")
		return t.Partitions[0].Leader == 1 && t.Partitions[1].Leader == 1
	})
}

// A reassignment adds the target replicas, waits for them in the ISR,
// then drops the old ones; the leader moves when it is dropped.
func TestClusterReassignment(t *testing.T) {
	e := startCluster(t, 3, nil)
	e.createTopic("ra", []int32{1})
	res, err := e.adm.AlterPartitionAssignments(e.ctx(), kadm.AlterPartitionAssignmentsReq{"ra": {0: {2, 3}}})
	if err != nil || res["ra"][0].Err != nil {
		t.Fatalf("reassign: %v %+v", err, res)
	}
	list, err := e.adm.ListPartitionReassignments(e.ctx(), kadm.TopicsSet{"ra": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := list["ra"][0]
	if !ok || !slices.Equal(r.Replicas, []int32{2, 3, 1}) || !slices.Equal(r.AddingReplicas, []int32{2, 3}) || !slices.Equal(r.RemovingReplicas, []int32{1}) {
		t.Fatalf("listed reassignment %+v (found %v)", r, ok)
	}
	// Followers catch up and the leader adds them to the ISR; the last one
	// completes the reassignment.
	e.putInISR("ra", 0, 2)
	e.putInISR("ra", 0, 3)
	e.waitFor("reassignment complete", func(img *metadata.Image) bool {
		p := img.Topic("ra").Partitions[0]
		return slices.Equal(p.Replicas, []int32{2, 3}) && p.Leader == 2 && len(p.AddingReplicas) == 0
	})
	list, err = e.adm.ListPartitionReassignments(e.ctx(), kadm.TopicsSet{"ra": {0: {}}})
	if err != nil || len(list) != 0 {
		t.Fatalf("listed after completion: %v %+v", err, list)
	}
	e.waitMetadataLeader("ra", 0, 2)

	// A second reassignment, cancelled: the original replicas come back.
	res, err = e.adm.AlterPartitionAssignments(e.ctx(), kadm.AlterPartitionAssignmentsReq{"ra": {0: {1, 2}}})
	if err != nil || res["ra"][0].Err != nil {
		t.Fatalf("reassign: %v %+v", err, res)
	}
	res, err = e.adm.AlterPartitionAssignments(e.ctx(), kadm.AlterPartitionAssignmentsReq{"ra": {0: nil}})
	if err != nil || res["ra"][0].Err != nil {
		t.Fatalf("cancel: %v %+v", err, res)
	}
	e.waitFor("cancelled", func(img *metadata.Image) bool {
		p := img.Topic("ra").Partitions[0]
		return slices.Equal(p.Replicas, []int32{2, 3}) && len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0
	})
}

// DescribeQuorum and DescribeCluster tell the same story on every node:
// three voters, one leader, which is the controller clients are given.
func TestClusterDescribeQuorumAndCluster(t *testing.T) {
	e := startCluster(t, 3, nil)
	ctrl := e.c.Controller()
	if ctrl < 0 {
		t.Fatal("no controller")
	}
	for i, addr := range e.c.Addrs() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		req := kmsg.NewPtrDescribeQuorumRequest()
		rt := kmsg.NewDescribeQuorumRequestTopic()
		rt.Topic = "__cluster_metadata"
		rt.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(e.ctx(), cl)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.LeaderID != e.c.NodeID(ctrl) || len(p.CurrentVoters) != 3 || p.HighWatermark <= 0 {
			t.Errorf("node %d: quorum %+v, want leader %d and 3 voters", i+1, p, e.c.NodeID(ctrl))
		}
		if resp.Version >= 2 && len(resp.Nodes) != 3 {
			t.Errorf("node %d: %d quorum nodes, want 3", i+1, len(resp.Nodes))
		}

		dc := kmsg.NewPtrDescribeClusterRequest()
		dcr, err := dc.RequestWith(e.ctx(), cl)
		if err != nil {
			t.Fatal(err)
		}
		if dcr.ControllerID != e.c.NodeID(ctrl) || len(dcr.Brokers) != 3 {
			t.Errorf("node %d: describe cluster controller %d, %d brokers", i+1, dcr.ControllerID, len(dcr.Brokers))
		}
	}
	// kadm's view: brokers and the controller from Metadata.
	md, err := e.adm.BrokerMetadata(e.ctx())
	if err != nil || md.Controller != e.c.NodeID(ctrl) || len(md.Brokers) != 3 {
		t.Fatalf("kadm broker metadata: %v controller %d brokers %d", err, md.Controller, len(md.Brokers))
	}
	// The offsets topic has three replicas once three brokers are up.
	deadline := time.Now().Add(15 * time.Second)
	for {
		fc := e.adm.FindGroupCoordinators(e.ctx(), "g")
		if r := fc["g"]; r.Err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("find coordinator: %v", r.Err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.waitFor("the offsets topic", func(img *metadata.Image) bool { return img.Topic(metadata.OffsetsTopic) != nil })
	if rf := len(e.image().Topic(metadata.OffsetsTopic).Partitions[0].Replicas); rf != 3 {
		t.Fatalf("__consumer_offsets has %d replicas, want 3", rf)
	}
}

// A reassignment that moves a partition to other brokers while a producer
// writes to it with acks=all: the new replicas catch up through the
// replica fetchers, the leader adds them to the ISR, the old replica is
// dropped and leadership moves; every acknowledged record is then read
// back from the new leader, in order.
func TestClusterReassignmentWithTraffic(t *testing.T) {
	e := startCluster(t, 3, nil)
	e.createTopic("rt", []int32{1})
	pcl, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DefaultProduceTopic("rt"), kgo.MetadataMinAge(50*time.Millisecond), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()

	stop := make(chan struct{})
	acked := make(chan []string, 1)
	go func() {
		var out []string
		defer func() { acked <- out }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := "v" + strconv.Itoa(i)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			t0 := time.Now()
			err := pcl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte(v)}).FirstErr()
			cancel()
			if d := time.Since(t0); d > time.Second {
				t.Logf("produce of %s took %v: %v", v, d, err)
			}
			if err == nil {
				out = append(out, v)
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // some records before the move

	moveStart := time.Now()
	res, err := e.adm.AlterPartitionAssignments(e.ctx(), kadm.AlterPartitionAssignmentsReq{"rt": {0: {2, 3}}})
	if err != nil || res["rt"][0].Err != nil {
		t.Fatalf("reassign: %v %+v", err, res)
	}
	e.waitFor("reassignment complete", func(img *metadata.Image) bool {
		p := img.Topic("rt").Partitions[0]
		return slices.Equal(p.Replicas, []int32{2, 3}) && !slices.Contains(p.ISR, 1) && p.Leader != 1 && p.Leader >= 0
	})
	moved := time.Since(moveStart)
	time.Sleep(200 * time.Millisecond) // some records after it
	close(stop)
	want := <-acked
	t.Logf("reassignment done in %v; %d records acknowledged", moved, len(want))
	if len(want) < 10 {
		t.Fatalf("only %d records acknowledged", len(want))
	}

	ccl, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addrs()...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"rt": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer ccl.Close()
	var got []string
	ctx := e.ctx()
	for len(got) < len(want) {
		fs := ccl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			for i := range 3 {
				if b := e.c.Broker(i); b != nil {
					if p := b.Partitions().Get("rt", 0); p != nil {
						t.Logf("node %d: state %+v hw %d leo %d", i+1, p.State(), p.HighWatermark(), p.LogEndOffset())
					} else {
						t.Logf("node %d: no replica", i+1)
					}
				}
			}
			t.Logf("image: %+v", e.partition("rt", 0))
			t.Fatalf("read %d of %d acknowledged records", len(got), len(want))
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	// Every acknowledged record, in order; a record whose ack was lost in
	// the move may be there too (the producer is not idempotent).
	j := 0
	for _, v := range got {
		if j < len(want) && v == want[j] {
			j++
		}
	}
	if j != len(want) {
		t.Fatalf("acknowledged record %q missing or out of order (read %d records, %d acknowledged)", want[j], len(got), len(want))
	}
}
