package server_test

// Replication between real brokers: in-process three-broker clusters
// (Raft metadata quorum, controller, replica fetchers) driven by franz-go.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/record"
	"github.com/strata-io/strata/internal/storage"
)

// replOverrides make failures show quickly: a follower leaves the ISR
// after 2 s without catching up.
var replOverrides = map[string]string{
	"replica.lag.time.max.ms":     "2000",
	"replica.fetch.wait.max.ms":   "100",
	"replica.fetch.backoff.ms":    "50",
	"log.segment.delete.delay.ms": "0",
}

func startReplCluster(t *testing.T, extra map[string]string) *brokertest.Cluster {
	t.Helper()
	o := map[string]string{}
	for k, v := range replOverrides {
		o[k] = v
	}
	for k, v := range extra {
		o[k] = v
	}
	return brokertest.StartCluster(t, 3, o)
}

func clusterClient(t *testing.T, c *brokertest.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(c.Addrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0), kgo.RetryTimeout(30 * time.Second)}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createRF3(t *testing.T, c *brokertest.Cluster, topic string, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(clusterClient(t, c))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := adm.CreateTopic(ctx, 1, 3, configs, topic)
	if err != nil || res.Err != nil {
		t.Fatalf("create %s: %v %v", topic, err, res.Err)
	}
	waitFor(t, "a leader", func() bool { return c.Leader(topic, 0) >= 0 })
}

// replica is node i's replica of topic/0 (nil if stopped or absent).
func replica(c *brokertest.Cluster, i int, topic string) *partition.Partition {
	b := c.Broker(i)
	if b == nil {
		return nil
	}
	return b.Partitions().Get(topic, 0)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logOf is every stored batch of a replica.
func logOf(t *testing.T, p *partition.Partition) []byte {
	t.Helper()
	var out []byte
	lg := p.Log()
	for off := lg.LogStartOffset(); off < lg.LogEndOffset(); {
		r, err := lg.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if out, err = r.AppendTo(out); err != nil {
			t.Fatal(err)
		}
		off = r.NextOffset
	}
	return out
}

// identical waits until every running replica of topic holds the same
// bytes up to end, with the HW there too.
func identical(t *testing.T, c *brokertest.Cluster, topic string, end int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("identical replicas of %s up to %d", topic, end), func() bool {
		var first []byte
		for i := range 3 {
			p := replica(c, i, topic)
			if c.Broker(i) == nil {
				continue
			}
			if p == nil || p.LogEndOffset() != end || p.HighWatermark() != end {
				return false
			}
			b := logOf(t, p)
			if first == nil {
				first = b
			} else if !bytes.Equal(first, b) {
				return false
			}
		}
		return true
	})
}

func isrOf(c *brokertest.Cluster, topic string) []int32 {
	for i := range 3 {
		if b := c.Broker(i); b != nil {
			if tp := b.Metadata().Image().Topic(topic); tp != nil {
				isr := slices.Clone(tp.Partitions[0].ISR)
				slices.Sort(isr)
				return isr
			}
		}
	}
	return nil
}

func produceValues(t *testing.T, cl *kgo.Client, topic, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Value: fmt.Appendf(nil, "%s-%d", prefix, i)}).FirstErr(); err != nil {
			t.Fatalf("produce %s-%d: %v", prefix, i, err)
		}
	}
}

func consumeValues(t *testing.T, c *brokertest.Cluster, topic string, n int) []string {
	t.Helper()
	cl := clusterClient(t, c, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, string(r.Value)) })
	}
	return out
}

// An acks=all produce is answered only when every ISR member has the
// record, the replicas end up byte-identical, and a follower refuses
// produces naming the leader (KIP-951).
func TestReplicationAcksAll(t *testing.T) {
	c := startReplCluster(t, nil)
	createRF3(t, c, "acks", nil)
	cl := clusterClient(t, c)
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		r := &kgo.Record{Topic: "acks", Partition: 0, Value: fmt.Appendf(nil, "v%d", i)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		// Every ISR member as the leader sees it now: under load a
		// follower may drop out (replica.lag.time.max.ms is 2 s here),
		// and one that came back in had caught up past the HW.
		for _, id := range replica(c, c.Leader("acks", 0), "acks").State().ISR {
			j := int(id) - 1
			if leo := replica(c, j, "acks").LogEndOffset(); leo <= r.Offset {
				t.Fatalf("record %d acknowledged while node %d has only up to %d", r.Offset, j+1, leo)
			}
		}
	}
	identical(t, c, "acks", 100)

	leader := c.Leader("acks", 0)
	follower := (leader + 1) % 3
	resp := rawProduce(t, cl, c.NodeID(follower), "acks", 1000)
	sp := resp.Topics[0].Partitions[0]
	if sp.ErrorCode != kerr.NotLeaderForPartition.Code || sp.CurrentLeader.LeaderID != c.NodeID(leader) ||
		len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != c.NodeID(leader) {
		t.Fatalf("produce to a follower: %+v, brokers %+v", sp, resp.Brokers)
	}
}

