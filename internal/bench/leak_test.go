package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/brokertest"
)

// TestNoGoroutineLeak runs each kind of run, including one stopped by
// --duration, and checks that every goroutine they started (samplers,
// stoppers, clients, consumers) is gone afterwards.
func TestNoGoroutineLeak(t *testing.T) {
	addr := brokertest.Start(t, nil)
	c := Common{Seeds: []string{addr}, Topic: "leak", Partitions: 2, ReplicationFactor: 1,
		RequestTimeout: 10 * time.Second, ProgressInterval: 10 * time.Millisecond}
	// The broker's own goroutines are counted in the baseline.
	if _, err := c.ensureTopic(t.Context()); err != nil {
		t.Fatal(err)
	}
	settle := func(want int) int {
		deadline := time.Now().Add(5 * time.Second)
		n := runtime.NumGoroutine()
		for ; n > want && time.Now().Before(deadline); n = runtime.NumGoroutine() {
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	before := runtime.NumGoroutine()
	for range 2 {
		pc := ProduceConfig{Common: c, Records: 2000, Payload: MakePayload(16), Acks: "all", Producers: 2, MaxInflight: 1, Keys: KeyMode{Kind: "none"}}
		if _, err := Produce(t.Context(), pc, nil); err != nil {
			t.Fatal(err)
		}
		pc.Records, pc.Duration = 0, 50*time.Millisecond
		if _, err := Produce(t.Context(), pc, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := Consume(t.Context(), ConsumeConfig{Common: c, Consumers: 2}, nil); err != nil {
			t.Fatal(err)
		}
		ec := pc
		ec.Records, ec.Duration, ec.Rate = 200, 0, 2000
		if _, err := E2E(t.Context(), E2EConfig{Produce: ec, Consumers: 1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := settle(before); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
