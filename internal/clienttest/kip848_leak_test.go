package clienttest

import (
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// A broker closed while KIP-848 groups have members (session timers
// pending, one member's session already expired) leaves no goroutine
// behind.
func TestKIP848NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		b := brokertest.StartBroker(t, t.TempDir(), kip848Overrides())
		defer b.Close()
		addr := b.Addr().String()
		// Only clients closed inside this function: newKgo's close at the
		// end of the test would count as a leak here.
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if resp, err := kadm.NewClient(cl).CreateTopic(testCtx(t), 4, 1, nil, "t"); err != nil || resp.Err != nil {
			t.Fatalf("create topic: %v %v", err, resp.Err)
		}
		h := hb848{t, cl, "leak848"}
		wantCode(t, "join a", h.send(join848("a", "t")).ErrorCode, nil)
		wantCode(t, "join b", h.send(join848("b", "t")).ErrorCode, nil)
		// a goes silent past its 3 s session; b's timer is still pending
		// when the broker closes.
		deadline := time.Now().Add(20 * time.Second)
		for len(describe848(t, cl, "leak848").Members) == 2 {
			if time.Now().After(deadline) {
				t.Fatal("a was never removed")
			}
			time.Sleep(100 * time.Millisecond)
		}
		wantCode(t, "join c", h.send(join848("c", "t")).ErrorCode, nil)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after the broker closed:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
