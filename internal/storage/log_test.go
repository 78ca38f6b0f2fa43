package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/strata-io/strata/internal/record"
)

func TestAppendReadAcrossRolls(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, err := m.Open(tp0, Config{SegmentBytes: 2000, IndexIntervalBytes: 300})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	next := int64(0)
	for i := 0; i < 60; i++ {
		b := makeBatch(batchSpec{n: 1 + i%4, valueSize: 20 + i*3, ts: 1000 + int64(i)})
		res := mustAppend(t, l, b)
		if res.BaseOffset != next || res.LastOffset != next+int64(1+i%4)-1 {
			t.Fatalf("append %d: got %d..%d want base %d", i, res.BaseOffset, res.LastOffset, next)
		}
		next = res.LastOffset + 1
		want = append(want, append([]byte(nil), b...))
	}
	if l.LogEndOffset() != next {
		t.Fatalf("LEO %d want %d", l.LogEndOffset(), next)
	}
	if n := len(l.segments()); n < 5 {
		t.Fatalf("only %d segments: rolls did not happen", n)
	}
	// Every offset: the result starts with the batch holding it.
	hs := readAll(t, l, 0)
	if len(hs) != len(want) {
		t.Fatalf("read %d batches, want %d", len(hs), len(want))
	}
	for _, h := range hs {
		for o := h.BaseOffset; o <= h.LastOffset(); o++ {
			r, err := l.Read(o, 1, 1<<62, true)
			if err != nil {
				t.Fatalf("Read(%d): %v", o, err)
			}
			buf, _ := r.AppendTo(nil)
			got, err := record.ParseHeader(buf)
			if err != nil || got.BaseOffset != h.BaseOffset || len(buf) != h.Size() {
				t.Fatalf("Read(%d) got batch %d (%d bytes), want %d (%d): %v", o, got.BaseOffset, len(buf), h.BaseOffset, h.Size(), err)
			}
		}
	}
	// Byte-for-byte equality apart from the patched base offset and epoch.
	var all []byte
	for off := int64(0); off < next; {
		r, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatal(err)
		}
		all, _ = r.AppendTo(all)
		off = r.NextOffset
	}
	var exp []byte
	off := int64(0)
	for _, b := range want {
		c := append([]byte(nil), b...)
		record.SetBaseOffset(c, off)
		h, _ := record.ParseHeader(c)
		off = h.LastOffset() + 1
		exp = append(exp, c...)
	}
	if !bytes.Equal(all, exp) {
		t.Fatalf("stored bytes differ from appended bytes")
	}
}

func TestReadBounds(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 1 << 20, IndexIntervalBytes: 100})
	var sizes []int64
	for i := 0; i < 10; i++ {
		b := makeBatch(batchSpec{n: 2, valueSize: 50})
		sizes = append(sizes, int64(len(b)))
		mustAppend(t, l, b) // offsets 2i, 2i+1
	}
	tests := []struct {
		name        string
		offset      int64
		maxBytes    int32
		maxOffset   int64
		minOne      bool
		wantBatches int
		wantNext    int64
		wantErr     error
	}{
		{"below start", -1, 1000, 100, true, 0, 0, ErrOffsetOutOfRange},
		{"past LEO", 21, 1000, 100, true, 0, 0, ErrOffsetOutOfRange},
		{"at LEO", 20, 1000, 100, true, 0, 20, nil},
		{"all", 0, 1 << 20, 100, true, 10, 20, nil},
		{"maxOffset cuts", 0, 1 << 20, 6, true, 3, 6, nil},
		{"maxOffset inside batch keeps it", 0, 1 << 20, 5, true, 3, 6, nil},
		{"maxOffset at start", 4, 1 << 20, 4, true, 0, 4, nil},
		{"maxBytes exact two", 0, int32(sizes[0] + sizes[1]), 100, true, 2, 4, nil},
		{"maxBytes one short", 0, int32(sizes[0] + sizes[1] - 1), 100, true, 1, 2, nil},
		{"minOneBatch", 3, 1, 100, true, 1, 4, nil},
		{"no minOneBatch", 3, 1, 100, false, 0, 3, nil},
		{"middle offset", 7, 1 << 20, 100, true, 7, 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := l.Read(tc.offset, tc.maxBytes, tc.maxOffset, tc.minOne)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			buf, err := r.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			it := record.NewBatches(buf)
			n := 0
			for _, _, ok := it.Next(); ok; _, _, ok = it.Next() {
				n++
			}
			if n != tc.wantBatches || r.NextOffset != tc.wantNext {
				t.Fatalf("got %d batches next %d, want %d next %d", n, r.NextOffset, tc.wantBatches, tc.wantNext)
			}
		})
	}
}

