package clienttest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestSaramaProduceConsume produces keyed messages with sarama's Java
// compatible partitioner and reads them back with its partition consumer,
// from the oldest offset and from a given one.
func TestSaramaProduceConsume(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "sarama-events"
	createTopic(t, addr, topic, 3, nil)
	cfg := saramaConfig()
	cfg.Producer.Partitioner = sarama.NewMurmur2Partitioner
	p := newSaramaSyncProducer(t, addr, cfg)

	var msgs []*sarama.ProducerMessage
	for i := range 30 {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic,
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i%10)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
	}
	acked := sendSarama(t, p, msgs...)
	for i, r := range acked {
		if want := javaPartition([]byte(r.Key), 3); r.Partition != want {
			t.Fatalf("message %d key %q: partition %d, want %d", i, r.Key, r.Partition, want)
		}
	}
	parts := byPartition(acked)
	for part, want := range parts {
		// SendMessages may interleave partitions; within one, offsets are
		// dense from 0 in acknowledgement order.
		for i, r := range want {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: message %d acknowledged at offset %d, want %d", part, i, r.Offset, i)
			}
		}
		requireRecs(t, "consume from oldest", consumeSarama(t, addr, topic, part, sarama.OffsetOldest, len(want)), want)
		if len(want) > 2 {
			requireRecs(t, "consume from offset 2", consumeSarama(t, addr, topic, part, 2, len(want)-2), want[2:])
		}
	}
}

// TestSaramaOffsetsAndDeleteRecords covers GetOffset (oldest, newest, by
// time) and DeleteRecords through sarama.
func TestSaramaOffsetsAndDeleteRecords(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "sarama-offsets"
	createTopic(t, addr, topic, 1, nil)
	p := newSaramaSyncProducer(t, addr, saramaConfig())
	t0 := time.UnixMilli(1_700_000_000_000)
	var msgs []*sarama.ProducerMessage
	for i := range 8 {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: 0,
			Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)), Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}
	acked := sendSarama(t, p, msgs...)

	cl := newSaramaClient(t, addr, saramaConfig())
	for _, c := range []struct {
		name string
		at   int64
		want int64
	}{
		{"oldest", sarama.OffsetOldest, 0},
		{"newest", sarama.OffsetNewest, 8},
		{"at t0+2.5s", t0.UnixMilli() + 2500, 3},
		{"at t0+7s", t0.UnixMilli() + 7000, 7},
		{"after the last", t0.UnixMilli() + 7001, -1},
	} {
		got, err := cl.GetOffset(topic, 0, c.at)
		if err != nil || got != c.want {
			t.Errorf("GetOffset %s: got %d, %v; want %d", c.name, got, err, c.want)
		}
	}

	adm := newSaramaAdmin(t, addr)
	if err := adm.DeleteRecords(topic, map[int32]int64{0: 5}); err != nil {
		t.Fatalf("delete records to 5: %v", err)
	}
	if got, err := cl.GetOffset(topic, 0, sarama.OffsetOldest); err != nil || got != 5 {
		t.Fatalf("oldest offset after delete: got %d, %v; want 5", got, err)
	}

	// sarama checks the requested offset against the log's bounds first.
	c, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewConsumer: %v", err)
	}
	defer c.Close()
	if pc, err := c.ConsumePartition(topic, 0, 2); !errors.Is(err, sarama.ErrOffsetOutOfRange) {
		if pc != nil {
			pc.Close()
		}
		t.Fatalf("consume at 2 after deleting to 5: got %v, want %v", err, sarama.ErrOffsetOutOfRange)
	}
	requireRecs(t, "consume oldest after delete", consumeSarama(t, addr, topic, 0, sarama.OffsetOldest, 3), acked[5:])
}
