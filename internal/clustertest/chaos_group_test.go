//go:build chaos

package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestChaosGroupCoordinatorKill commits a group's offsets, kills
// (SIGKILL) the broker that coordinates the group, and checks that the
// group moved to another broker with its committed offsets intact and
// that a new member resumes exactly at them. Two rounds: the second kills
// the new coordinator after the first has been restarted.
func TestChaosGroupCoordinatorKill(t *testing.T) {
	rng := seeded(t)
	c := Start(t, Options{Overrides: chaosOverrides(nil)})
	const topic, group, partitions = "grpkill", "grpkill-group", 6
	c.CreateTopic(topic, partitions, 3, replicatedTopic)
	prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for i := range partitions * 300 {
		recs = append(recs, &kgo.Record{Partition: int32(i % partitions), Value: fmt.Appendf(nil, "v%d", i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	consumed := 0
	for round := range 2 {
		// A member reads a random number of records and commits them.
		want := consumed + 50 + rng.IntN(300)
		committed := consumeAndCommit(t, c, topic, group, want-consumed)
		consumed = want
		coord := c.coordinator(group)
		c.Kill(coord)

		// The offsets are served by another broker, unchanged.
		// (A fresh client each time: franz-go keeps a coordinator it
		// found until that coordinator answers NOT_COORDINATOR, and a
		// dead one answers nothing.)
		c.Eventually("committed offsets served after the coordinator died", 60*time.Second, func(ctx context.Context) error {
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
			if err != nil {
				return err
			}
			defer cl.Close()
			got, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
			if err == nil {
				err = got.Error()
			}
			if err != nil {
				return err
			}
			for p, want := range committed {
				o, ok := got.Lookup(topic, p)
				if !ok || o.At != want {
					return fmt.Errorf("partition %d: committed %d, fetched %+v", p, want, o)
				}
			}
			return nil
		})
		if now := c.coordinator(group); now == coord {
			t.Errorf("round %d: group still coordinated by killed broker %d", round, coord)
		}
		// A new member resumes exactly at the commits (more records
		// first: a member may have committed a partition's end).
		var more []*kgo.Record
		for i := range partitions * 10 {
			more = append(more, &kgo.Record{Partition: int32(i % partitions), Value: fmt.Appendf(nil, "more%d-%d", round, i)})
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := prod.ProduceSync(ctx, more...).FirstErr(); err != nil {
			t.Fatalf("round %d: produce after the kill: %v", round, err)
		}
		cancel()
		first := firstOffsets(t, c, topic, group, committed)
		for p, want := range committed {
			if got, ok := first[p]; ok && got != want {
				t.Errorf("round %d: partition %d: new member started at %d, committed %d", round, p, got, want)
			}
		}
		c.Restart(coord)
		c.WaitFullISR(topic, 60*time.Second)
	}
}

// coordinator is the node id coordinating group now.
func (c *Cluster) coordinator(group string) int32 {
	c.t.Helper()
	var id int32 = -1
	c.Eventually("a coordinator for "+group, 60*time.Second, func(ctx context.Context) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
		if err != nil {
			return err
		}
		defer cl.Close()
		r := kadm.NewClient(cl).FindGroupCoordinators(ctx, group)[group]
		if r.Err != nil {
			return r.Err
		}
		id = r.NodeID
		return nil
	})
	return id
}

// consumeAndCommit reads n records as a member of group, commits exactly
// what it read, leaves, and returns the committed offset per partition.
func consumeAndCommit(t *testing.T, c *Cluster, topic, group string, n int) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for read := 0; read < n; {
		fs := cl.PollRecords(ctx, 1)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records within a minute", read, n)
		}
		read += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	out := make(map[int32]int64)
	for _, ps := range cl.CommittedOffsets() {
		for p, o := range ps {
			out[p] = o.Offset
		}
	}
	cl.LeaveGroup()
	return out
}

// firstOffsets joins group with a new member and returns the first
// offset it reads from each partition in committed.
func firstOffsets(t *testing.T, c *Cluster, topic, group string, committed map[int32]int64) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cl.LeaveGroup()
		cl.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := make(map[int32]int64)
	fetchErrs := make(map[int32]error)
	seen := func() int {
		n := 0
		for p := range committed {
			if _, ok := first[p]; ok {
				n++
			}
		}
		return n
	}
	for seen() < len(committed) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			var missing []string
			for p, o := range committed {
				if _, ok := first[p]; !ok {
					d := c.Partition(topic, p)
					missing = append(missing, fmt.Sprintf("%d (committed %d; leader %d, isr %v; fetch errors %v)", p, o, d.Leader, d.ISR, fetchErrs[p]))
				}
			}
			t.Fatalf("new member read nothing within a minute from committed partitions %v", missing)
		}
		fs.EachError(func(_ string, p int32, err error) { fetchErrs[p] = err })
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = r.Offset
			}
		})
	}
	return first
}
