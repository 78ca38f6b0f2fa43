package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

func TestPartitionChangeEpochRule(t *testing.T) {
	cur := Partition{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 7}
	with := func(f func(p *Partition)) Partition {
		p := cur
		f(&p)
		return p
	}
	cases := []struct {
		name string
		next Partition
		want error
	}{
		{"isr shrink, epoch+1", with(func(p *Partition) { p.ISR = []int32{1}; p.PartitionEpoch = 8 }), nil},
		{"new leader, both epochs bumped", with(func(p *Partition) { p.Leader = 2; p.LeaderEpoch = 4; p.PartitionEpoch = 8 }), nil},
		{"same partition epoch", with(func(p *Partition) { p.ISR = []int32{1} }), ErrStale},
		{"partition epoch +2", with(func(p *Partition) { p.PartitionEpoch = 9 }), ErrStale},
		{"older partition epoch", with(func(p *Partition) { p.PartitionEpoch = 6 }), ErrStale},
		{"new leader, same leader epoch", with(func(p *Partition) { p.Leader = 2; p.PartitionEpoch = 8 }), ErrInvalidRecord},
		{"leader epoch goes back", with(func(p *Partition) { p.LeaderEpoch = 2; p.PartitionEpoch = 8 }), ErrInvalidRecord},
	}
	for _, tc := range cases {
		err := checkPartitionChange(cur, tc.next)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A command with a record that does not apply is rejected as a whole:
// the records before it in the batch do not apply either, the proposer
// gets the error, and later commands apply as usual.
func TestRejectedCommandChangesNothing(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	registerNode(t, s, 1)
	createTopic(t, s, "a", 2)
	before := s.Image()
	top := before.Topic("a")
	stale := top.Partitions[0] // partition epoch not bumped
	err := s.Propose(context.Background(), []Record{
		{Type: TypeCluster, ClusterID: "would-apply"},
		{Type: TypePartitionChange, TopicID: top.ID, Partition: 0, PartitionState: &stale},
	})
	if !errors.Is(err, ErrStale) {
		t.Fatalf("stale partition_change: %v", err)
	}
	if after := s.Image(); after.Offset != before.Offset || after.ClusterID != before.ClusterID {
		t.Fatalf("a rejected command changed the image: offset %d -> %d, cluster %q", before.Offset, after.Offset, after.ClusterID)
	}
	if err := s.Propose(context.Background(), []Record{{Type: TypeDeleteTopic, TopicID: UUID{9}}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("delete of an unknown topic: %v", err)
	}
	next := top.Partitions[0]
	next.ISR, next.PartitionEpoch = []int32{1}, next.PartitionEpoch+1
	if err := s.Propose(context.Background(), []Record{{Type: TypePartitionChange, TopicID: top.ID, Partition: 0, PartitionState: &next}}); err != nil {
		t.Fatalf("valid partition_change after rejected ones: %v", err)
	}
	if got := s.Image().Topic("a").Partitions[0]; got.PartitionEpoch != 1 || len(got.ISR) != 1 {
		t.Fatalf("partition after change: %+v", got)
	}
}

// An Update whose image is overtaken before its records reach the log
// runs fn again on the newer image.
func TestUpdateRetriesOnConflict(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	registerNode(t, s, 1)
	calls := 0
	err := s.Update(func(img *Image) ([]Record, error) {
		calls++
		if calls == 1 {
			// Another writer gets in between (Propose does not wait
			// for this node's Updates).
			if err := s.Propose(context.Background(), []Record{{Type: TypeCluster, ClusterID: "first"}}); err != nil {
				return nil, err
			}
			return []Record{{Type: TypeCluster, ClusterID: "stale"}}, nil
		}
		if img.ClusterID != "first" {
			t.Errorf("rerun saw cluster id %q", img.ClusterID)
		}
		return []Record{{Type: TypeCluster, ClusterID: img.ClusterID + "+second"}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || s.Image().ClusterID != "first+second" {
		t.Fatalf("calls %d, cluster id %q", calls, s.Image().ClusterID)
	}
}

// Subscribers get the current image at once, then every change in order.
func TestSubscribeSeesEveryImageInOrder(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	var offsets []int64
	s.Subscribe(func(img *Image) { offsets = append(offsets, img.Offset) })
	registerNode(t, s, 1)
	createTopic(t, s, "a", 1)
	createTopic(t, s, "b", 1)
	want := []int64{0, 1, 2, 3}
	if len(offsets) != len(want) {
		t.Fatalf("offsets seen %v, want %v", offsets, want)
	}
	for i := range want {
		if offsets[i] != want[i] {
			t.Fatalf("offsets seen %v, want %v", offsets, want)
		}
	}
}

// A conditional command proposed twice (a retry after the leader lost its
// leadership while the first copy was committing) answers the second
// time with the first copy's result, not a conflict with itself; the
// image changes once.
func TestRetriedCommandAnswersItsFirstResult(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	registerNode(t, s, 1)
	off := s.Image().Offset
	body, err := json.Marshal(command{Records: []Record{{Type: TypeCluster, ClusterID: "c"}}, IfOffset: &off, ID: "retry-1"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.handlePropose(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.handlePropose(context.Background(), body)
	if err != nil || second != first {
		t.Fatalf("retry answered %v, %v; first %v", second, err, first)
	}
	if s.Image().Offset != off+1 {
		t.Fatalf("offset %d after one command applied twice, want %d", s.Image().Offset, off+1)
	}
	// Without an id the second copy is a plain conflict.
	off = s.Image().Offset
	body, _ = json.Marshal(command{Records: []Record{{Type: TypeCluster, ClusterID: "d"}}, IfOffset: &off})
	if _, err := s.handlePropose(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	if _, err := s.handlePropose(context.Background(), body); !errors.Is(err, ErrConflict) {
		t.Fatalf("second copy without an id: %v", err)
	}
}
