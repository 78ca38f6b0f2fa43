//go:build chaos

package clustertest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestChaosTwoBrokersDown kills two of the three brokers (RF=3,
// min.insync.replicas=2) under load. With one broker left no acks=all
// write can be safe: nothing may be acknowledged, and producers must see
// errors (NOT_ENOUGH_REPLICAS, or REQUEST_TIMED_OUT: with two of three
// voters gone the metadata quorum cannot even shrink an ISR). Once both
// brokers are back, writes succeed again and everything acknowledged
// before is there.
//
// Two producers: franz-go's idempotent producer never fails a batch that
// may have been written (it retries it, keeping its sequence numbers
// whole), so it shows the "never acknowledged" half; a plain acks=all
// producer with a delivery timeout shows the errors.
func TestChaosTwoBrokersDown(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic, plainTopic = "outage", "outage-plain"
	c.CreateTopic(topic, 3, 3, replicatedTopic)
	c.CreateTopic(plainTopic, 3, 3, replicatedTopic)
	led := NewLedger(topic)
	plainLed := NewLedger(plainTopic)
	plainLed.Plain = true
	failFast := []kgo.Opt{
		kgo.DisableIdempotentWrite(),
		kgo.RecordDeliveryTimeout(4 * time.Second),
		kgo.ProduceRequestTimeout(2 * time.Second),
		kgo.RecordRetries(3),
	}
	p := c.StartProducer(led, "a", chaosRate)
	plain := c.StartProducer(plainLed, "p", chaosRate/4, failFast...)
	p.WaitAcked(t, 200, 30*time.Second)
	plain.WaitAcked(t, 50, 30*time.Second)

	for round := range 2 {
		sleep(between(rng, 200*time.Millisecond, 2*time.Second))
		order := rng.Perm(3)
		first, second := int32(order[0]+1), int32(order[1]+1)
		c.Kill(first)
		// Sometimes the second dies at once, sometimes after the first
		// was fenced and dropped from the ISRs.
		sleep(between(rng, 0, 5*time.Second))
		c.Kill(second)
		// Acknowledgements already on their way when the second broker
		// died may still arrive; after this grace none may.
		grace := time.Now().Add(time.Second)
		failedBefore := plain.Failed()
		deadline := time.Now().Add(30 * time.Second)
		for plain.Failed() == failedBefore {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no produce error within 30s of losing two of three brokers", round)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sleep(between(rng, 2*time.Second, 4*time.Second))
		for _, l := range []*Ledger{led, plainLed} {
			if n := l.AcksBetween(grace, time.Now()); n > 0 {
				t.Errorf("round %d: %s: %d records acknowledged with acks=all while only one of three brokers ran (min.insync.replicas=2)", round, l.Topic, n)
			}
		}
		t.Logf("round %d: killed %d and %d; plain producer errors so far: %v", round, first, second, plainLed.Errors())

		c.RestartAll()
		c.WaitFullISR(topic, 60*time.Second)
		// Writes work again.
		p.WaitAcked(t, 200, 60*time.Second)
		plain.WaitAcked(t, 50, 60*time.Second)
	}
	p.Finish(t, 30*time.Second)
	plain.Finish(t, 30*time.Second)
	c.Verify(led)
	c.Verify(plainLed)
}

// TestChaosFullClusterKill kills every broker with SIGKILL at once under
// load, restarts them all, and checks that everything acknowledged
// survived and that writes go on.
func TestChaosFullClusterKill(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic = "fullkill"
	c.CreateTopic(topic, 6, 3, replicatedTopic)
	led := NewLedger(topic)
	p := c.StartProducer(led, "a", chaosRate)
	p.WaitAcked(t, 200, 30*time.Second)

	for round := range 2 {
		sleep(between(rng, 200*time.Millisecond, 3*time.Second))
		for _, i := range rng.Perm(3) {
			c.Kill(int32(i + 1))
		}
		sleep(between(rng, 0, time.Second))
		c.RestartAll()
		c.WaitFullISR(topic, 60*time.Second)
		p.WaitAcked(t, 200, 60*time.Second)
		t.Logf("round %d: cluster back; %d acknowledged so far", round, p.Acked())
	}
	p.Finish(t, 30*time.Second)
	c.Verify(led)
}
