package clienttest

// group_restart_test.go: a group's committed offsets survive a broker
// restart on the same data directory, and the group resumes exactly there.
// (internal/crashtest checks the same across kill -9.)

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

func TestGroupOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	overrides := groupOverrides()
	overrides["auto.create.topics.enable"] = "false"
	b := brokertest.StartBroker(t, dir, overrides)
	addr := b.Addr().String()
	const topic, group, per = "durable", "durable-group", 20
	createTopic(t, addr, topic, 3, nil)
	prod := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceNumbered(t, prod, topic, 3, 0, 3*per)

	// A consumer reads part of the topic, commits what it read, leaves.
	committed := consumeAndCommit(t, addr, group, topic, 25)
	fetched := fetchCommitted(t, addr, group, topic)
	if !equalOffsets(fetched, committed) {
		t.Fatalf("before the restart OffsetFetch = %v, want the commit %v", fetched, committed)
	}

	if err := b.Close(); err != nil {
		t.Fatalf("close broker: %v", err)
	}
	b = brokertest.StartBroker(t, dir, overrides)
	addr = b.Addr().String()

	if got := fetchCommitted(t, addr, group, topic); !equalOffsets(got, committed) {
		t.Fatalf("after the restart OffsetFetch = %v, want %v", got, committed)
	}
	requireResume(t, addr, group, topic, 3, per, committed)
}

// consumeAndCommit joins group, polls until it has at least n records,
// commits what it polled, leaves, and returns the committed offset per
// partition (partitions it read nothing from are absent).
func consumeAndCommit(t *testing.T, addr, group, topic string, n int) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(groupSession),
		kgo.HeartbeatInterval(groupHeartbeat),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := testCtx(t)
	next := make(map[int32]int64)
	got := 0
	for got < n {
		fs := cl.PollRecords(ctx, n-got)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", got, n)
		}
		fs.EachError(func(_ string, p int32, err error) { t.Fatalf("poll partition %d: %v", p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			next[r.Partition] = r.Offset + 1
			got++
		})
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return next
}

// fetchCommitted reads the group's committed offsets of topic with
// OffsetFetch.
func fetchCommitted(t *testing.T, addr, group, topic string) map[int32]int64 {
	t.Helper()
	resp, err := newAdmin(t, addr).FetchOffsets(testCtx(t), group)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := make(map[int32]int64)
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for p, o := range a {
		if bo, ok := b[p]; !ok || bo != o {
			return false
		}
	}
	return true
}

// requireResume joins group with a new consumer and checks it starts each
// partition exactly at its commit (0 where none) and reads the rest of
// the per records per partition, nothing before the commit.
func requireResume(t *testing.T, addr, group, topic string, partitions, per int, committed map[int32]int64) {
	t.Helper()
	cl := newKgo(t, addr,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(groupSession),
		kgo.HeartbeatInterval(groupHeartbeat),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	want := 0
	for p := range int32(partitions) {
		want += per - int(committed[p])
	}
	first := make(map[int32]int64)
	seen := make(map[int32]int64) // next offset expected per partition
	got := 0
	ctx, cancel := context.WithTimeout(testCtx(t), 30*time.Second)
	defer cancel()
	for got < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("resumed consumer read %d of %d records", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = r.Offset
				seen[r.Partition] = r.Offset
			}
			if r.Offset != seen[r.Partition] {
				t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, seen[r.Partition]-1)
			}
			seen[r.Partition] = r.Offset + 1
			got++
		})
	}
	for p := range int32(partitions) {
		if int(committed[p]) == per {
			continue // fully read before; nothing to resume
		}
		if first[p] != committed[p] {
			t.Errorf("partition %d: resumed at offset %d, want the committed %d", p, first[p], committed[p])
		}
	}
	if got != want {
		t.Errorf("resumed consumer read %d records, want %d", got, want)
	}
}
