//go:build chaos

package clustertest

import (
	"testing"
	"time"
)

// TestChaosRollingRestart restarts every broker in turn (SIGTERM: a
// controlled shutdown that moves its leaderships away first; then start
// it again and wait until it is back in every ISR) while producers write.
// Each broker must exit cleanly, and nothing acknowledged may be lost.
func TestChaosRollingRestart(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic = "rolling"
	c.CreateTopic(topic, 6, 3, replicatedTopic)
	led := NewLedger(topic)
	p1 := c.StartProducer(led, "a", chaosRate)
	p2 := c.StartProducer(led, "b", chaosRate)
	p1.WaitAcked(t, 200, 30*time.Second)

	for _, i := range rng.Perm(3) {
		id := int32(i + 1)
		sleep(between(rng, 200*time.Millisecond, 2*time.Second))
		c.Stop(id)
		sleep(between(rng, 0, 2*time.Second))
		c.Restart(id)
		c.WaitFullISR(topic, 60*time.Second)
		p2.WaitAcked(t, 200, 30*time.Second)
	}
	p1.Finish(t, 30*time.Second)
	p2.Finish(t, 30*time.Second)
	c.Verify(led)
}
