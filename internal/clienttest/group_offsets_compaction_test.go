package clienttest

// group_offsets_compaction_test.go: __consumer_offsets is a compacted
// topic, and the log cleaner keeps it bounded: many commits of the same
// partitions shrink to the last one per key, a deleted group's records go,
// and after a restart the coordinator, rebuilt from the compacted log,
// answers exactly the last commits.

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/strata-io/strata/internal/brokertest"
)

func TestConsumerOffsetsAreCompacted(t *testing.T) {
	dir := t.TempDir()
	overrides := groupOverrides()
	overrides["log.cleaner.backoff.ms"] = "50"
	overrides["log.cleaner.min.cleanable.ratio"] = "0.01"
	overrides["offsets.topic.num.partitions"] = "1"
	overrides["offsets.topic.segment.bytes"] = "2048"
	b := brokertest.StartBroker(t, dir, overrides)
	addr := b.Addr().String()
	const topic, group, gone, commits = "committed", "keeper", "gone", 300
	createTopic(t, addr, topic, 2, nil)
	adm := newAdmin(t, addr)
	ctx := testCtx(t)
	commit := func(g string, p0, p1 int64) {
		t.Helper()
		var o kadm.Offsets
		o.Add(kadm.Offset{Topic: topic, Partition: 0, At: p0})
		o.Add(kadm.Offset{Topic: topic, Partition: 1, At: p1})
		resp, err := adm.CommitOffsets(ctx, g, o)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("commit for %s: %v", g, err)
		}
	}
	for i := int64(1); i <= commits; i++ {
		commit(group, i, 2*i)
		if i%50 == 0 {
			commit(gone, i, i)
		}
	}
	if resp, err := adm.DeleteGroups(ctx, gone); err != nil || resp.Error() != nil {
		t.Fatalf("delete group %s: %v %v", gone, err, resp.Error())
	}
	// Push the last commits out of the active segment, which the cleaner
	// never touches.
	for i := 0; i < 40; i++ {
		commit("filler", int64(i), int64(i))
	}

	const offsetsTopic = "__consumer_offsets"
	end := endOffsets(t, addr, offsetsTopic)[0]
	left := 0
	waitFor(t, "the cleaner to compact __consumer_offsets", func() bool {
		left = len(consumeTo(t, addr, offsetsTopic, end))
		return left < 80
	})
	t.Logf("__consumer_offsets: %d records left of %d offsets", left, end)
	if end < 2*commits {
		t.Fatalf("__consumer_offsets ends at %d after %d commits of 2 partitions", end, commits)
	}

	if err := b.Close(); err != nil {
		t.Fatalf("close broker: %v", err)
	}
	b = brokertest.StartBroker(t, dir, overrides)
	addr = b.Addr().String()
	if got, want := fetchCommitted(t, addr, group, topic), map[int32]int64{0: commits, 1: 2 * commits}; !equalOffsets(got, want) {
		t.Fatalf("after compaction and a restart OffsetFetch = %v, want %v", got, want)
	}
	if got := fetchCommitted(t, addr, gone, topic); len(got) != 0 {
		t.Fatalf("deleted group %s has offsets %v after compaction and a restart", gone, got)
	}
}
