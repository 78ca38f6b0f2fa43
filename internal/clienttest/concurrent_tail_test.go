package clienttest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConcurrentProducersTailingConsumers runs four producers at once into
// a six-partition topic while consumers that started first tail it: one
// franz-go consumer on every partition (fetch sessions, long polls woken by
// appends) and one sarama consumer on partition 0. Both must see exactly
// what was acknowledged, in offset order, each producer's records in the
// order it sent them.
func TestConcurrentProducersTailingConsumers(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const (
		topic      = "busy"
		partitions = 6
		producers  = 4
		perProd    = 1500
	)
	createTopic(t, addr, topic, partitions, nil)
	ctx := testCtx(t)

	// Consumers first, so they are parked in long polls when data arrives.
	franzSeen := make(chan []rec, 1)
	tail := newKgo(t, addr,
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(time.Second))
	go func() {
		var got []rec
		for len(got) < producers*perProd && ctx.Err() == nil {
			fs := tail.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) { got = append(got, recOf(r)) })
		}
		franzSeen <- got
	}()
	sc, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewConsumer: %v", err)
	}
	defer sc.Close()
	pc, err := sc.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("sarama ConsumePartition: %v", err)
	}
	defer pc.Close()

	var (
		mu    sync.Mutex
		acked []rec
		wg    sync.WaitGroup
	)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxBufferedRecords(200))
			if err != nil {
				t.Errorf("producer %d: %v", p, err)
				return
			}
			defer cl.Close()
			var pwg sync.WaitGroup
			for i := range perProd {
				pwg.Add(1)
				r := &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "p%d-%d", p, i%13), Value: fmt.Appendf(nil, "p%d-%06d", p, i)}
				cl.Produce(ctx, r, func(r *kgo.Record, err error) {
					defer pwg.Done()
					if err != nil {
						t.Errorf("producer %d record %d: %v", p, i, err)
						return
					}
					mu.Lock()
					acked = append(acked, recOf(r))
					mu.Unlock()
				})
			}
			pwg.Wait()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	want := byPartition(acked)
	for p := range int32(partitions) {
		sortByOffset(want[p])
		for i, r := range want[p] {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: acknowledged offsets are not dense from 0: %v at index %d", p, r, i)
			}
		}
		requireProducerOrder(t, fmt.Sprintf("partition %d", p), want[p])
	}

	var got []rec
	select {
	case got = <-franzSeen:
	case <-ctx.Done():
		t.Fatal("franz-go tail consumer did not finish")
	}
	gotBy := byPartition(got)
	for p := range int32(partitions) {
		requireRecs(t, fmt.Sprintf("franz-go tail of partition %d", p), gotBy[p], want[p])
	}

	var sgot []rec
	for len(sgot) < len(want[0]) {
		select {
		case m := <-pc.Messages():
			sgot = append(sgot, rec{m.Partition, m.Offset, string(m.Key), string(m.Value)})
		case err := <-pc.Errors():
			t.Fatalf("sarama tail: %v", err)
		case <-ctx.Done():
			t.Fatalf("sarama tail: %d of %d messages before the deadline", len(sgot), len(want[0]))
		}
	}
	requireRecs(t, "sarama tail of partition 0", sgot, want[0])
}

func sortByOffset(rs []rec) {
	for i := 1; i < len(rs); i++ { // insertion sort: nearly sorted already
		for j := i; j > 0 && rs[j].Offset < rs[j-1].Offset; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// requireProducerOrder checks that within rs (one partition, offset order)
// each producer's values "pN-SEQ" appear with increasing SEQ.
func requireProducerOrder(t *testing.T, what string, rs []rec) {
	t.Helper()
	last := map[string]int{}
	for _, r := range rs {
		prod, seqS, _ := strings.Cut(r.Value, "-")
		seq, _ := strconv.Atoi(seqS)
		if prev, ok := last[prod]; ok && seq <= prev {
			t.Fatalf("%s: %s's record %d at offset %d comes after its record %d", what, prod, seq, r.Offset, prev)
		}
		last[prod] = seq
	}
}
