package clienttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// Members of a KIP-848 group come and go while records keep arriving:
// every record is consumed, and none twice (each member commits what it
// consumed before it gives a partition up).
func TestKIP848Churn(t *testing.T) {
	addr := brokertest.Start(t, kip848Overrides())
	const topic, group, parts = "churn848", "churn", 6
	createTopic(t, addr, topic, parts, nil)
	producer := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	c := newConsumption()
	start := func(name string) *member848 {
		return startMember(t, addr, group, topic, name, kgo.CooperativeStickyBalancer(), c)
	}
	ms := map[string]*member848{"a": start("a"), "b": start("b"), "c": start("c")}
	produced := 0
	step := func(tag string) {
		produceN(t, producer, topic, parts, 20, tag)
		produced += parts * 20
		time.Sleep(300 * time.Millisecond)
	}
	for i, change := range []struct{ leave, join string }{
		{"b", "d"}, {"a", ""}, {"", "e"}, {"c", "f"}, {"d", ""}, {"", "g"},
	} {
		step(fmt.Sprintf("s%d", i))
		if change.leave != "" {
			ms[change.leave].leave()
			delete(ms, change.leave)
		}
		if change.join != "" {
			ms[change.join] = start(change.join)
		}
	}
	step("last")
	waitFor848(t, "every record", 60*time.Second, func() bool { return c.total() == produced })
	time.Sleep(500 * time.Millisecond) // a duplicate would show up by now
	c.checkOnce(t, produced)
}
