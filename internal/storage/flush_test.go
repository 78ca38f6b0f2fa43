package storage

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedSync replaces a Manager's segment fsync: every call is counted and
// announced on entered, and blocks until the test sends on release.
type gatedSync struct {
	calls   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func gateSyncs(m *Manager) *gatedSync {
	g := &gatedSync{entered: make(chan struct{}, 100), release: make(chan struct{})}
	m.env.syncFile = func(f *os.File) error {
		g.calls.Add(1)
		g.entered <- struct{}{}
		<-g.release
		return syncData(f)
	}
	return g
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// With flush.messages=1 an append returns only after its data was fsynced.
func TestFlushMessagesOneAckWaitsForFsync(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, err := m.Open(tp0, Config{FlushMessages: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := gateSyncs(m)
	done := make(chan AppendResult)
	go func() {
		res, err := l.Append(makeBatch(batchSpec{n: 3}), 0)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-g.entered
	select {
	case <-done:
		t.Fatal("Append returned while its fsync was still running")
	default:
	}
	if rp := l.recoveryPoint.Load(); rp != 0 {
		t.Fatalf("recovery point %d before the fsync finished", rp)
	}
	close(g.release)
	res := <-done
	if rp := l.recoveryPoint.Load(); rp < res.LastOffset+1 {
		t.Fatalf("recovery point %d after the acknowledged append of offsets up to %d", rp, res.LastOffset)
	}
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("%d fsyncs for one append, want 1", n)
	}
}

// Appends that arrive while an fsync runs are not held up by it (they write
// and wait), and one next fsync covers all of them: a group commit.
func TestFlushMessagesGroupCommit(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	defer m.Close()
	l, err := m.Open(tp0, Config{FlushMessages: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := gateSyncs(m)
	var wg sync.WaitGroup
	var acked atomic.Int64
	appendOne := func() {
		defer wg.Done()
		res, err := l.Append(makeBatch(batchSpec{n: 1, valueSize: 100}), 0)
		if err != nil {
			t.Error(err)
			return
		}
		if rp := l.recoveryPoint.Load(); rp <= res.LastOffset {
			t.Errorf("append of offset %d acknowledged with recovery point %d", res.LastOffset, rp)
		}
		acked.Add(1)
	}
	wg.Add(1)
	go appendOne()
	<-g.entered // the first append's fsync is running, and blocked

	const queued = 20
	wg.Add(queued)
	for i := 0; i < queued; i++ {
		go appendOne()
	}
	// All of them get their bytes into the log while the fsync is stuck:
	// nobody holds the append lock across an fsync.
	waitFor(t, "the queued appends to be written", func() bool { return l.LogEndOffset() == 1+queued })
	if n := acked.Load(); n != 0 {
		t.Fatalf("%d appends acknowledged before any fsync finished", n)
	}
	close(g.release)
	wg.Wait()
	if n := g.calls.Load(); n != 2 {
		t.Fatalf("%d fsyncs for 1 + %d appends that queued behind the first, want 2 (one group commit for the queue)", n, queued)
	}
	if rp := l.recoveryPoint.Load(); rp != 1+queued {
		t.Fatalf("recovery point %d, want %d", rp, 1+queued)
	}
	if acked, fsyncs := m.FlushStats().Counts(); acked != 1+queued || fsyncs != 2 {
		t.Fatalf("FlushStats: %d appends acknowledged after %d fsyncs, want %d after 2", acked, fsyncs, 1+queued)
	}
}

// Creating a log writes its partition.metadata and leader epoch checkpoint
// without an fsync each; the first flush fsyncs them, before the recovery
// point moves, even when there is no data to flush.
func TestMetadataFilesFsyncedByFlush(t *testing.T) {
	dir := t.TempDir()
	m := openTestManager(t, dir, nil)
	l, err := m.Open(tp0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetTopicID([16]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := l.AssignEpochStart(3, 0); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	dirty := l.mu.topicIDDirty && l.mu.epochs.dirty
	l.mu.Unlock()
	if !dirty {
		t.Fatal("partition.metadata and leader-epoch-checkpoint not marked for the next flush")
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	dirty = l.mu.topicIDDirty || l.mu.epochs.dirty
	l.mu.Unlock()
	if dirty {
		t.Fatal("still marked unflushed after Flush")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{partitionMetadataFile, leaderEpochFile} {
		if _, err := os.Stat(filepath.Join(dir, "t-0", name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Concurrent fsyncs of the data directory share: each caller returns after
// an fsync that started after it asked, and far fewer fsyncs run.
func TestDirSyncerShares(t *testing.T) {
	var d dirSyncer
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.sync(dir); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d.done != d.asked.Load() {
		t.Fatalf("%d tickets, %d covered", d.asked.Load(), d.done)
	}
	if err := d.sync(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("an fsync of a missing directory succeeded")
	}
}
