package storage

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// pendingCount is the number of evicted files waiting to be closed.
func (r *reaper) pendingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, it := range r.mu.items {
		if it.f != nil {
			n++
		}
	}
	return n
}

// Under eviction churn the cache closes evicted files before their grace
// ends, to keep its descriptor bound; reads and appends that held such a
// file carry on with it reopened, and the bound holds.
func TestEvictedFileClosedUnderReaders(t *testing.T) {
	const limit = 8
	m, err := OpenManager(t.TempDir(), ManagerOptions{Logger: quietLogger, MaxOpenFiles: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var logs []*Log
	for p := int32(0); p < 40; p++ {
		l, err := m.Open(TopicPartition{"t", p}, Config{FlushMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, makeBatch(batchSpec{n: 2, valueSize: 50}))
		logs = append(logs, l)
	}
	want, err := logs[0].Read(0, 1<<20, 1<<40, true)
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, err := want.AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	held, err := logs[0].Read(0, 1<<20, 1<<40, true)
	if err != nil {
		t.Fatal(err)
	}
	// Churn: every other log's file is opened, evicting held's file and,
	// with more evicted files than the bound allows, closing it early.
	for _, l := range logs[1:] {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 50}))
		if open, pending := m.env.files.openCount(), m.env.reaper.pendingCount(); open+pending > limit {
			t.Fatalf("%d cached + %d evicted files open, bound %d", open, pending, limit)
		}
	}
	if _, err := held.File.Stat(); err == nil {
		t.Fatal("the held file is still open: the test did not exercise an early close")
	}
	got, err := held.AppendTo(nil)
	if err != nil || !bytes.Equal(got, wantBytes) {
		t.Fatalf("AppendTo of a result whose file was closed: %v (%d bytes, want %d)", err, len(got), len(wantBytes))
	}
	// The sendfile path, through a real socket.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	recv := make(chan []byte)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			recv <- nil
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		recv <- b
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs[1:] { // close it again
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 50}))
	}
	if _, err := held.WriteTo(c); err != nil {
		t.Fatalf("WriteTo of a result whose file was closed: %v", err)
	}
	c.Close()
	if got := <-recv; !bytes.Equal(got, wantBytes) {
		t.Fatalf("sent %d bytes, want %d", len(got), len(wantBytes))
	}
	// And appends (with fsync) to logs whose files were closed.
	for _, l := range logs {
		mustAppend(t, l, makeBatch(batchSpec{n: 1, valueSize: 50}))
	}
}

// Files unused for a whole interval are closed; used ones stay, and a
// closed one reopens on its next use.
func TestCloseIdleFiles(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	var logs []*Log
	for p := int32(0); p < 6; p++ {
		l, err := m.Open(TopicPartition{"t", p}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, makeBatch(batchSpec{n: 1}))
		logs = append(logs, l)
	}
	if n := m.env.files.openCount(); n != 6 {
		t.Fatalf("%d files open after appends to 6 logs", n)
	}
	m.env.files.closeIdle() // clears every bit: all were just used
	if n := m.env.files.openCount(); n != 6 {
		t.Fatalf("%d files open after the first look, want 6", n)
	}
	for _, l := range logs[:2] {
		mustAppend(t, l, makeBatch(batchSpec{n: 1}))
	}
	if closed := m.env.files.closeIdle(); closed != 4 || m.env.files.openCount() != 2 {
		t.Fatalf("closed %d idle files, %d left open; want 4 closed, 2 open", closed, m.env.files.openCount())
	}
	for _, l := range logs {
		if hs := readAll(t, l, 0); len(hs) < 1 {
			t.Fatalf("%d batches read back", len(hs))
		}
	}
}
