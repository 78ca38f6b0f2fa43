package clienttest

// group_bench_test.go measures the group coordinator through real clients
// (benchmarks, not tests):
//
//	go test ./internal/clienttest -run '^$' -bench 'Group' -benchtime 5x
//
// BenchmarkGroupJoin10th: 9 franz-go members consume a 100-partition
// topic (a producer keeps adding records to every partition); a 10th
// joins. Reported: ms from its join to every member fetching in a new
// generation (ms-to-all-fetching) and the rebalance rounds that took
// (rounds: generations passed until then).
//
// BenchmarkGroupOffsetCommit: 50 committers, each committing to its own
// group in a loop (OffsetCommit, one partition, waiting for each answer).
// Reported: commits/s and commit latency p50/p99 in ms.
//
// BenchmarkGroupOffsetCommitRate: the same committers at a fixed offered
// rate (the target: 10,000/s with p99 under 10 ms).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// benchMember is a group member that notes the group generation of its
// latest poll that returned records.
type benchMember struct {
	cl      *kgo.Client
	fetched atomic.Int32 // generation when records last arrived; 0 before
	cancel  context.CancelFunc
	done    chan struct{}
}

func startBenchMember(b *testing.B, addr, group, topic string, bal kgo.GroupBalancer) *benchMember {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(bal),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// No commits: after a rebalance every member reads its
		// partitions from the start again, so "fetching" is visible.
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(10*time.Second),
		kgo.HeartbeatInterval(100*time.Millisecond),
		kgo.FetchMaxWait(50*time.Millisecond),
	)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &benchMember{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			if fs.NumRecords() > 0 {
				_, gen := cl.GroupMetadata()
				m.fetched.Store(gen)
			}
		}
	}()
	return m
}

func (m *benchMember) close() {
	m.cancel()
	<-m.done
	m.cl.Close()
}

// waitAll polls (every 0.5 ms, for timing resolution) until every member
// fetched in a generation above after and returns the highest one.
func waitAll(b *testing.B, ms []*benchMember, after int32) int32 {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		lowest, highest := int32(1<<30), int32(0)
		for _, m := range ms {
			g := m.fetched.Load()
			lowest, highest = min(lowest, g), max(highest, g)
		}
		if lowest > after {
			return highest
		}
		if time.Now().After(deadline) {
			b.Fatalf("members did not all fetch in a generation after %d", after)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func BenchmarkGroupJoin10th(b *testing.B) {
	for _, bal := range balancers {
		b.Run(bal.name, func(b *testing.B) {
			addr := brokertest.Start(b, map[string]string{"group.initial.rebalance.delay.ms": "0"})
			const topic, partitions = "join-bench", 100
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			req := kmsg.NewPtrCreateTopicsRequest()
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
			req.Topics = append(req.Topics, rt)
			if _, err := req.RequestWith(context.Background(), cl); err != nil {
				b.Fatal(err)
			}
			var recs []*kgo.Record
			for p := range int32(partitions) {
				recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("x")})
			}
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}

			// Keep records flowing to every partition (100 every 20 ms),
			// so a member that keeps its partitions through a
			// cooperative rebalance is seen fetching in the new
			// generation too.
			pctx, stopProducing := context.WithCancel(context.Background())
			produced := make(chan struct{})
			go func() {
				defer close(produced)
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-pctx.Done():
						return
					case <-tick.C:
					}
					cl.ProduceSync(pctx, recs...)
				}
			}()
			defer func() { stopProducing(); <-produced }()

			var totalRounds int64
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				group := fmt.Sprintf("join-bench-%d", i)
				var ms []*benchMember
				for range 9 {
					ms = append(ms, startBenchMember(b, addr, group, topic, bal.b()))
				}
				g0 := waitAll(b, ms, 0)
				// Settle: the 9 must agree on one generation first.
				for g := waitAll(b, ms, g0-1); g != g0; g = waitAll(b, ms, g-1) {
					g0 = g
				}
				b.StartTimer()
				ms = append(ms, startBenchMember(b, addr, group, topic, bal.b()))
				g1 := waitAll(b, ms, g0)
				b.StopTimer()
				totalRounds += int64(g1 - g0)
				var wg sync.WaitGroup
				for _, m := range ms {
					wg.Go(m.close)
				}
				wg.Wait()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms-to-all-fetching")
			b.ReportMetric(float64(totalRounds)/float64(b.N), "rounds")
		})
	}
}

func BenchmarkGroupOffsetCommit(b *testing.B) {
	clients, topic := startCommitters(b)
	lat := make([][]time.Duration, len(clients))
	var next atomic.Int64
	var failed atomic.Value
	b.ResetTimer()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			group := fmt.Sprintf("commit-bench-%d", i)
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				start := time.Now()
				if err := commitOnce(clients[i], group, topic, n); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = append(lat[i], time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	reportCommitLatencies(b, lat)
}

// BenchmarkGroupOffsetCommitRate offers commits at a fixed rate (open
// loop: STRATA_COMMIT_RATE per second, default 10,000, spread over the 50
// committers) instead of as fast as possible, which is how the issue's
// target is stated: 10,000 commits/s sustained with p99 under 10 ms. A
// commit's latency runs from the moment it was due, not from when it was
// sent, so a broker that falls behind shows it in the tail (no coordinated
// omission).
func BenchmarkGroupOffsetCommitRate(b *testing.B) {
	rate := 10000
	if v := os.Getenv("STRATA_COMMIT_RATE"); v != "" {
		r, err := strconv.Atoi(v)
		if err != nil || r <= 0 {
			b.Fatalf("STRATA_COMMIT_RATE=%q: want a positive integer", v)
		}
		rate = r
	}
	clients, topic := startCommitters(b)
	c := len(clients)
	interval := time.Second / time.Duration(rate) // between two commits, all committers together
	lat := make([][]time.Duration, c)
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			group := fmt.Sprintf("commit-bench-%d", i)
			// Committer i sends commits i, i+c, i+2c, … of the schedule.
			for n := i; n < b.N; n += c {
				due := start.Add(time.Duration(n) * interval)
				time.Sleep(time.Until(due))
				if err := commitOnce(clients[i], group, topic, int64(n)); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = append(lat[i], time.Since(due))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	reportCommitLatencies(b, lat)
}

// startCommitters starts a broker with a one-partition topic and 50
// clients, each with its own connection (like separate consumers) and
// its own group, warmed up so FindCoordinator and connection setup are
// not measured.
func startCommitters(b *testing.B) ([]*kgo.Client, string) {
	addr := brokertest.Start(b, nil)
	const topic, committers = "commit-bench", 50
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
	req.Topics = append(req.Topics, rt)
	if _, err := req.RequestWith(context.Background(), cl); err != nil {
		b.Fatal(err)
	}
	clients := make([]*kgo.Client, committers)
	for i := range clients {
		c, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		clients[i] = c
		if err := commitOnce(c, fmt.Sprintf("commit-bench-%d", i), topic, 0); err != nil {
			b.Fatal(err)
		}
	}
	return clients, topic
}

// reportCommitLatencies reports commits/s over the timed part and the
// latency percentiles of every commit in ms.
func reportCommitLatencies(b *testing.B, lat [][]time.Duration) {
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(q float64) float64 {
		return float64(all[min(len(all)-1, int(q*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(0.999), "p99.9-ms")
}

// commitOnce commits offset for partition 0 of topic as a group-less
// (admin-style, generation -1) commit and returns any error in the answer.
func commitOnce(cl *kgo.Client, group, topic string, offset int64) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 0, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("commit %s: %w", group, err)
			}
		}
	}
	return nil
}
