package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testCluster is n Stores on real controller listeners (127.0.0.1:0),
// node ids 1..n; nodes[i] is nil while node i+1 is stopped.
type testCluster struct {
	t      testing.TB
	voters map[int32]string
	dirs   map[int32]string
	addrs  map[int32]string
	opts   func(*Options)
	nodes  map[int32]*Store
}

func testLogger() *slog.Logger {
	if os.Getenv("STRATA_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startCluster starts voters 1..n (and observers, not in the voters, after
// them), all at once.
func startCluster(t testing.TB, voters, observers int, opts func(*Options)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, voters: map[int32]string{}, dirs: map[int32]string{}, addrs: map[int32]string{}, opts: opts, nodes: map[int32]*Store{}}
	lns := map[int32]net.Listener{}
	for id := int32(1); id <= int32(voters+observers); id++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id] = ln
		c.addrs[id] = ln.Addr().String()
		c.dirs[id] = t.TempDir()
		if id <= int32(voters) {
			c.voters[id] = ln.Addr().String()
		}
	}
	for id, ln := range lns {
		c.open(id, ln)
	}
	t.Cleanup(func() {
		for _, s := range c.nodes {
			s.Close()
		}
	})
	return c
}

func (c *testCluster) open(id int32, ln net.Listener) {
	c.t.Helper()
	o := Options{
		Dir: c.dirs[id], NodeID: id, ControllerListen: c.addrs[id], ControllerListener: ln, Voters: c.voters,
		Logger: testLogger().With("test_node", id),
		// Short enough for quick failovers, long enough that a loaded
		// 2-core machine does not make leadership flap.
		ElectionTimeout: 500 * time.Millisecond, FetchTimeout: time.Second,
	}
	if c.opts != nil {
		c.opts(&o)
	}
	s, err := Open(o)
	if err != nil {
		c.t.Fatalf("open node %d: %v", id, err)
	}
	c.nodes[id] = s
}

func (c *testCluster) stop(id int32) {
	c.t.Helper()
	if err := c.nodes[id].Close(); err != nil {
		c.t.Errorf("close node %d: %v", id, err)
	}
	delete(c.nodes, id)
}

// restart opens node id again on its directory and address (the port
// was free when it stopped; retry while the OS has not released it).
func (c *testCluster) restart(id int32) {
	c.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", c.addrs[id]); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("relisten on %s: %v", c.addrs[id], err)
	}
	c.open(id, ln)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leader waits until every running node names the same leader, which
// announces itself, and returns its id.
func (c *testCluster) leader() int32 {
	c.t.Helper()
	var id int32
	waitFor(c.t, 10*time.Second, "one leader every node agrees on", func() bool {
		id = -1
		for _, s := range c.nodes {
			l := s.LeaderID()
			if l < 0 || (id >= 0 && l != id) || s.Image().ControllerID != l {
				return false
			}
			id = l
		}
		return id >= 0 && c.nodes[id] != nil && c.nodes[id].IsLeader()
	})
	return id
}

// agree waits until every running node holds the same image.
func (c *testCluster) agree() *Image {
	c.t.Helper()
	var img *Image
	waitFor(c.t, 10*time.Second, "every node to hold the same image", func() bool {
		img = nil
		for _, s := range c.nodes {
			got := s.Image()
			if img != nil && !sameImage(img, got) {
				return false
			}
			img = got
		}
		return true
	})
	return img
}

func sameImage(a, b *Image) bool {
	x, y := *a, *b
	x.ControllerID, y.ControllerID = 0, 0
	ja, _ := json.Marshal(&x)
	jb, _ := json.Marshal(&y)
	return string(ja) == string(jb)
}

func TestClusterAgreesOnImage(t *testing.T) {
	c := startCluster(t, 3, 0, nil)
	lead := c.leader()
	for id, s := range c.nodes {
		registerNode(t, s, id) // from every node, leader or not
	}
	follower := lead%3 + 1
	createTopic(t, c.nodes[follower], "t", 6)
	// Update returns after the records are applied on the calling node.
	if c.nodes[follower].Image().Topic("t") == nil {
		t.Fatal("a follower's Update returned before its records applied there")
	}
	img := c.agree()
	if len(img.Brokers) != 3 || img.Topic("t") == nil || img.Offset != 4 {
		t.Fatalf("image: offset %d brokers %v topics %v", img.Offset, img.BrokerIDs(), img.TopicNames())
	}
	q := c.nodes[lead].Quorum()
	if q.LeaderID != lead || len(q.Voters) != 3 || q.HighWatermark <= 0 || q.LeaderEpoch <= 0 {
		t.Fatalf("quorum: %+v", q)
	}
	// Followers answer DescribeQuorum through the leader.
	var remote QuorumInfo
	if err := c.nodes[follower].Call(context.Background(), MethodDescribeQuorum, struct{}{}, &remote); err != nil || remote.LeaderID != lead {
		t.Fatalf("describe quorum from a follower: %+v %v", remote, err)
	}
}

