package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/brokertest"
)

// BenchmarkProduceLoop runs the producer's hot loop (take a pooled record,
// fill it, hand it to franz-go, recycle it in the promise) against an
// in-process broker. allocs/op is per record and includes what franz-go
// allocates per batch and request; the loop itself allocates nothing once
// the pool is warm, so it stays well below one. Paced (rate=…), records
// leave one per request and franz-go's per-request allocations (about
// five) show per record; the pacing itself reuses one timer.
func BenchmarkProduceLoop(b *testing.B) {
	for _, tc := range []struct {
		keys string
		rate float64
	}{{"none", 0}, {"seq", 0}, {"random:1000", 0}, {"none", 200_000}} {
		keys := tc.keys
		b.Run(fmt.Sprintf("keys=%s/rate=%v", keys, tc.rate), func(b *testing.B) {
			addr := brokertest.Start(b, nil)
			km, _ := ParseKeyMode(keys)
			cfg := ProduceConfig{Common: Common{Seeds: []string{addr}, Topic: "loop", Partitions: 1, ReplicationFactor: 1,
				RequestTimeout: 30 * time.Second}, Records: 1, Payload: MakePayload(100), Acks: "1", Producers: 1,
				MaxInflight: 5, Keys: km}
			if err := cfg.validate(); err != nil {
				b.Fatal(err)
			}
			if _, err := cfg.ensureTopic(context.Background()); err != nil {
				b.Fatal(err)
			}
			p, err := newProducer(&cfg, 0, &meter{}, false)
			if err != nil {
				b.Fatal(err)
			}
			defer p.cl.Close()
			st, release := newStopper(context.Background(), 0)
			defer release()
			ctx := context.Background()
			// Warm the pool and the client's buffers.
			p.produceLoop(ctx, 0, 1, 200_000, &pacer{}, st)
			p.cl.Flush(ctx)
			b.SetBytes(100)
			b.ReportAllocs()
			b.ResetTimer()
			pc := &pacer{start: time.Now()}
			if tc.rate > 0 {
				pc.interval = float64(time.Second) / tc.rate
			}
			p.produceLoop(ctx, 0, 1, int64(b.N), pc, st)
			if err := p.cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
