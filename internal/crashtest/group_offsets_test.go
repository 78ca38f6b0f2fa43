package crashtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupCommitsSurviveKill commits a group's offsets over and over
// while the broker is killed with SIGKILL at a random moment. After the
// restart, each partition's committed offset must be at least the last
// commit that was acknowledged (and no more than the last one sent), and a
// group consumer must resume exactly there.
func TestGroupCommitsSurviveKill(t *testing.T) {
	rng := seeded(t)
	b := newBroker(t, "--override", "group.initial.rebalance.delay.ms=0", "--override", "group.min.session.timeout.ms=500")
	b.start()
	const topic, group, partitions, per = "commits", "commits-group", 3, 400

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if resp, err := adm.CreateTopic(waitCtx(t, 30*time.Second), partitions, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	var recs []*kgo.Record
	for i := range partitions * per {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := cl.ProduceSync(waitCtx(t, 30*time.Second), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cl.Close()

	// The committer commits offset n to every partition, n = 1, 2, ...,
	// with a fresh admin commit each time (generation -1, as tools do).
	// Kill once a random number of commits were acknowledged.
	lo, hi := killWhileCommitting(t, b, int64(20+rng.IntN(200)), per, func(ctx context.Context, cl *kgo.Client, n int64) error {
		offs := make(kadm.Offsets)
		for p := range int32(partitions) {
			offs.Add(kadm.Offset{Topic: topic, Partition: p, At: n, LeaderEpoch: -1})
		}
		rs, err := kadm.NewClient(cl).CommitOffsets(ctx, group, offs)
		if err == nil {
			err = rs.Error()
		}
		return err
	})

	b.start()
	cl, err = kgo.NewClient(kgo.SeedBrokers(b.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got kadm.OffsetResponses
	// The coordinator may still be loading __consumer_offsets just after
	// the start (COORDINATOR_LOAD_IN_PROGRESS, retried by kadm).
	got, err = kadm.NewClient(cl).FetchOffsets(waitCtx(t, 30*time.Second), group)
	if err == nil {
		err = got.Error()
	}
	if err != nil {
		t.Fatalf("fetch offsets after the restart: %v", err)
	}
	committed := make(map[int32]int64)
	for p := range int32(partitions) {
		o, ok := got.Lookup(topic, p)
		if !ok || o.At < lo || o.At > hi {
			t.Errorf("partition %d: committed offset after kill -9 is %v (found %v), want within [%d, %d]", p, o.At, ok, lo, hi)
		}
		committed[p] = o.At
	}
	if t.Failed() {
		return
	}

	// A group member resumes exactly at the commit.
	m, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.SessionTimeout(3*time.Second), kgo.HeartbeatInterval(300*time.Millisecond), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	first := make(map[int32]int64)
	pctx := waitCtx(t, 30*time.Second)
	for len(first) < partitions {
		fs := m.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("the resumed member read from %d of %d partitions: %v", len(first), partitions, first)
		}
		fs.EachError(func(_ string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Logf("poll partition %d: %v", p, err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = r.Offset
			}
		})
	}
	for p, o := range first {
		if o != committed[p] {
			t.Errorf("partition %d: the group resumed at offset %d, want the committed %d", p, o, committed[p])
		}
	}
	b.requireNoPanic()
}
