//go:build chaos

package clustertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestChaosControllerKill kills (SIGKILL) the active controller under
// load, and in a later round pauses it (SIGSTOP) past the session
// timeout. Another voter must take over (Metadata names it), cluster
// operations must go on (a topic is created while the old controller is
// down), and the producers must lose nothing.
func TestChaosControllerKill(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic = "ctrlkill"
	c.CreateTopic(topic, 6, 3, replicatedTopic)
	led := NewLedger(topic)
	p1 := c.StartProducer(led, "a", chaosRate)
	p2 := c.StartProducer(led, "b", chaosRate)
	p1.WaitAcked(t, 200, 30*time.Second)

	for round, pause := range []bool{false, true, false} {
		sleep(between(rng, 300*time.Millisecond, 2500*time.Millisecond))
		old := c.ControllerID()
		start := time.Now()
		if pause {
			c.Pause(old)
		} else {
			c.Kill(old)
		}
		next := c.waitNewController(old, 30*time.Second)
		t.Logf("round %d: controller %d %s; %d took over after %v", round, old, map[bool]string{false: "killed", true: "paused"}[pause], next, time.Since(start).Round(time.Millisecond))

		// Cluster operations go on without the old controller: a new
		// topic (RF 2: only two brokers are up) gets leaders.
		extra := fmt.Sprintf("ctrl-op-%d", round)
		c.CreateTopic(extra, 2, 2, nil)
		p2.WaitAcked(t, 200, 30*time.Second)

		sleep(between(rng, 0, 1500*time.Millisecond))
		if pause {
			c.Resume(old)
			c.WaitBrokers(30 * time.Second)
		} else {
			c.Restart(old)
		}
		c.WaitFullISR(topic, 60*time.Second)
	}
	p1.Finish(t, 30*time.Second)
	p2.Finish(t, 30*time.Second)
	c.Verify(led)
}

// waitNewController waits until Metadata names an active controller
// other than old, and returns it.
func (c *Cluster) waitNewController(old int32, timeout time.Duration) int32 {
	c.t.Helper()
	var id int32 = -1
	c.Eventually(fmt.Sprintf("a controller other than %d", old), timeout, func(ctx context.Context) error {
		md, err := c.adm.BrokerMetadata(fresh(ctx))
		if err != nil {
			return err
		}
		if md.Controller < 0 || md.Controller == old {
			return errors.New("controller " + fmt.Sprint(md.Controller))
		}
		id = md.Controller
		return nil
	})
	return id
}
