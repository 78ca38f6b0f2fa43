package metadata

import (
	"errors"
	"fmt"
	"testing"
)

// brokersImage is an image with the given brokers (rack per id; "" for
// none) and the fenced ones marked.
func brokersImage(t *testing.T, racks map[int32]string, fenced ...int32) *Image {
	t.Helper()
	img := NewImage()
	for id, rack := range racks {
		b := Broker{NodeID: id, Host: "h", Port: 9000 + id, Rack: rack, Epoch: 1}
		for _, f := range fenced {
			b.Fenced = b.Fenced || f == id
		}
		var err error
		if img, err = img.Apply(Record{Type: TypeRegisterBroker, Broker: &b}); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

func TestPlaceReplicasEvenAndRackAware(t *testing.T) {
	cases := []struct {
		name   string
		racks  map[int32]string
		fenced []int32
		n, rf  int
		// wantRacks is how many racks each partition must span.
		wantRacks int
	}{
		{"no racks", map[int32]string{1: "", 2: "", 3: ""}, nil, 12, 3, 3},
		{"no racks rf2", map[int32]string{1: "", 2: "", 3: "", 4: ""}, nil, 12, 2, 2},
		{"three racks", map[int32]string{1: "a", 2: "a", 3: "b", 4: "b", 5: "c", 6: "c"}, nil, 12, 3, 3},
		{"two racks rf3", map[int32]string{1: "a", 2: "a", 3: "b", 4: "b"}, nil, 8, 3, 2},
		{"uneven racks", map[int32]string{1: "a", 2: "a", 3: "a", 4: "b"}, nil, 8, 2, 2},
		{"fenced skipped", map[int32]string{1: "", 2: "", 3: "", 4: ""}, []int32{2}, 9, 3, 3},
	}
	for _, tc := range cases {
		for start := range len(tc.racks) - len(tc.fenced) {
			t.Run(fmt.Sprintf("%s/start%d", tc.name, start), func(t *testing.T) {
				img := brokersImage(t, tc.racks, tc.fenced...)
				got, err := placeReplicasFrom(img, 0, tc.n, tc.rf, func(int) int { return start })
				if err != nil {
					t.Fatal(err)
				}
				leaders := map[int32]int{}
				for p, replicas := range got {
					if len(replicas) != tc.rf {
						t.Fatalf("partition %d: %v, want %d replicas", p, replicas, tc.rf)
					}
					seen, racks := map[int32]bool{}, map[string]bool{}
					for _, b := range replicas {
						if seen[b] {
							t.Fatalf("partition %d: %v names %d twice", p, replicas, b)
						}
						seen[b] = true
						br, ok := img.Brokers[b]
						if !ok || br.Fenced {
							t.Fatalf("partition %d: %v uses broker %d (registered %v, fenced)", p, replicas, b, ok)
						}
						rack := br.Rack
						if rack == "" { // no racks: each broker counts as its own
							rack = fmt.Sprint("broker-", b)
						}
						racks[rack] = true
					}
					if len(racks) != tc.wantRacks {
						t.Errorf("partition %d: %v spans %d racks, want %d", p, replicas, len(racks), tc.wantRacks)
					}
					leaders[replicas[0]]++
				}
				live := len(tc.racks) - len(tc.fenced)
				lo, hi := tc.n, 0
				for _, c := range leaders {
					lo, hi = min(lo, c), max(hi, c)
				}
				if len(leaders) != live || hi-lo > 1 {
					t.Errorf("leaders uneven over %d brokers: %v", live, leaders)
				}
			})
		}
	}
}

func TestPlaceReplicasErrors(t *testing.T) {
	img := brokersImage(t, map[int32]string{1: "", 2: "", 3: ""}, 3)
	if _, err := placeReplicas(img, 0, 1, 3); !errors.Is(err, ErrInvalidReplicationFactor) {
		t.Fatalf("rf 3 over 2 unfenced brokers: %v", err)
	}
	if _, err := placeReplicas(img, 0, 1, 0); !errors.Is(err, ErrInvalidReplicationFactor) {
		t.Fatalf("rf 0: %v", err)
	}
	// A manual assignment may name a fenced broker; it is left out of the
	// ISR and never leads. One naming only fenced brokers is refused.
	ps, err := newPartitions(img, 0, [][]int32{{3, 1}})
	if err != nil || ps[0].Leader != 1 || len(ps[0].ISR) != 1 || ps[0].ISR[0] != 1 {
		t.Fatalf("assignment with a fenced broker: %+v, %v", ps, err)
	}
	if _, err := newPartitions(img, 0, [][]int32{{3}}); !errors.Is(err, ErrInvalidReplicaAssignment) {
		t.Fatalf("all-fenced assignment: %v", err)
	}
	// The offsets topic waits for enough unfenced brokers.
	if _, err := InternalTopicRecords(img, OffsetsTopic, 3, 3, nil); !errors.Is(err, ErrInvalidReplicationFactor) {
		t.Fatalf("offsets topic with rf 3 over 2 live brokers: %v", err)
	}
}
