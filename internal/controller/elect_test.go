package controller

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/metadata"
)

func TestElect(t *testing.T) {
	img := cluster{brokers: []int32{1, 2, -3}, topics: map[string][]string{"t": {
		"r=1,2 isr=1,2 l=2",     // preferred can lead
		"r=1,2 isr=1,2 l=1",     // already preferred
		"r=3,2 isr=2 l=2",       // preferred fenced
		"r=1,2 isr=2 l=2",       // preferred out of ISR
		"r=3,1 isr=3 l=-1 le=4", // leaderless, 1 alive but out of the ISR
	}}}.image(t)
	ref := func(p int32) metadata.PartitionRef { return metadata.PartitionRef{Topic: "t", Partition: p} }
	bc := brokerConfig(t, nil)

	recs, resp := Elect(img, bc, metadata.ElectLeadersRequest{Type: metadata.ElectPreferred, Partitions: []metadata.PartitionRef{ref(0), ref(1), ref(2), ref(3), ref(9), {Topic: "x"}}})
	want := []*kerr.Error{nil, kerr.ElectionNotNeeded, kerr.PreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable, kerr.UnknownTopicOrPartition, kerr.UnknownTopicOrPartition}
	for i, w := range want {
		code := int16(0)
		if w != nil {
			code = w.Code
		}
		if resp.Results[i].ErrorCode != code || resp.Results[i].PartitionRef != []metadata.PartitionRef{ref(0), ref(1), ref(2), ref(3), ref(9), {Topic: "x"}}[i] {
			t.Errorf("result %d: %+v, want %v", i, resp.Results[i], w)
		}
	}
	next := applyChecked(t, img, recs)
	if got := describe(next.Topic("t").Partitions[0]); got != "r=1,2 isr=1,2 l=1 le=1 pe=1" {
		t.Errorf("preferred election: %s", got)
	}

	// All partitions: those not needing an election are left out.
	_, resp = Elect(img, bc, metadata.ElectLeadersRequest{Type: metadata.ElectPreferred})
	if len(resp.Results) != 4 {
		t.Errorf("all partitions: %+v, want 4 results (not partition 1)", resp.Results)
	}

	// Unclean: only the leaderless partition needs one, and takes the
	// live replica outside its ISR.
	recs, resp = Elect(img, bc, metadata.ElectLeadersRequest{Type: metadata.ElectUnclean, Partitions: []metadata.PartitionRef{ref(0), ref(4)}})
	if resp.Results[0].ErrorCode != kerr.ElectionNotNeeded.Code || resp.Results[1].ErrorCode != 0 {
		t.Fatalf("unclean: %+v", resp.Results)
	}
	if got := describe(applyChecked(t, img, recs).Topic("t").Partitions[4]); got != "r=3,1 isr=1 l=1 le=5 pe=1" {
		t.Errorf("unclean election: %s", got)
	}

	_, resp = Elect(img, bc, metadata.ElectLeadersRequest{Type: 7, Partitions: []metadata.PartitionRef{ref(0)}})
	if resp.Results[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Errorf("bad type: %+v", resp.Results)
	}
}

func TestRebalance(t *testing.T) {
	// Broker 1 is preferred for 4 partitions and leads 2 of them (50%);
	// broker 2 is preferred for 10 and leads 9 (10%, not above 10).
	topics := map[string][]string{"a": {
		"r=1,2 isr=1,2 l=2", "r=1,2 isr=2 l=2", "r=1,2 isr=1,2 l=1", "r=1,2 isr=1,2 l=1",
	}, "b": {}}
	for i := 0; i < 10; i++ {
		l := "2"
		if i == 0 {
			l = "1"
		}
		topics["b"] = append(topics["b"], "r=2,1 isr=2,1 l="+l)
	}
	img := cluster{brokers: []int32{1, 2}, topics: topics}.image(t)
	next := applyChecked(t, img, Rebalance(img, 10))
	wantPartitions(t, "rebalanced", next, "a",
		"r=1,2 isr=1,2 l=1 le=1 pe=1", // moved back
		"r=1,2 isr=2 l=2 le=0 pe=0",   // 1 not in the ISR
		"r=1,2 isr=1,2 l=1 le=0 pe=0",
		"r=1,2 isr=1,2 l=1 le=0 pe=0",
	)
	if p := next.Topic("b").Partitions[0]; p.Leader != 1 {
		t.Errorf("broker 2 at 10%% imbalance was rebalanced: %s", describe(p))
	}
	if recs := Rebalance(img, 50); len(recs) != 0 {
		t.Errorf("at 50%% nothing is imbalanced, got %d records", len(recs))
	}
}
