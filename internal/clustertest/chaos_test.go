//go:build chaos

package clustertest

// The fault scenarios of issue 5 (`make chaos`, `go test -tags chaos
// ./internal/clustertest`). Each starts a 3-broker cluster, writes through
// idempotent acks=all producers into a topic with RF=3 and
// min.insync.replicas=2 while it injects faults at seeded random moments,
// and ends with Verify: every acknowledged record is there exactly once,
// in order, and nothing was read that was not sent. Timings vary per
// round and per seed; a failure prints the seed, and STRATA_CHAOS_SEED
// replays it.

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// chaosRate is each producer's rate in records per second: enough that
// every fault lands on writes in flight, little enough that three brokers,
// the producers and the read-back share two cores.
const chaosRate = 400

// seeded returns the scenario's random source, seeded from
// STRATA_CHAOS_SEED or the clock, and prints the seed if the test fails.
func seeded(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STRATA_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STRATA_CHAOS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("timings came from seed %d; replay with STRATA_CHAOS_SEED=%d go test -tags chaos -run '^%s$' ./internal/clustertest", seed, seed, t.Name())
		}
	})
	return rand.New(rand.NewPCG(seed, seed))
}

// between is a random duration in [lo, hi).
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// replicatedTopic is the configuration every scenario's data topic uses.
var replicatedTopic = map[string]string{"min.insync.replicas": "2"}

// chaosOverrides are broker settings shared by the scenarios: a fast
// controlled shutdown retry, so a rolling restart does not wait 5 s per
// retry, and no initial rebalance delay for the group scenario.
func chaosOverrides(extra map[string]string) map[string]string {
	o := map[string]string{
		"controlled.shutdown.retry.backoff.ms": "500",
		"group.initial.rebalance.delay.ms":     "0",
	}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// sleep waits d; the scenarios use it only to let load run between
// faults (how long is the randomized part), never to wait for a state.
func sleep(d time.Duration) { time.Sleep(d) }
