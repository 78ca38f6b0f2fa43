package partition

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/record"
	"github.com/strata-io/strata/internal/storage"
)

func oneRecord() []byte {
	return record.Build(record.BatchSpec{LeaderEpoch: -1, BaseTimestamp: 1,
		Records: []record.RecordSpec{{Value: []byte("v")}}})
}

// With fsync before ack (flush.messages=1) the high watermark, which is
// what consumers may read, never passes the fsynced data: an append that
// lands while another's fsync runs stays invisible until its own fsync.
func TestHighWatermarkWaitsForFsync(t *testing.T) {
	entered, release := make(chan struct{}, 10), make(chan struct{})
	m, err := storage.OpenManager(t.TempDir(), storage.ManagerOptions{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SyncFile: func(f *os.File) error {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return f.Sync()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer close(release) // let later fsyncs (Close's) through
	lg, err := m.Open(storage.TopicPartition{Topic: "t", Partition: 0}, storage.Config{FlushMessages: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := New("t", 0, 1, lg, State{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}, Settings{MinInsyncReplicas: 1})
	appendAsync := func() chan error {
		done := make(chan error, 1)
		go func() {
			_, err := p.Append(oneRecord(), -1)
			done <- err
		}()
		return done
	}
	a := appendAsync()
	<-entered // a's fsync runs (blocked)
	b := appendAsync()
	deadline := time.Now().Add(10 * time.Second)
	for lg.LogEndOffset() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second append was not written while the first one's fsync ran")
		}
		time.Sleep(time.Millisecond)
	}
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("HW %d before any fsync finished, want 0", hw)
	}
	release <- struct{}{} // a's fsync ends
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	<-entered // b's fsync runs (blocked)
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("HW %d after the first fsync, want 1: offset 1 is not fsynced yet", hw)
	}
	release <- struct{}{}
	if err := <-b; err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 2 {
		t.Fatalf("HW %d after both fsyncs, want 2", hw)
	}
}

// leaderOf opens a leader replica (node 1) of a partition with replicas
// 1 and 2, both in the ISR, on a fresh log.
func leaderOf(t *testing.T, r *Replication, minISR int) *Partition {
	t.Helper()
	m, err := storage.OpenManager(t.TempDir(), storage.ManagerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	lg, err := m.Open(storage.TopicPartition{Topic: "t", Partition: 0}, storage.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p := New("t", 0, 1, lg, State{Leader: 1, LeaderEpoch: 3, Replicas: []int32{1, 2}, ISR: []int32{1, 2}},
		Settings{MinInsyncReplicas: minISR, AppendTimeout: 10 * time.Second})
	if r != nil {
		r.parts.Put(p)
		r.Track(p)
	}
	return p
}

// The HW is the smallest log end offset in the ISR, and an acks=-1 append
// returns only once the follower has fetched past it.
func TestAcksAllWaitsForFollower(t *testing.T) {
	p := leaderOf(t, nil, 2)
	if _, err := p.AppendDeferSync(oneRecord(), 1); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("HW %d before the follower fetched", hw)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Append(oneRecord(), -1)
		done <- err
	}()
	waitUntil(t, func() bool { return p.LogEndOffset() == 2 })
	if err := p.UpdateFollowerFetch(2, 1); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("HW %d after the follower fetched at 1", hw)
	}
	select {
	case err := <-done:
		t.Fatalf("acks=-1 append returned before the follower had it: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := p.UpdateFollowerFetch(2, 2); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	res, _ := p.AppendDeferSync(oneRecord(), -1)
	if err := p.WaitReplicated(ctx, res.LastOffset); !errors.Is(err, ErrRequestTimedOut) {
		t.Fatalf("wait without the follower: %v", err)
	}
	if err := p.UpdateFollowerFetch(3, 0); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("fetch from a non-replica: %v", err)
	}
	if err := p.UpdateFollowerFetch(2, 9); !errors.Is(err, storage.ErrOffsetOutOfRange) {
		t.Fatalf("fetch past the log end: %v", err)
	}
}

// A follower that has not caught up for replica.lag.time.max.ms is
// dropped from the ISR through AlterPartition; the HW then moves without
// it, and an acks=-1 append completes with NOT_ENOUGH_REPLICAS_AFTER_APPEND
// when the ISR fell below min.insync.replicas. A follower that catches up
// is added back.
func TestISRShrinkAndExpand(t *testing.T) {
	clock := &fakeClock{now: time.Now()} // NB: New tracks followers on the real clock until Track
	alters := make(chan metadata.AlterPartitionRequest, 10)
	var p *Partition
	epoch := int32(0)
	r := NewReplication(ReplicationConfig{NodeID: 1, LagTimeMax: time.Hour, Now: clock.Now,
		BrokerAddr: func(int32) (string, bool) { return "", false },
		AlterPartition: func(_ context.Context, req metadata.AlterPartitionRequest) (metadata.AlterPartitionResponse, error) {
			alters <- req
			if req.PartitionEpoch != epoch {
				return metadata.AlterPartitionResponse{ErrorCode: 1}, nil
			}
			epoch++
			return metadata.AlterPartitionResponse{State: metadata.Partition{Leader: 1, LeaderEpoch: 3, PartitionEpoch: epoch,
				Replicas: []int32{1, 2}, ISR: req.NewISR}}, nil
		}}, NewSet())
	defer r.Close()
	p = leaderOf(t, r, 2)
	res, err := p.AppendDeferSync(oneRecord(), -1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.WaitReplicated(context.Background(), res.LastOffset) }()
	p.maybeShrinkISR(clock.Now(), 30*time.Second)
	clock.Advance(31 * time.Second)
	p.maybeShrinkISR(clock.Now(), 30*time.Second)
	if req := <-alters; !slices.Equal(req.NewISR, []int32{1}) || req.LeaderEpoch != 3 {
		t.Fatalf("shrink request %+v", req)
	}
	if err := <-done; !errors.Is(err, ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("acks=-1 after the ISR shrank below min: %v", err)
	}
	if _, err := p.AppendDeferSync(oneRecord(), -1); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=-1 with ISR below min: %v", err)
	}
	// The follower fetches but is behind: not back in the ISR yet.
	if err := p.UpdateFollowerFetch(2, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-alters:
		t.Fatalf("expanded before the follower caught up: %+v", req)
	default:
	}
	if err := p.UpdateFollowerFetch(2, 1); err != nil {
		t.Fatal(err)
	}
	if req := <-alters; !slices.Equal(req.NewISR, []int32{1, 2}) || req.PartitionEpoch != 1 {
		t.Fatalf("expand request %+v", req)
	}
	waitUntil(t, func() bool { return len(p.State().ISR) == 2 })
	p.SetSettings(Settings{MinInsyncReplicas: 2, AppendTimeout: 50 * time.Millisecond})
	if _, err := p.Append(oneRecord(), -1); err == nil {
		t.Fatal("acks=-1 returned without the follower fetching")
	} else if !errors.Is(err, ErrRequestTimedOut) {
		t.Fatalf("acks=-1: %v", err)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Without a controller to record the shrink, a follower that stopped
// catching up still stops counting for min.insync.replicas once
// replica.lag.time.max.ms passed: acks=-1 is refused (NOT_ENOUGH_REPLICAS)
// rather than left to time out, while acks=1 goes on.
func TestMinISRCountsLaggingFollowersOut(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	r := NewReplication(ReplicationConfig{NodeID: 1, LagTimeMax: 30 * time.Second, Now: clock.Now,
		BrokerAddr: func(int32) (string, bool) { return "", false },
		AlterPartition: func(ctx context.Context, req metadata.AlterPartitionRequest) (metadata.AlterPartitionResponse, error) {
			return metadata.AlterPartitionResponse{}, errors.New("no controller quorum")
		}}, NewSet())
	defer r.Close()
	p := leaderOf(t, r, 2)
	if _, err := p.AppendDeferSync(oneRecord(), -1); err != nil {
		t.Fatalf("acks=-1 with the follower caught up: %v", err)
	}
	clock.Advance(31 * time.Second)
	p.maybeShrinkISR(clock.Now(), 30*time.Second)
	if _, err := p.AppendDeferSync(oneRecord(), -1); !errors.Is(err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=-1 with the follower 31 s behind: %v", err)
	}
	if len(p.State().ISR) != 2 {
		t.Fatalf("ISR changed without the controller: %v", p.State().ISR)
	}
	if _, err := p.AppendDeferSync(oneRecord(), 1); err != nil {
		t.Fatalf("acks=1: %v", err)
	}
	if err := p.UpdateFollowerFetch(2, p.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AppendDeferSync(oneRecord(), -1); err != nil {
		t.Fatalf("acks=-1 once the follower caught up again: %v", err)
	}
}
