package storage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

// BenchmarkClean compacts a log of STRATA_BENCH_CLEAN_MB MiB (64 by
// default) of 100-byte values over 10,000 distinct keys, in 16 MiB
// segments, uncompressed and with zstd: one full pass per iteration
// (building the offset map, rewriting every closed segment, the swaps).
// MB/s is of the log's bytes before the pass.
//
//	STRATA_BENCH_CLEAN_MB=200 go test ./internal/storage/ -run '^$' -bench Clean -benchmem
func BenchmarkClean(b *testing.B) {
	mb := 64
	if v, err := strconv.Atoi(os.Getenv("STRATA_BENCH_CLEAN_MB")); err == nil && v > 0 {
		mb = v
	}
	for _, codec := range []int{record.CodecNone, record.CodecZstd} {
		b.Run(fmt.Sprintf("%dMiB/codec%d", mb, codec), func(b *testing.B) { benchmarkClean(b, int64(mb)<<20, codec) })
	}
}

func benchmarkClean(b *testing.B, size int64, codec int) {
	const keys, perBatch = 10000, 100
	// The batches, built once: keys cycle so every pass finds ~size/10k
	// versions of each key.
	var batches [][]byte
	rnd := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 100)
	n := 0
	for range 97 { // a prime number of distinct batches, reused
		spec := record.BatchSpec{Codec: codec, BaseTimestamp: 1_700_000_000_000}
		for range perBatch {
			// Values of random letters: zstd halves them, about
			// what it does to JSON-ish payloads.
			for i := range value {
				value[i] = 'a' + byte(rnd.IntN(16))
			}
			spec.Records = append(spec.Records, record.RecordSpec{
				Key:   fmt.Appendf(nil, "key-%05d", n%keys),
				Value: slices.Clone(value),
			})
			n += 7919 // scatter keys across batches
		}
		batches = append(batches, record.Build(spec))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var total, records int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m, err := OpenManager(b.TempDir(), ManagerOptions{Logger: quietLogger, DisableCleaner: true})
		if err != nil {
			b.Fatal(err)
		}
		l, _ := m.Open(tp0, Config{SegmentBytes: 16 << 20, CleanupPolicy: "compact", MinCleanableRatio: 0.01})
		buf := make([]byte, 0, 64<<10)
		for j := 0; l.Size() < size; j++ {
			buf = append(buf[:0], batches[j%len(batches)]...)
			if _, err := l.Append(buf, 0); err != nil {
				b.Fatal(err)
			}
		}
		rollAndCommit(b, l)
		before := l.Size()
		b.StartTimer()
		cleanOnce(b, m)
		b.StopTimer()
		total += before
		records += l.LogEndOffset()
		if i == 0 {
			b.ReportMetric(float64(l.Size())/float64(before), "size_after/before")
		}
		m.Close()
	}
	b.SetBytes(total / int64(b.N))
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
