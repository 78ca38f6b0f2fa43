//go:build chaos

package clustertest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestChaosTwoBrokersDown kills two of the three brokers (RF=3,
// min.insync.replicas=2) under load. With one broker left no acks=all
// write can be safe, so producers must get errors (NOT_ENOUGH_REPLICAS,
// or a timeout: with two of three voters gone the metadata quorum cannot
// even shrink an ISR) and never an acknowledgement; once both brokers are
// back, writes succeed again and everything acknowledged before is there.
func TestChaosTwoBrokersDown(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic = "outage"
	c.CreateTopic(topic, 3, 3, replicatedTopic)
	led := NewLedger(topic)
	// Records fail after a few seconds instead of being retried for ever,
	// so the producer sees the outage.
	failFast := []kgo.Opt{kgo.RecordDeliveryTimeout(4 * time.Second), kgo.ProduceRequestTimeout(2 * time.Second)}
	p := c.StartProducer(led, "a", chaosRate, failFast...)
	p.WaitAcked(t, 200, 30*time.Second)

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
		failedBefore := p.Failed()
		deadline := time.Now().Add(30 * time.Second)
		for p.Failed() == failedBefore {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no produce error within 30s of losing two of three brokers (acknowledged %d meanwhile)", round, led.AcksBetween(grace, time.Now()))
			}
			time.Sleep(50 * time.Millisecond)
		}
		sleep(between(rng, 2*time.Second, 4*time.Second))
		if n := led.AcksBetween(grace, time.Now()); n > 0 {
			t.Errorf("round %d: %d records acknowledged with acks=all while only one of three brokers ran (min.insync.replicas=2)", round, n)
		}
		t.Logf("round %d: killed %d and %d; %d produce errors so far: %v", round, first, second, p.Failed(), led.Errors())

		c.RestartAll()
		c.WaitFullISR(topic, 60*time.Second)
		// Writes work again (a fresh producer: the old one's idempotent
		// session may have had to be reset after its failed batches).
		fresh := c.StartProducer(led, "r"+string(rune('0'+round)), chaosRate, failFast...)
		fresh.WaitAcked(t, 100, 30*time.Second)
		fresh.Finish(t, 30*time.Second)
	}
	p.Finish(t, 30*time.Second)
	c.Verify(led)
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