// rawProduce sends one acks=all Produce to node id.
func rawProduce(t *testing.T, cl *kgo.Client, id int32, topic string, timeoutMs int32) *kmsg.ProduceResponse {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = timeoutMs
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = record.Build(record.BatchSpec{LeaderEpoch: -1, BaseTimestamp: time.Now().UnixMilli(),
		Records: []record.RecordSpec{{Value: []byte("raw")}}})
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kr, err := cl.Broker(int(id)).Request(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return kr.(*kmsg.ProduceResponse)
}

// With fewer ISR members than min.insync.replicas, acks=all is refused
// with NOT_ENOUGH_REPLICAS (never silently accepted); a broker that comes
// back catches up and rejoins the ISR, and writes go on.
//
// NB: min.insync.replicas=3 with one broker down rather than 2 with two
// down: every broker is also a voter here, and with two of three down the
// quorum could not record the ISR change at all (acks=all would then time
// out instead, which is an error too, but not the one under test).
func TestReplicationMinInsyncReplicas(t *testing.T) {
	c := startReplCluster(t, nil)
	three := "3"
	createRF3(t, c, "mir", map[string]*string{"min.insync.replicas": &three})
	cl := clusterClient(t, c)
	produceValues(t, cl, "mir", "a", 10)
	leader := c.Leader("mir", 0)
	other := (leader + 1) % 3
	c.Stop(other)
	waitFor(t, "ISR of two", func() bool { return len(isrOf(c, "mir")) == 2 })
	leader = c.Leader("mir", 0)
	// NB: the leader enforces min.insync.replicas on its own copy of the
	// metadata, which may apply the shrink a moment after the node that
	// isrOf asked.
	waitFor(t, "the leader's ISR of two", func() bool {
		p := replica(c, leader, "mir")
		return p != nil && p.IsLeader() && len(p.State().ISR) == 2
	})
	if code := rawProduce(t, cl, c.NodeID(leader), "mir", 5000).Topics[0].Partitions[0].ErrorCode; code != kerr.NotEnoughReplicas.Code {
		t.Fatalf("acks=all below min.insync.replicas: error %d, want NOT_ENOUGH_REPLICAS", code)
	}
	c.Restart(other)
	waitFor(t, "ISR of three", func() bool { return len(isrOf(c, "mir")) == 3 })
	produceValues(t, cl, "mir", "c", 10)
	identical(t, c, "mir", 20)
}

// The leader goes away under acks=all load: a follower from the ISR takes
// over, producers carry on through their retries, and every acknowledged
// record is there, in order, exactly once (idempotent producer).
func TestReplicationLeaderFailoverKeepsAcknowledged(t *testing.T) {
	c := startReplCluster(t, nil)
	createRF3(t, c, "fo", nil)
	cl := clusterClient(t, c)
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := fmt.Sprintf("r-%d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := cl.ProduceSync(ctx, &kgo.Record{Topic: "fo", Partition: 0, Value: []byte(v)}).FirstErr()
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, v)
				mu.Unlock()
			}
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	waitFor(t, "records before the failover", func() bool { return count() >= 50 })
	old := c.Leader("fo", 0)
	c.Stop(old)
	waitFor(t, "a new leader", func() bool { l := c.Leader("fo", 0); return l >= 0 && l != old })
	n := count()
	waitFor(t, "records after the failover", func() bool { return count() >= n+50 })
	c.Restart(old)
	m := count()
	waitFor(t, "records after the restart", func() bool { return count() >= m+20 })
	close(stop)
	<-done
	mu.Lock()
	want := slices.Clone(acked)
	mu.Unlock()
	end := replica(c, c.Leader("fo", 0), "fo").HighWatermark()
	got := consumeValues(t, c, "fo", int(end))
	// Every acknowledged record, in order; an unacknowledged attempt may
	// be there too (its ack was lost), but nothing twice.
	seen := map[string]bool{}
	j := 0
	for _, v := range got {
		if seen[v] {
			t.Fatalf("record %s read twice", v)
		}
		seen[v] = true
		if j < len(want) && v == want[j] {
			j++
		}
	}
	if j != len(want) {
		t.Fatalf("acknowledged record %s missing or out of order (read %d records)", want[j], len(got))
	}
	identical(t, c, "fo", end)
}

