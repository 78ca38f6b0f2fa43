package partition

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/metadata"
)

// An AlterPartition that goes unanswered may still have been applied by
// the controller: the leader keeps counting the expanded ISR for its HW
// (so it never acknowledges what the new member lacks) and asks again
// until an answer comes.
func TestUnansweredExpansionKeepsCountingAndRetries(t *testing.T) {
	alters := make(chan metadata.AlterPartitionRequest, 10)
	answer := make(chan bool, 10) // true: answer; false: fail as if unanswered
	r := NewReplication(ReplicationConfig{NodeID: 1, LagTimeMax: time.Hour, FetchBackoff: 10 * time.Millisecond,
		BrokerAddr: func(int32) (string, bool) { return "", false },
		AlterPartition: func(_ context.Context, req metadata.AlterPartitionRequest) (metadata.AlterPartitionResponse, error) {
			alters <- req
			if !<-answer {
				return metadata.AlterPartitionResponse{}, context.DeadlineExceeded
			}
			return metadata.AlterPartitionResponse{State: metadata.Partition{Leader: 1, LeaderEpoch: 3,
				PartitionEpoch: req.PartitionEpoch + 1, Replicas: []int32{1, 2}, ISR: req.NewISR}}, nil
		}}, NewSet())
	defer r.Close()
	p := leaderOf(t, r, 1)
	p.SetState(State{Leader: 1, LeaderEpoch: 3, PartitionEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1}})
	if _, err := p.Append(oneRecord(), 1); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("HW with the leader alone in the ISR: %d, want 1", hw)
	}
	// The follower catches up: the leader asks to add it, gets no answer.
	answer <- false
	if err := p.UpdateFollowerFetch(2, 1); err != nil {
		t.Fatal(err)
	}
	if req := <-alters; !slices.Equal(req.NewISR, []int32{1, 2}) {
		t.Fatalf("expansion request %+v", req)
	}
	// Until the expansion is settled, a record the follower lacks is not
	// below the HW.
	if _, err := p.Append(oneRecord(), 1); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("HW moved to %d past the possibly-added follower's log end 1", hw)
	}
	// The same request is sent again, and this time answered.
	answer <- true
	select {
	case req := <-alters:
		if !slices.Equal(req.NewISR, []int32{1, 2}) || req.PartitionEpoch != 1 {
			t.Fatalf("retried request %+v", req)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an unanswered AlterPartition was not sent again")
	}
	waitUntil(t, func() bool { return len(p.State().ISR) == 2 })
	if err := p.UpdateFollowerFetch(2, 2); err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 2 {
		t.Fatalf("HW after the follower fetched everything: %d, want 2", hw)
	}
}

// A replica that is dropped (reassigned away) fails a waiting acks=-1
// produce at once with ErrNotLeader.
func TestStopFailsWaitingAppend(t *testing.T) {
	p := leaderOf(t, nil, 1)
	res, err := p.AppendDeferSync(oneRecord(), -1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.WaitReplicated(context.Background(), res.LastOffset) }()
	p.Stop()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("waiting append after Stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting append did not end when its replica stopped")
	}
	if _, err := p.AppendDeferSync(oneRecord(), 1); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("append after Stop: %v", err)
	}
}
