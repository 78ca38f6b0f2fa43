package handlers_test

// A real franz-go consumer group against the broker: join, consume,
// commit, and the commit survives a broker restart.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// groupTestConfig makes the first rebalance immediate, so tests do not
// wait group.initial.rebalance.delay.ms.
var groupTestConfig = map[string]string{"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4"}

func TestFranzConsumerGroupConsumesAndCommits(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, groupTestConfig)
	addr := b.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const topic, n = "orders", 30
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	adm := kadm.NewClient(prod)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("g1"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < n {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		got += fs.NumRecords()
	}
	if got != n {
		t.Fatalf("consumed %d records, want %d", got, n)
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	cons.Close() // leaves the group

	lag, err := adm.Lag(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if l := lag["g1"]; l.Error() != nil || l.Lag.Total() != 0 {
		t.Fatalf("lag after commit: %+v (err %v)", l.Lag, l.Error())
	}
	prod.Close()

	// Restart on the same data: the commit is replayed from __consumer_offsets.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := brokertest.StartBroker(t, dir, groupTestConfig)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b2.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm2 := kadm.NewClient(cl)
	var offs kadm.OffsetResponses
	for {
		offs, err = adm2.FetchOffsets(ctx, "g1")
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("fetch offsets after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the shard may still be loading
	}
	total := int64(0)
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Errorf("%s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		total += o.At
	})
	if total != n {
		t.Fatalf("committed offsets after restart sum to %d, want %d", total, n)
	}
}