// Updates from two nodes at once, each read-modify-write of one value:
// the precondition makes the loser run fn again, so no increment is lost.
func TestClusterConcurrentUpdatesConflictAndRetry(t *testing.T) {
	c := startCluster(t, 3, 0, nil)
	c.leader()
	const per = 15
	var wg sync.WaitGroup
	var calls sync.Map
	for _, id := range []int32{1, 2, 3} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				err := c.nodes[id].Update(func(img *Image) ([]Record, error) {
					n, _ := strconv.Atoi(img.BrokerConfigs[""]["n"])
					v, _ := calls.LoadOrStore(id, new(int))
					*v.(*int)++
					return []Record{{Type: TypeBrokerConfig, Configs: map[string]string{"n": strconv.Itoa(n + 1)}}}, nil
				})
				if err != nil {
					t.Errorf("node %d: %v", id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	img := c.agree()
	if got := img.BrokerConfigs[""]["n"]; got != strconv.Itoa(3*per) {
		t.Fatalf("counter %s after %d increments", got, 3*per)
	}
	total := 0
	calls.Range(func(_, v any) bool { total += *v.(*int); return true })
	t.Logf("%d increments took %d runs of fn (%d conflicts)", 3*per, total, total-3*per)
}

func TestClusterLeaderFailover(t *testing.T) {
	c := startCluster(t, 3, 0, nil)
	for id := range c.nodes {
		c.nodes[id].Handle("whoami", func(context.Context, json.RawMessage) (any, error) { return id, nil })
	}
	old := c.leader()
	registerNode(t, c.nodes[old], 1)
	c.stop(old)
	start := time.Now()
	lead := c.leader()
	t.Logf("new leader %d after %v", lead, time.Since(start))
	if lead == old {
		t.Fatalf("the stopped node %d still leads", old)
	}
	for id, s := range c.nodes {
		registerNode(t, s, id+10)
		var who int32
		if err := s.Call(context.Background(), "whoami", nil, &who); err != nil || who != lead {
			t.Fatalf("call from node %d went to %d (leader %d): %v", id, who, lead, err)
		}
	}
	img := c.agree()
	if len(img.Brokers) != 3 {
		t.Fatalf("brokers after failover: %v", img.BrokerIDs())
	}
	// The old leader comes back as a follower and catches up.
	c.restart(old)
	img = c.agree()
	if len(img.Brokers) != 3 || c.nodes[old].Image().Offset != img.Offset {
		t.Fatalf("restarted node: %v", c.nodes[old].Image().BrokerIDs())
	}
}

// A follower that misses many changes while down gets a snapshot from
// the leader (its log was compacted past the follower's end).
func TestClusterRestartCatchesUpFromSnapshot(t *testing.T) {
	c := startCluster(t, 3, 0, func(o *Options) {
		o.SnapshotThreshold, o.TrailingLogs, o.SnapshotInterval = 5, 2, 20*time.Millisecond
	})
	lead := c.leader()
	registerNode(t, c.nodes[lead], 1)
	down := lead%3 + 1
	c.stop(down)
	for i := 0; i < 40; i++ {
		createTopic(t, c.nodes[lead], fmt.Sprintf("t%d", i), 1)
	}
	waitFor(t, 10*time.Second, "a snapshot on the leader", func() bool {
		n, _ := strconv.Atoi(c.nodes[lead].raft.Stats()["last_snapshot_index"])
		return n > 10
	})
	// Deleting a topic after the snapshot: the follower must get the
	// snapshot and then the log after it.
	id := c.nodes[lead].Image().Topic("t0").ID
	if err := c.nodes[lead].Update(func(*Image) ([]Record, error) { return []Record{{Type: TypeDeleteTopic, TopicID: id}}, nil }); err != nil {
		t.Fatal(err)
	}
	c.restart(down)
	img := c.agree()
	if len(img.Topics) != 39 || img.Topic("t0") != nil || c.nodes[down].Image().TopicByID(img.Topic("t39").ID) == nil {
		t.Fatalf("caught-up image: %d topics", len(img.Topics))
	}
	if n, _ := strconv.Atoi(c.nodes[down].raft.Stats()["last_snapshot_index"]); n == 0 {
		t.Fatal("the restarted follower caught up without a snapshot; the test does not test what it says")
	}
}

// A stale partition change proposed from a follower comes back as
// ErrStale over the wire; the state machine goes on applying.
func TestClusterRejectedCommandOverTheWire(t *testing.T) {
	c := startCluster(t, 3, 0, nil)
	lead := c.leader()
	registerNode(t, c.nodes[lead], 1)
	createTopic(t, c.nodes[lead], "t", 1)
	follower := lead%3 + 1
	c.agree()
	top := c.nodes[follower].Image().Topic("t")
	st := top.Partitions[0]
	err := c.nodes[follower].Propose(context.Background(), []Record{{Type: TypePartitionChange, TopicID: top.ID, PartitionState: &st}})
	if !errors.Is(err, ErrStale) {
		t.Fatalf("stale change from a follower: %v", err)
	}
	st.PartitionEpoch++
	if err := c.nodes[follower].Propose(context.Background(), []Record{{Type: TypePartitionChange, TopicID: top.ID, PartitionState: &st}}); err != nil {
		t.Fatal(err)
	}
	if img := c.agree(); img.Topic("t").Partitions[0].PartitionEpoch != 1 {
		t.Fatalf("partition after change: %+v", img.Topic("t").Partitions[0])
	}
}

// A broker outside the voters joins as a non-voter: it receives the log
// but does not vote.
func TestClusterNonVoterJoins(t *testing.T) {
	c := startCluster(t, 3, 1, nil)
	lead := c.leader()
	registerNode(t, c.nodes[4], 4) // from the non-voter, through the leader
	img := c.agree()
	if _, ok := img.Brokers[4]; !ok {
		t.Fatalf("brokers %v", img.BrokerIDs())
	}
	var q QuorumInfo
	waitFor(t, 10*time.Second, "the non-voter in the quorum as an observer reporting its log", func() bool {
		q = c.nodes[lead].Quorum()
		return len(q.Voters) == 3 && len(q.Observers) == 1 && q.Observers[0].NodeID == 4 && q.Observers[0].LogEndOffset > 0
	})
	for _, v := range q.Voters {
		if v.NodeID != lead && v.LogEndOffset < 0 {
			// Reports come every second; the wait above covered one.
			waitFor(t, 5*time.Second, "voter reports", func() bool {
				for _, v := range c.nodes[lead].Quorum().Voters {
					if v.LogEndOffset < 0 {
						return false
					}
				}
				return true
			})
			break
		}
	}
	if reflect.DeepEqual(q.Observers[0].Addr, "") {
		t.Fatalf("observer without address: %+v", q.Observers[0])
	}
	// Restarted, it is already a member and rejoins at once.
	c.stop(4)
	registerNode(t, c.nodes[lead], 5)
	c.restart(4)
	c.agree()
}

// Closing every node of a cluster stops every goroutine the Stores and
// the Raft library started (the transport's per-connection readers too).
func TestClusterCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	c := startCluster(t, 3, 1, nil)
	lead := c.leader()
	registerNode(t, c.nodes[4], 4)
	registerNode(t, c.nodes[lead], 1)
	c.agree()
	for id := range c.nodes {
		c.stop(id)
	}
	var after int
	waitFor(t, 10*time.Second, "goroutines to end", func() bool {
		after = runtime.NumGoroutine()
		return after <= before+2
	})
}

// BenchmarkFailover measures, with Kafka's default quorum timeouts, the
// time from the leader stopping to a new leader announced on every node:
// a clean Close (which hands leadership over) and a crash (the others
// must notice the silence: fetch timeout).
func BenchmarkFailover(b *testing.B) {
	for _, crash := range []bool{false, true} {
		name := "close"
		if crash {
			name = "crash"
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				c := startCluster(b, 3, 0, func(o *Options) { o.ElectionTimeout, o.FetchTimeout = 0, 0 })
				old := c.leader()
				c.nodes[old].noHandOver = crash
				start := time.Now()
				c.stop(old)
				c.leader()
				total += time.Since(start)
				for id := range c.nodes {
					c.stop(id)
				}
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
		})
	}
}

// The Raft transport replicates without the library's pipeline, which can
// deadlock a deposed leader's Shutdown (see openTransport).
func TestTransportDoesNotPipeline(t *testing.T) {
	c := startCluster(t, 3, 0, nil)
	lead := c.leader()
	var peer int32 = 1
	if peer == lead {
		peer = 2
	}
	_, err := c.nodes[lead].trans.AppendEntriesPipeline(raft.ServerID(fmt.Sprint(peer)), raft.ServerAddress(c.addrs[peer]))
	if !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("AppendEntriesPipeline: %v, want ErrPipelineReplicationNotSupported", err)
	}
}