// A leader that wrote records nobody else has and went away comes back
// as a follower and truncates that tail: the replicas converge on the new
// leader's log.
func TestReplicationRestartTruncatesDivergentTail(t *testing.T) {
	c := startReplCluster(t, nil)
	createRF3(t, c, "div", nil)
	cl := clusterClient(t, c)
	produceValues(t, cl, "div", "all", 20)
	identical(t, c, "div", 20)
	old := c.Leader("div", 0)
	p := replica(c, old, "div")
	epoch := p.State().LeaderEpoch
	dir := c.Broker(old).Config().DataDir()
	c.Stop(old)
	waitFor(t, "a new leader", func() bool { l := c.Leader("div", 0); return l >= 0 && l != old })
	// What the old leader would have written in its epoch just before
	// dying, had nobody fetched it: appended to its log while it is down.
	m, err := storage.OpenManager(dir, storage.ManagerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := m.Open(storage.TopicPartition{Topic: "div", Partition: 0}, storage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		b := record.Build(record.BatchSpec{LeaderEpoch: -1, BaseTimestamp: time.Now().UnixMilli(),
			Records: []record.RecordSpec{{Value: fmt.Appendf(nil, "lost-%d", i)}}})
		if _, err := lg.Append(b, epoch); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	produceValues(t, cl, "div", "new", 10)
	c.Restart(old)
	identical(t, c, "div", 30)
	waitFor(t, "ISR of three", func() bool { return len(isrOf(c, "div")) == 3 })
	got := consumeValues(t, c, "div", 30)
	for i, v := range got {
		want := fmt.Sprintf("all-%d", i)
		if i >= 20 {
			want = fmt.Sprintf("new-%d", i-20)
		}
		if v != want {
			t.Fatalf("record %d is %q, want %q", i, v, want)
		}
	}
}

// A committed offset is on every ISR member of its __consumer_offsets
// partition before the commit is answered, so when the group
// coordinator's broker goes away the next coordinator has it.
func TestReplicationCommittedOffsetsSurviveCoordinatorLoss(t *testing.T) {
	c := startReplCluster(t, map[string]string{"offsets.topic.num.partitions": "1"})
	createRF3(t, c, "data", nil)
	adm := kadm.NewClient(clusterClient(t, c))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "data", Partition: 0, At: 42, LeaderEpoch: -1})
	for {
		res, err := adm.CommitOffsets(ctx, "g", offs)
		if err == nil && res.Ok() {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("commit: %v %v", err, res.Error())
		}
		time.Sleep(50 * time.Millisecond)
	}
	coords := adm.FindGroupCoordinators(ctx, "g")
	coord, ok := coords["g"]
	if !ok || coord.Err != nil {
		t.Fatalf("coordinator: %+v", coords)
	}
	c.Stop(int(coord.NodeID) - 1)
	// A raw OffsetFetch (kgo finds the coordinator and retries): kadm's
	// FetchOffsets answers an empty set when its cached coordinator died.
	cl := clusterClient(t, c)
	for {
		req := kmsg.NewPtrOffsetFetchRequest()
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		req.Groups = append(req.Groups, rg)
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Groups) == 1 && resp.Groups[0].ErrorCode == 0 {
			g := resp.Groups[0]
			if len(g.Topics) != 1 || len(g.Topics[0].Partitions) != 1 || g.Topics[0].Partitions[0].Offset != 42 {
				t.Fatalf("offsets after the coordinator's loss: %+v", g.Topics)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("fetching offsets after the coordinator's loss: %v %+v", err, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A follower that was down while the leader's log start moved past its
// log end (DeleteRecords) gets OFFSET_OUT_OF_RANGE, starts its log over
// at the leader's log start and catches up; the other follower's log
// start follows the leader's.
func TestReplicationFollowerBehindLogStart(t *testing.T) {
	c := startReplCluster(t, nil)
	createRF3(t, c, "lso", nil)
	cl := clusterClient(t, c)
	produceValues(t, cl, "lso", "a", 20)
	identical(t, c, "lso", 20)
	leader := c.Leader("lso", 0)
	behind := (leader + 1) % 3
	c.Stop(behind)
	waitFor(t, "ISR of two", func() bool { return len(isrOf(c, "lso")) == 2 })
	produceValues(t, cl, "lso", "b", 30)
	adm := kadm.NewClient(cl)
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "lso", Partition: 0, At: 45})
	res, err := adm.DeleteRecords(context.Background(), offs)
	if err != nil || res.Error() != nil {
		t.Fatalf("delete records: %v %v", err, res.Error())
	}
	c.Restart(behind)
	identical(t, c, "lso", 50)
	// (A follower learns the leader's log start from its next fetch
	// response, which may come after the HW it already had.)
	waitFor(t, "log start 45 on every node", func() bool {
		for i := range 3 {
			if replica(c, i, "lso").LogStartOffset() != 45 {
				return false
			}
		}
		return true
	})
	waitFor(t, "ISR of three", func() bool { return len(isrOf(c, "lso")) == 3 })
}
