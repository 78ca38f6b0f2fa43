package metadata

import (
	"errors"
	"testing"
)

// TestAllocateProducerIDs: blocks are disjoint and increasing, start at
// the floor when that is higher, and stay taken across a restart (they
// are in the log, not in memory).
func TestAllocateProducerIDs(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	ctx := t.Context()
	type block struct{ start, end int64 }
	var got []block
	for _, floor := range []int64{0, 0, 5000, 0} {
		start, end, err := s.AllocateProducerIDs(ctx, 1000, floor)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, block{start, end})
	}
	want := []block{{0, 1000}, {1000, 2000}, {5000, 6000}, {6000, 7000}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("blocks %v, want %v", got, want)
		}
	}
	if _, _, err := s.AllocateProducerIDs(ctx, 0, 0); err == nil {
		t.Error("a block of size 0 was allocated")
	}
	s.Close()

	s = openTestStore(t, dir)
	if start, end, err := s.AllocateProducerIDs(ctx, 10, 0); err != nil || start != 7000 || end != 7010 {
		t.Errorf("after reopening: [%d, %d), %v; want [7000, 7010)", start, end, err)
	}
}

// TestProducerIDsRecordOnlyMovesUp: a producer_ids record that does not
// raise the end is refused, so a replayed or reordered allocation can
// never hand out a block twice.
func TestProducerIDsRecordOnlyMovesUp(t *testing.T) {
	img := emptyImage()
	img, err := apply(img, Record{Type: TypeProducerIDs, ProducerIDsEnd: 1000})
	if err != nil || img.ProducerIDsEnd != 1000 {
		t.Fatalf("apply: %v, end %d", err, img.ProducerIDsEnd)
	}
	for _, end := range []int64{1000, 999, 0} {
		if _, err := apply(img, Record{Type: TypeProducerIDs, ProducerIDsEnd: end}); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("end %d after 1000: %v, want ErrInvalidRecord", end, err)
		}
	}
}
