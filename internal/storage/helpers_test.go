package storage

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/record"
)

// batchSpec describes a test batch: n records of valueSize bytes each,
// record i with timestamp ts + i*tsStep.
type batchSpec struct {
	n         int
	valueSize int
	ts        int64
	tsStep    int64
	pid       int64 // -1: not idempotent
	epoch     int16
	seq       int32
}

// makeBatch builds a valid v2 batch (uncompressed, correct CRC-32C).
func makeBatch(s batchSpec) []byte {
	if s.n == 0 {
		s.n = 1
	}
	if s.pid == 0 {
		s.pid = -1
	}
	b := make([]byte, record.HeaderSize, record.HeaderSize+s.n*(s.valueSize+8))
	maxTs := s.ts
	for i := 0; i < s.n; i++ {
		var rec []byte
		rec = append(rec, 0) // attributes
		rec = binary.AppendVarint(rec, int64(i)*s.tsStep)
		rec = binary.AppendVarint(rec, int64(i))
		rec = binary.AppendVarint(rec, -1) // null key
		rec = binary.AppendVarint(rec, int64(s.valueSize))
		for j := 0; j < s.valueSize; j++ {
			rec = append(rec, byte(i+j))
		}
		rec = binary.AppendVarint(rec, 0) // headers
		b = binary.AppendVarint(b, int64(len(rec)))
		b = append(b, rec...)
		maxTs = max(maxTs, s.ts+int64(i)*s.tsStep)
	}
	be := binary.BigEndian
	be.PutUint64(b[0:], 0)
	be.PutUint32(b[8:], uint32(len(b)-record.LogOverhead))
	be.PutUint32(b[12:], 0)
	b[16] = 2
	be.PutUint16(b[21:], 0)
	be.PutUint32(b[23:], uint32(s.n-1))
	be.PutUint64(b[27:], uint64(s.ts))
	be.PutUint64(b[35:], uint64(maxTs))
	be.PutUint64(b[43:], uint64(s.pid))
	be.PutUint16(b[51:], uint16(s.epoch))
	seq := s.seq
	if s.pid < 0 {
		seq = -1
	}
	be.PutUint32(b[53:], uint32(seq))
	be.PutUint32(b[57:], uint32(s.n))
	be.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// testClock is an injectable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func openTestManager(t testing.TB, dir string, clock *testClock) *Manager {
	t.Helper()
	opts := ManagerOptions{Logger: quietLogger}
	if clock != nil {
		opts.Now = clock.Now
	}
	m, err := OpenManager(dir, opts)
	if err != nil {
		t.Fatalf("OpenManager: %v", err)
	}
	return m
}

// crash stops a Manager the way kill -9 would leave its files: no flush, no
// checkpoint, no marker (the page cache keeps what was written).
func crash(m *Manager) {
	m.mu.Lock()
	m.mu.closed = true
	logs := make([]*Log, 0, len(m.mu.logs))
	for _, l := range m.mu.logs {
		logs = append(logs, l)
	}
	m.mu.Unlock()
	m.stop.cancel()
	m.wg.Wait()
	for _, l := range logs {
		l.closed.Store(true)
		for _, s := range l.segments() {
			if f := m.env.files.forget(s.file); f != nil {
				f.Close()
			}
		}
	}
	m.env.reaper.runAll()
}

var tp0 = TopicPartition{Topic: "t", Partition: 0}

func mustAppend(t testing.TB, l *Log, b []byte) AppendResult {
	t.Helper()
	res, err := l.Append(b, 0)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// readAll reads [from, leo) batch by batch and returns the headers seen.
func readAll(t testing.TB, l *Log, from int64) []record.Header {
	t.Helper()
	var out []record.Header
	off := from
	for off < l.LogEndOffset() {
		r, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if r.Size == 0 {
			t.Fatalf("Read(%d) empty before LEO %d", off, l.LogEndOffset())
		}
		buf, err := r.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		it := record.NewBatches(buf)
		for {
			h, raw, ok := it.Next()
			if !ok {
				break
			}
			if _, err := record.Validate(raw); err != nil {
				t.Fatalf("batch at %d: %v", h.BaseOffset, err)
			}
			out = append(out, h)
		}
		if it.Err() != nil || it.Pos() != len(buf) {
			t.Fatalf("Read(%d) returned partial batches: %v", off, it.Err())
		}
		if r.NextOffset <= off {
			t.Fatalf("Read(%d) NextOffset %d does not advance", off, r.NextOffset)
		}
		off = r.NextOffset
	}
	return out
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func crcOf(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

func timeAt(ms int64) time.Time { return time.UnixMilli(ms) }
