package storage

import (
	"os"
	"syscall"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

// benchBatch is a ~16 KiB batch of records of valueSize bytes.
func benchBatch(valueSize int) []byte {
	n := 16 << 10 / (valueSize + 8)
	return makeBatch(batchSpec{n: n, valueSize: valueSize, ts: 1_700_000_000_000, tsStep: 1})
}

func benchmarkAppend(b *testing.B, valueSize int) {
	m, err := OpenManager(b.TempDir(), ManagerOptions{Logger: quietLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	// 256 MiB segments keep the disk use of long runs bounded: retention
	// below deletes old ones (HW at the LEO).
	l, _ := m.Open(tp0, Config{SegmentBytes: 256 << 20, RetentionBytes: 512 << 20})
	src := benchBatch(valueSize)
	buf := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	// NB: start without dirty pages of earlier runs, whose writeback to
	// the disk would otherwise throttle this one (as for the raw baseline).
	syscall.Sync()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, src) // Append patches the batch in place
		if _, err := l.Append(buf, 1); err != nil {
			b.Fatal(err)
		}
		if i%16384 == 16383 {
			b.StopTimer()
			l.SetHighWatermark(l.LogEndOffset())
			l.ApplyRetention()
			b.StartTimer()
		}
	}
}

func BenchmarkAppend100B(b *testing.B) { benchmarkAppend(b, 100) }

// BenchmarkRawPwrite16KiB is the baseline for the append benchmarks: the
// same 16 KiB positional writes to a growing file, with no log around them.
func BenchmarkRawPwrite16KiB(b *testing.B) {
	f, err := os.Create(b.TempDir() + "/raw")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := benchBatch(1024)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	syscall.Sync()
	b.ResetTimer()
	var pos int64
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, pos); err != nil {
			b.Fatal(err)
		}
		pos += int64(len(buf))
		if pos >= 256<<20 { // as the log's segments: bounded disk use
			b.StopTimer()
			f.Truncate(0)
			pos = 0
			b.StartTimer()
		}
	}
}
func BenchmarkAppend1KiB(b *testing.B) { benchmarkAppend(b, 1024) }

// benchmarkRead reads a 256 MiB log sequentially, 1 MiB per Read, into a
// reused buffer (the page cache serves it).
func benchmarkRead(b *testing.B, valueSize int) {
	m, err := OpenManager(b.TempDir(), ManagerOptions{Logger: quietLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 64 << 20})
	src := benchBatch(valueSize)
	buf := make([]byte, len(src))
	for l.Size() < 256<<20 {
		copy(buf, src)
		if _, err := l.Append(buf, 1); err != nil {
			b.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	dst := make([]byte, 0, 2<<20)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	off := int64(0)
	for i := 0; i < b.N; i++ {
		// One batch per iteration, so MB/s and allocs/op compare with append.
		r, err := l.Read(off, int32(len(src)), leo, true)
		if err != nil {
			b.Fatal(err)
		}
		if dst, err = r.AppendTo(dst[:0]); err != nil {
			b.Fatal(err)
		}
		off = r.NextOffset
		if off >= leo {
			off = 0
		}
	}
}

func BenchmarkRead100B(b *testing.B) { benchmarkRead(b, 100) }
func BenchmarkRead1KiB(b *testing.B) { benchmarkRead(b, 1024) }

// BenchmarkReadMiB reads 1 MiB per Read (fetch-sized).
func BenchmarkReadMiB(b *testing.B) {
	m, err := OpenManager(b.TempDir(), ManagerOptions{Logger: quietLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 64 << 20})
	src := benchBatch(1024)
	buf := make([]byte, len(src))
	for l.Size() < 256<<20 {
		copy(buf, src)
		l.Append(buf, 1)
	}
	leo := l.LogEndOffset()
	dst := make([]byte, 0, 2<<20)
	b.ReportAllocs()
	b.ResetTimer()
	off := int64(0)
	var total int64
	for i := 0; i < b.N; i++ {
		r, err := l.Read(off, 1<<20, leo, true)
		if err != nil {
			b.Fatal(err)
		}
		dst, _ = r.AppendTo(dst[:0])
		total += int64(len(dst))
		off = r.NextOffset
		if off >= leo {
			off = 0
		}
	}
	b.SetBytes(total / int64(b.N))
	_ = record.HeaderSize
}
