package group

import (
	"fmt"
	"testing"
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
