package group

import (
	"fmt"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

// BenchmarkOffsetCommit: one commit of one partition per op, each written
// to the __consumer_offsets log before it returns, spread over 16 groups
// (as 16 consumers committing in parallel would).
func BenchmarkOffsetCommit(b *testing.B) {
	ct := newCoordTest(b, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			g := fmt.Sprintf("bench-%d", i%16)
			if codes := ct.commit(g, "", -1, map[int32]int64{int32(i % 3): int64(i)}); codes[int32(i%3)] != 0 {
				b.Errorf("commit: %v", codes)
				return
			}
		}
	})
}

// BenchmarkShardLoad replays a shard of 100,000 offset commits (1,000
// groups × 100 partitions, in batches of 100 as consumers commit them).
func BenchmarkShardLoad(b *testing.B) {
	ct := newCoordTest(b, nil)
	s := ct.c.shards()[0]
	for g := range 1000 {
		var recs []record.RecordSpec
		for p := range int32(100) {
			recs = append(recs, record.RecordSpec{Key: offsetKey(fmt.Sprintf("group-%d", g), "t", p), Value: offsetValue(Offset{Offset: int64(p), LeaderEpoch: -1, ExpireTimestamp: -1})})
		}
		if err := s.write(recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		groups := map[string]*Group{}
		n, skipped, err := s.replay(groups)
		if err != nil || n != 100000 || skipped != 0 || len(groups) != 1000 {
			b.Fatalf("replayed %d (%d skipped, %v) into %d groups", n, skipped, err, len(groups))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/record")
}
