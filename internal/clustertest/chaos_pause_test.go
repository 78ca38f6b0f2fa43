//go:build chaos

package clustertest

import (
	"slices"
	"testing"
	"time"
)

// TestChaosFollowerPause stops a follower with SIGSTOP for longer than
// replica.lag.time.max.ms (but shorter than the broker session timeout,
// so it is the leader's lag check, not fencing, that acts): the leader
// must drop it from the ISR while it is paused, and add it back once it
// is resumed and has caught up. Writes go on with the two remaining ISR
// members (min.insync.replicas=2).
func TestChaosFollowerPause(t *testing.T) {
	rng := seeded(t)
	const lag = 2 * time.Second
	c := Start(t, Options{Overrides: chaosOverrides(map[string]string{
		"replica.lag.time.max.ms":   "2000",
		"broker.session.timeout.ms": "15000",
	})})
	const topic = "pause"
	c.CreateTopic(topic, 3, 3, replicatedTopic)
	led := NewLedger(topic)
	p := c.StartProducer(led, "a", chaosRate)
	p.WaitAcked(t, 200, 30*time.Second)

	for round := range 2 {
		sleep(between(rng, 200*time.Millisecond, 2*time.Second))
		part := rng.Int32N(3)
		d := c.Partition(topic, part)
		ctrl := c.ControllerID()
		// A follower of part; not the controller if that can be helped
		// (pausing the controller is TestChaosControllerKill's part).
		var follower int32 = -1
		for _, r := range d.Replicas {
			if r != d.Leader && (follower < 0 || follower == ctrl) {
				follower = r
			}
		}
		pausedAt := time.Now()
		c.Pause(follower)
		c.WaitISR(topic, part, "paused follower leaves the ISR", lag+20*time.Second, func(isr []int32) bool {
			return !slices.Contains(isr, follower) && len(isr) >= 2
		})
		t.Logf("round %d: %s/%d: follower %d out of the ISR %v after the pause", round, topic, part, follower, time.Since(pausedAt).Round(time.Millisecond))
		// Keep it paused a random while longer; it must stay out of
		// the ISR: a paused broker fetches nothing.
		for until := time.Now().Add(between(rng, 500*time.Millisecond, 2500*time.Millisecond)); time.Now().Before(until); {
			if isr := c.Partition(topic, part).ISR; slices.Contains(isr, follower) {
				t.Fatalf("round %d: %s/%d: paused follower %d is back in the ISR %v before it was resumed", round, topic, part, follower, isr)
			}
			sleep(250 * time.Millisecond)
		}
		c.Resume(follower)
		resumedAt := time.Now()
		c.WaitISR(topic, part, "resumed follower back in the ISR", 60*time.Second, func(isr []int32) bool {
			return slices.Contains(isr, follower)
		})
		t.Logf("round %d: follower %d back in the ISR %v after the resume", round, follower, time.Since(resumedAt).Round(time.Millisecond))
		c.WaitFullISR(topic, 60*time.Second)
		p.WaitAcked(t, 200, 30*time.Second)
	}
	p.Finish(t, 30*time.Second)
	c.Verify(led)
}
