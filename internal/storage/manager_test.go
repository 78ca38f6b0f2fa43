package storage

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParsePartitionDir(t *testing.T) {
	tests := []struct {
		name string
		want TopicPartition
		ok   bool
	}{
		{"orders-0", TopicPartition{"orders", 0}, true},
		{"my-topic-12", TopicPartition{"my-topic", 12}, true},
		{"a.b_c-3", TopicPartition{"a.b_c", 3}, true},
		{"orders", TopicPartition{}, false},
		{"orders-", TopicPartition{}, false},
		{"-1", TopicPartition{}, false},
		{"orders-x", TopicPartition{}, false},
		{"orders--1", TopicPartition{"orders-", 1}, true},
		{"orders-+1", TopicPartition{}, false},
	}
	for _, tc := range tests {
		got, ok := parsePartitionDir(tc.name)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parsePartitionDir(%q) = %v, %v", tc.name, got, ok)
		}
	}
}

func TestDeletePartition(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	a, b := TopicPartition{"a", 0}, TopicPartition{"b", 1}
	for _, tp := range []TopicPartition{a, b} {
		l, _ := m.Open(tp, Config{})
		mustAppend(t, l, makeBatch(batchSpec{n: 3}))
	}
	la := m.Get(a)
	r, _ := la.Read(0, 1000, 10, true)
	if err := m.Delete(a); err != nil {
		t.Fatal(err)
	}
	if m.Get(a) != nil {
		t.Fatal("deleted log still returned")
	}
	if _, err := la.Append(makeBatch(batchSpec{n: 1}), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("append to deleted log: %v", err)
	}
	if _, err := r.AppendTo(nil); err != nil {
		t.Fatalf("in-flight read of a deleted partition: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a-0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("directory still there: %v", err)
	}
	// A leftover of a crash mid-delete is removed at open and not listed.
	os.MkdirAll(filepath.Join(dir, "c-0.abcdef-delete"), 0o755)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openTestManager(t, dir, nil)
	if got := fmt.Sprint(m.Partitions()); got != "[{b 1}]" {
		t.Fatalf("Partitions %s", got)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c-0.abcdef-delete")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("leftover -delete dir not removed")
	}
	// A recreated partition starts empty.
	m = openTestManager(t, dir, nil)
	defer m.Close()
	l, _ := m.Open(a, Config{})
	if l.LogEndOffset() != 0 {
		t.Fatalf("recreated LEO %d", l.LogEndOffset())
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		m := openTestManager(t, t.TempDir(), nil)
		l, _ := m.Open(tp0, Config{SegmentBytes: 200})
		for j := 0; j < 10; j++ {
			mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 100}))
		}
		m.Delete(tp0)
		m.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFileCacheBoundsOpenFiles(t *testing.T) {
	m, err := OpenManager(t.TempDir(), ManagerOptions{Logger: quietLogger, MaxOpenFiles: 4, IndexCacheBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var logs []*Log
	for p := int32(0); p < 5; p++ {
		l, _ := m.Open(TopicPartition{"t", p}, Config{SegmentBytes: 300, IndexIntervalBytes: 50})
		for i := 0; i < 20; i++ {
			mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 90}))
		}
		logs = append(logs, l)
	}
	for round := 0; round < 2; round++ {
		for _, l := range logs {
			if hs := readAll(t, l, 0); len(hs) != 20 {
				t.Fatalf("%d batches", len(hs))
			}
			if n := m.env.files.openCount(); n > 4 {
				t.Fatalf("%d files open, limit 4", n)
			}
		}
	}
	if used := m.env.indexes.usedBytes(); used > 100+64 {
		t.Fatalf("index cache holds %d bytes", used)
	}
}

func TestFlushMessagesAndFlushMs(t *testing.T) {
	dir := t.TempDir()
	m, err := OpenManager(dir, ManagerOptions{Logger: quietLogger, FlushCheckInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, _ := m.Open(tp0, Config{FlushMessages: 3})
	mustAppend(t, l, makeBatch(batchSpec{n: 2}))
	if l.recoveryPoint.Load() != 0 {
		t.Fatal("flushed too early")
	}
	mustAppend(t, l, makeBatch(batchSpec{n: 1}))
	if l.recoveryPoint.Load() != 3 {
		t.Fatalf("recovery point %d after flush.messages", l.recoveryPoint.Load())
	}
	l2, _ := m.Open(TopicPartition{"t", 1}, Config{FlushMs: 1})
	mustAppend(t, l2, makeBatch(batchSpec{n: 4}))
	deadline := time.Now().Add(5 * time.Second)
	for l2.recoveryPoint.Load() != 4 {
		if time.Now().After(deadline) {
			t.Fatal("flush.ms did not flush")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriteToUsesSendfile(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, _ := m.Open(tp0, Config{})
	for i := 0; i < 20; i++ {
		mustAppend(t, l, makeBatch(batchSpec{n: 10, valueSize: 500}))
	}
	r, err := l.Read(0, 1<<20, 1<<40, true)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := r.AppendTo(nil)

	var calls atomic.Int32
	old := sendfileHook
	sendfileHook = func() { calls.Add(1) }
	defer func() { sendfileHook = old }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.WriteTo(c)
	c.Close()
	if err != nil || n != r.Size {
		t.Fatalf("WriteTo: %d %v", n, err)
	}
	if b := <-got; string(b) != string(want) {
		t.Fatalf("received %d bytes differ from %d stored", len(b), len(want))
	}
	if calls.Load() != 1 {
		t.Fatal("sendfile path not taken for a *net.TCPConn")
	}
	// Other writers get the same bytes through pread.
	var sink fakeWriter
	if n, err := r.WriteTo(&sink); err != nil || n != r.Size || string(sink.b) != string(want) {
		t.Fatalf("fallback WriteTo: %d %v", n, err)
	}
}

type fakeWriter struct{ b []byte }

func (w *fakeWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// DeleteAll removes many logs with one checkpoint write: the checkpoints
// forget them, their directories go, and the others stay.
func TestDeleteAll(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	defer m.Close()
	var tps []TopicPartition
	for p := int32(0); p < 4; p++ {
		tp := TopicPartition{"t", p}
		l, err := m.Open(tp, Config{})
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, makeBatch(batchSpec{n: 2}))
		tps = append(tps, tp)
	}
	if err := m.DeleteAll(tps[:3]); err != nil {
		t.Fatal(err)
	}
	for _, tp := range tps[:3] {
		if m.Get(tp) != nil {
			t.Errorf("%v still open", tp)
		}
		if _, err := os.Stat(m.partitionDir(tp)); !os.IsNotExist(err) {
			t.Errorf("%v: directory still there (%v)", tp, err)
		}
	}
	for _, name := range []string{recoveryPointFile, logStartOffsetFile, highWatermarkFile} {
		cp, err := readOffsetCheckpoint(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cp[tps[3]]; len(cp) != 1 || !ok {
			t.Errorf("%s after deleting 3 of 4 logs: %v", name, cp)
		}
	}
	waitFor(t, "the deleted directories to be removed", func() bool {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), "-delete") {
				return false
			}
		}
		return true
	})
}