func TestAppendValidation(t *testing.T) {
	good := func() []byte { return makeBatch(batchSpec{n: 3, valueSize: 10}) }
	badCRC := good()
	badCRC[len(badCRC)-1] ^= 1
	magic1 := good()
	magic1[16] = 1
	countMismatch := makeBatch(batchSpec{n: 3, valueSize: 10})
	countMismatch[60] = 7 // record count 7, last offset delta 2
	// fix the CRC so only the count is wrong
	fixed := append([]byte(nil), countMismatch...)
	setCRC(fixed)
	big := makeBatch(batchSpec{n: 1, valueSize: 5000})
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrInvalidRecord},
		{"bad crc", badCRC, ErrCorruptBatch},
		{"magic 1", magic1, record.ErrUnsupportedMagic},
		{"too large", big, ErrMessageTooLarge},
		{"truncated", good()[:50], ErrCorruptBatch},
		{"truncated second", append(good(), good()[:70]...), ErrCorruptBatch},
		{"trailing garbage", append(good(), 1, 2, 3), ErrCorruptBatch},
		{"good then bad crc", append(good(), badCRC...), ErrCorruptBatch},
		{"count mismatch", fixed, ErrInvalidRecord},
	}
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{MaxMessageBytes: 4000})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.Append(tc.b, 0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if l.LogEndOffset() != 0 || l.Size() != 0 {
				t.Fatalf("failed append wrote: LEO %d size %d", l.LogEndOffset(), l.Size())
			}
		})
	}
}

func setCRC(b []byte) {
	h, _ := record.ParseHeader(b)
	_ = h
	c := crcOf(b[21:])
	b[17], b[18], b[19], b[20] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
}

func TestLogAppendTime(t *testing.T) {
	clock := &testClock{now: timeAt(50_000)}
	m := openTestManager(t, t.TempDir(), clock)
	defer m.Close()
	l, _ := m.Open(tp0, Config{LogAppendTime: true})
	res := mustAppend(t, l, makeBatch(batchSpec{n: 2, ts: 10}))
	if res.LogAppendTime != 50_000 {
		t.Fatalf("LogAppendTime %d", res.LogAppendTime)
	}
	hs := readAll(t, l, 0)
	if hs[0].MaxTimestamp != 50_000 || hs[0].Attributes&record.AttrLogAppendTime == 0 {
		t.Fatalf("stored header %+v", hs[0])
	}
}

func TestConcurrentAppendRead(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{SegmentBytes: 4096, IndexIntervalBytes: 200})
	const writers, perWriter = 4, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if _, err := l.Append(makeBatch(batchSpec{n: 2, valueSize: 30}), 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for r := 0; r < 2; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			var buf []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				leo := l.LogEndOffset()
				for off := int64(0); off < leo; {
					res, err := l.Read(off, 8192, leo, true)
					if err != nil {
						t.Error(err)
						return
					}
					buf, err = res.AppendTo(buf[:0])
					if err != nil {
						t.Error(err)
						return
					}
					it := record.NewBatches(buf)
					for h, raw, ok := it.Next(); ok; h, raw, ok = it.Next() {
						if _, err := record.Validate(raw); err != nil || h.BaseOffset >= leo {
							t.Errorf("bad batch at %d: %v", h.BaseOffset, err)
							return
						}
					}
					off = res.NextOffset
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	if got := l.LogEndOffset(); got != writers*perWriter*2 {
		t.Fatalf("LEO %d", got)
	}
	if hs := readAll(t, l, 0); len(hs) != writers*perWriter {
		t.Fatalf("%d batches", len(hs))
	}
}

func TestManagerCloseReopen(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	tps := []TopicPartition{{"orders", 0}, {"orders", 1}, {"my-topic-with-dashes", 12}}
	for i, tp := range tps {
		l, err := m.Open(tp, Config{SegmentBytes: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 10*(i+1); j++ {
			mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 40, ts: int64(j)}))
		}
		l.SetHighWatermark(int64(5 * (i + 1)))
		if err := l.AssignEpochStart(3, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Get(tps[2]).DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openTestManager(t, dir, nil)
	defer m.Close()
	if !m.clean {
		t.Fatal("clean shutdown not detected")
	}
	if got := fmt.Sprint(m.Partitions()); got != fmt.Sprint([]TopicPartition{tps[2], tps[0], tps[1]}) {
		t.Fatalf("Partitions %v", got)
	}
	for i, tp := range tps {
		l, err := m.Open(tp, Config{SegmentBytes: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if l.LogEndOffset() != int64(10*(i+1)) || l.HighWatermark() != int64(5*(i+1)) || l.LatestEpoch() != 3 {
			t.Fatalf("%v: LEO %d HW %d epoch %d", tp, l.LogEndOffset(), l.HighWatermark(), l.LatestEpoch())
		}
		if hs := readAll(t, l, l.LogStartOffset()); int64(len(hs)) != l.LogEndOffset()-l.LogStartOffset() {
			t.Fatalf("%v: read %d batches", tp, len(hs))
		}
	}
	if got := m.Get(tps[2]).LogStartOffset(); got != 4 {
		t.Fatalf("log start %d", got)
	}
}
