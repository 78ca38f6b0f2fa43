package controller

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// Helpers to build images from records and to describe partitions
// compactly: "r=1,2,3 isr=1,2 l=1" (plus "add=4 rm=1" while reassigning,
// "le=3 pe=5" for epochs).

// part parses a partition description.
func part(t testing.TB, desc string) metadata.Partition {
	t.Helper()
	p := metadata.Partition{Leader: -1}
	for _, f := range strings.Fields(desc) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("bad partition field %q", f)
		}
		switch k {
		case "r":
			p.Replicas = ids(t, v)
		case "isr":
			p.ISR = ids(t, v)
		case "add":
			p.AddingReplicas = ids(t, v)
		case "rm":
			p.RemovingReplicas = ids(t, v)
		case "l", "le", "pe":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("bad %s in %q", k, desc)
			}
			switch k {
			case "l":
				p.Leader = int32(n)
			case "le":
				p.LeaderEpoch = int32(n)
			case "pe":
				p.PartitionEpoch = int32(n)
			}
		default:
			t.Fatalf("bad partition field %q", f)
		}
	}
	return p
}

func ids(t testing.TB, v string) []int32 {
	t.Helper()
	if v == "" {
		return nil
	}
	var out []int32
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("bad id list %q", v)
		}
		out = append(out, int32(n))
	}
	return out
}

// describe renders a partition as part parses it (epochs included).
func describe(p metadata.Partition) string {
	join := func(s []int32) string {
		out := make([]string, len(s))
		for i, x := range s {
			out[i] = fmt.Sprint(x)
		}
		return strings.Join(out, ",")
	}
	s := fmt.Sprintf("r=%s isr=%s l=%d", join(p.Replicas), join(p.ISR), p.Leader)
	if len(p.AddingReplicas) > 0 {
		s += " add=" + join(p.AddingReplicas)
	}
	if len(p.RemovingReplicas) > 0 {
		s += " rm=" + join(p.RemovingReplicas)
	}
	return s + fmt.Sprintf(" le=%d pe=%d", p.LeaderEpoch, p.PartitionEpoch)
}

// cluster describes an image: brokers (ids; negative = fenced), with
// racks optional, and topics of partitions.
type cluster struct {
	brokers []int32
	topics  map[string][]string
	// configs are topic configs by topic.
	configs map[string]map[string]string
}

// epochOf is every test broker's registered epoch.
const epochOf = 7

func (c cluster) image(t testing.TB) *metadata.Image {
	t.Helper()
	img := metadata.NewImage()
	recs := []metadata.Record{{Type: metadata.TypeCluster, ClusterID: "test-cluster"}}
	for _, id := range c.brokers {
		b := metadata.Broker{NodeID: max(id, -id), Host: "127.0.0.1", Port: 9000 + max(id, -id), Epoch: epochOf, Fenced: id < 0}
		recs = append(recs, metadata.Record{Type: metadata.TypeRegisterBroker, Broker: &b})
	}
	names := make([]string, 0, len(c.topics))
	for n := range c.topics {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		tp := &metadata.Topic{Name: n, ID: metadata.UUID{byte(i + 1)}, Configs: c.configs[n]}
		for _, d := range c.topics[n] {
			tp.Partitions = append(tp.Partitions, part(t, d))
		}
		recs = append(recs, metadata.Record{Type: metadata.TypeCreateTopic, Topic: tp})
	}
	img, err := img.Apply(recs...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func brokerConfig(t testing.TB, set map[string]string) config.Broker {
	t.Helper()
	bc, err := config.NewBroker(set)
	if err != nil {
		t.Fatal(err)
	}
	return bc
}

// applyChecked applies recs to img as the store would, checking the
// store's rule for partition_change (PartitionEpoch is the current one
// plus one) and that no partition changes twice in one batch.
func applyChecked(t testing.TB, img *metadata.Image, recs []metadata.Record) *metadata.Image {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range recs {
		if r.Type != metadata.TypePartitionChange {
			continue
		}
		key := fmt.Sprint(r.TopicID, r.Partition)
		if seen[key] {
			t.Fatalf("partition %v/%d changed twice in one batch", r.TopicID, r.Partition)
		}
		seen[key] = true
		cur := img.TopicByID(r.TopicID).Partitions[r.Partition]
		if r.PartitionState.PartitionEpoch != cur.PartitionEpoch+1 {
			t.Fatalf("partition %d: partition epoch %d after %d", r.Partition, r.PartitionState.PartitionEpoch, cur.PartitionEpoch)
		}
		// The leader epoch grows by one with a new leader, and may with
		// the same one (a restarted leader).
		le := r.PartitionState.LeaderEpoch
		if le != cur.LeaderEpoch+1 && (le != cur.LeaderEpoch || r.PartitionState.Leader != cur.Leader) {
			t.Fatalf("partition %d: leader epoch %d after %d (leader %d → %d)", r.Partition, r.PartitionState.LeaderEpoch, cur.LeaderEpoch, cur.Leader, r.PartitionState.Leader)
		}
	}
	next, err := img.Apply(recs...)
	if err != nil {
		t.Fatalf("records do not apply: %v", err)
	}
	return next
}

// partitions renders every partition of topic in img.
func partitions(img *metadata.Image, topic string) []string {
	var out []string
	for _, p := range img.Topic(topic).Partitions {
		out = append(out, describe(p))
	}
	return out
}

func wantPartitions(t testing.TB, what string, img *metadata.Image, topic string, want ...string) {
	t.Helper()
	got := partitions(img, topic)
	if !slices.Equal(got, want) {
		t.Errorf("%s: %s is\n  %s\nwant\n  %s", what, topic, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
