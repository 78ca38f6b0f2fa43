//go:build chaos

package clustertest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestChaosLeaderKill kills (SIGKILL) the leader of a random partition
// under load, round after round with random timings. Each round a replica
// from the ISR must take over, the producers must carry on through their
// client retries, and the killed broker, restarted, must catch up and
// rejoin every ISR. The time from the kill to the first acks=all write
// acknowledged by the new leader is logged (not asserted: it is a
// measurement, see BenchmarkChaosFailover).
func TestChaosLeaderKill(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic = "leaderkill"
	c.CreateTopic(topic, 6, 3, replicatedTopic)
	led := NewLedger(topic)
	p1 := c.StartProducer(led, "a", chaosRate)
	p2 := c.StartProducer(led, "b", chaosRate)
	p1.WaitAcked(t, 200, 30*time.Second)

	var failovers []time.Duration
	for round := range 3 {
		sleep(between(rng, 300*time.Millisecond, 2500*time.Millisecond))
		part := rng.Int32N(6)
		d := killLeaderAndProbe(t, c, led, topic, part, fmt.Sprintf("probe%d", round))
		failovers = append(failovers, d)
		t.Logf("round %d: failover of %s/%d: first acks=all write %v after the kill", round, topic, part, d.Round(time.Millisecond))
		p2.WaitAcked(t, 200, 30*time.Second) // the producers carry on
		sleep(between(rng, 0, 2*time.Second))
		for _, id := range c.IDs() {
			if !c.Node(id).Running() {
				c.Restart(id)
			}
		}
		c.WaitFullISR(topic, 60*time.Second)
	}
	p1.Finish(t, 30*time.Second)
	p2.Finish(t, 30*time.Second)
	c.Verify(led)
	t.Logf("failover times (kill -> first acks=all write): %v", failovers)
}

// killLeaderAndProbe kills the leader of topic's partition part and
// returns how long after the kill a fresh acks=all write to that
// partition was first acknowledged. The probe's records go into led.
func killLeaderAndProbe(t testing.TB, c *Cluster, led *Ledger, topic string, part int32, prefix string) time.Duration {
	t.Helper()
	probe := c.Client(
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Kafka's default retry.backoff.ms, and, as the Java client
		// does after a NOT_LEADER or a lost connection, a metadata
		// refresh soon after the last one (kgo's default minimum age of
		// 5 s would measure the client, not the cluster).
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
		kgo.MetadataMinAge(250*time.Millisecond),
	)
	seq := 0
	write := func(ctx context.Context) error {
		v := fmt.Sprintf("%s-%09d-", prefix, seq)
		seq++
		led.sent(v)
		r := &kgo.Record{Partition: part, Value: []byte(v)}
		if err := probe.ProduceSync(ctx, r).FirstErr(); err != nil {
			led.failed(err)
			return err
		}
		led.ack(Ack{Partition: r.Partition, Offset: r.Offset, Value: v, At: time.Now()})
		return nil
	}
	// Warm up: the probe knows the leader and is connected to it, as a
	// running application would be.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := write(ctx); err != nil {
		t.Fatalf("probe write to %s/%d before the kill: %v", topic, part, err)
	}
	leader := c.Leader(topic, part)
	ctrl := c.ControllerID()
	c.Kill(leader)
	killed := time.Now()
	// One write, issued after the kill; the client retries it (to the
	// new leader once Metadata names one) until it is acknowledged.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := write(ctx); err != nil {
		t.Fatalf("no acks=all write to %s/%d acknowledged within a minute of killing its leader %d: %v", topic, part, leader, err)
	}
	took := time.Since(killed)
	// A leader that was also the active controller costs a Raft
	// election on top of the session timeout: say which it was.
	t.Logf("%s/%d: leader %d killed (active controller: %d); first acks=all write after %v", topic, part, leader, ctrl, took.Round(time.Millisecond))
	if now := c.Leader(topic, part); now == leader || !slices.Contains(c.Live(), now) {
		t.Errorf("%s/%d: leader %d after killing leader %d", topic, part, now, leader)
	}
	return took
}

// BenchmarkChaosFailover measures the failover time of issue 5's speed
// section: kill -9 a partition's leader, time until the first acks=all
// write to that partition is acknowledged. Reported as failover-ms (mean
// over b.N kills) and max-failover-ms; `go test -tags chaos -run '^$'
// -bench ChaosFailover -benchtime 5x ./internal/clustertest`.
func BenchmarkChaosFailover(b *testing.B) {
	c := Start(b, Options{Overrides: chaosOverrides(nil)})
	const topic = "failover"
	c.CreateTopic(topic, 3, 3, replicatedTopic)
	led := NewLedger(topic)
	var total, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		d := killLeaderAndProbe(b, c, led, topic, int32(i%3), fmt.Sprintf("probe%d", i))
		total += d
		worst = max(worst, d)
		b.StopTimer()
		for _, id := range c.IDs() {
			if !c.Node(id).Running() {
				c.Restart(id)
			}
		}
		c.WaitFullISR(topic, 60*time.Second)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "failover-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "max-failover-ms")
}
