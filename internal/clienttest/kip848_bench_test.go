package clienttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// BenchmarkKIP848Join measures how long 10 franz-go next-gen consumers
// started together on a 100-partition topic take until every one of them
// has its 10 partitions (uniform assignor), with the broker's heartbeat
// interval at 250 ms and at Kafka's default of 5 s: reconciliation moves
// one step per heartbeat, so the interval dominates.
func BenchmarkKIP848Join(b *testing.B) {
	for _, hb := range []string{"250", "5000"} {
		b.Run("heartbeat="+hb+"ms", func(b *testing.B) {
			o := kip848Overrides()
			o["group.consumer.heartbeat.interval.ms"] = hb
			o["group.consumer.session.timeout.ms"] = "45000"
			addr := brokertest.Start(b, o)
			const topic, members, parts = "bench848", 10, 100
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			resp, err := kadm.NewClient(cl).CreateTopic(context.Background(), parts, 1, nil, topic)
			if err == nil {
				err = resp.Err
			}
			if err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			for i := 0; i < b.N; i++ {
				total += joinRound(b, addr, fmt.Sprintf("bench-%d", i), topic, members, parts)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/join")
		})
	}
}

// joinRound starts members consumers at once and returns the time until
// all partitions are assigned, spread evenly.
func joinRound(b *testing.B, addr, group, topic string, members, parts int) time.Duration {
	var mu sync.Mutex
	owned := map[int]map[int32]bool{}
	count := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		n, even := 0, true
		for _, ps := range owned {
			n += len(ps)
			even = even && len(ps) == parts/members
		}
		return n, even && len(owned) == members
	}
	start := time.Now()
	var cls []*kgo.Client
	for i := 0; i < members; i++ {
		i := i
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(addr),
			kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(topic),
			kgo.Balancers(kgo.CooperativeStickyBalancer()),
			kgo.ServerSideBalancer(),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				if owned[i] == nil {
					owned[i] = map[int32]bool{}
				}
				for _, p := range a[topic] {
					owned[i][p] = true
				}
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range r[topic] {
					delete(owned[i], p)
				}
			}),
		)
		if err != nil {
			b.Fatal(err)
		}
		cls = append(cls, cl)
		go func() {
			for {
				if fs := cl.PollFetches(context.Background()); fs.IsClientClosed() {
					return
				}
			}
		}()
	}
	deadline := start.Add(2 * time.Minute)
	for {
		if n, even := count(); n == parts && even {
			break
		}
		if time.Now().After(deadline) {
			n, _ := count()
			b.Fatalf("only %d of %d partitions assigned after 2 minutes", n, parts)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	for _, cl := range cls {
		cl.Close()
	}
	b.StartTimer()
	return took
}
