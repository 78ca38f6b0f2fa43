package crashtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// killWhileCommitting runs commit(n) for n = 1, 2, … up to limit on a
// client of its own, kills b once target commits were acknowledged (or
// after 60 s), and returns the highest commit acknowledged before the kill
// and the highest sent. commit returns an error once the broker is gone.
// Whatever the group then reads back must lie in [lo, hi]: below lo would
// be an acknowledged commit lost, above hi one never sent.
func killWhileCommitting(t *testing.T, b *broker, target, limit int64, commit func(ctx context.Context, cl *kgo.Client, n int64) error) (lo, hi int64) {
	t.Helper()
	var (
		mu          sync.Mutex
		acked, sent int64
		stopped     = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(stopped)
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RetryTimeout(time.Second))
		if err != nil {
			return
		}
		defer cl.Close()
		for n := int64(1); n <= limit && ctx.Err() == nil; n++ {
			mu.Lock()
			sent = n
			mu.Unlock()
			if commit(ctx, cl, n) != nil {
				return // the broker is gone
			}
			mu.Lock()
			acked = n
			mu.Unlock()
		}
	}()
	for deadline := time.Now().Add(60 * time.Second); ; {
		mu.Lock()
		a := acked
		mu.Unlock()
		if a >= target || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.kill()
	cancel()
	<-stopped
	mu.Lock()
	lo, hi = acked, sent
	mu.Unlock()
	if lo < 1 {
		t.Fatal("no commit acknowledged before the kill")
	}
	t.Logf("killed after commit %d acknowledged, %d sent", lo, hi)
	return lo, hi
}
