package clienttest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
)

// TestKafkaGoProduceConsume writes keyed messages with kafka-go's Java
// compatible balancer and reads them back with a group-less Reader, from
// the first offset and from a given one.
func TestKafkaGoProduceConsume(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "kgo-events"
	createTopic(t, addr, topic, 3, nil)
	w := newKafkaGoWriter(t, addr, topic)
	w.Balancer = kafka.Murmur2Balancer{}

	var msgs []kafka.Message
	want := make(map[int32][]rec)
	for i := range 30 {
		k, v := fmt.Sprintf("k%d", i%10), fmt.Sprintf("v%d", i)
		msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(v)})
		p := javaPartition([]byte(k), 3)
		want[p] = append(want[p], rec{p, int64(len(want[p])), k, v})
	}
	// One message per call: a single WriteMessages call may spread a
	// partition's messages over concurrent batches, and the test pins the
	// order to compare offsets exactly.
	for _, m := range msgs {
		if err := w.WriteMessages(testCtx(t), m); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	for p, rs := range want {
		requireRecs(t, fmt.Sprintf("partition %d from first", p), consumeKafkaGo(t, addr, topic, int(p), kafka.FirstOffset, len(rs)), rs)
		if len(rs) > 2 {
			requireRecs(t, fmt.Sprintf("partition %d from 2", p), consumeKafkaGo(t, addr, topic, int(p), 2, len(rs)-2), rs[2:])
		}
	}
}

// TestKafkaGoOffsetsAndDeletedRecords covers kafka-go's ListOffsets (first,
// last, by time) and how its Reader and Conn behave below a log start moved
// by DeleteRecords (which kafka-go cannot send; kadm does).
func TestKafkaGoOffsetsAndDeletedRecords(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "kgo-offsets"
	createTopic(t, addr, topic, 1, nil)
	w := newKafkaGoWriter(t, addr, topic)
	t0 := time.UnixMilli(1_700_000_000_000)
	var want []rec
	for i := range 8 {
		v := fmt.Sprintf("v%d", i)
		if err := w.WriteMessages(testCtx(t), kafka.Message{Value: []byte(v), Time: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		want = append(want, rec{0, int64(i), "", v})
	}

	cl := newKafkaGoClient(t, addr)
	resp, err := cl.ListOffsets(testCtx(t), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0), kafka.TimeOffsetOf(0, t0.Add(2500*time.Millisecond))},
	}})
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	ps := resp.Topics[topic]
	if len(ps) != 1 || ps[0].Error != nil || ps[0].FirstOffset != 0 || ps[0].LastOffset != 8 {
		t.Fatalf("list offsets: %+v, want first 0, last 8", ps)
	}
	// NB: kafka-go reports the timestamp it asked for, not the broker's
	// (protocol/listoffsets overwrites it), so only the offset is checked.
	if _, ok := ps[0].Offsets[3]; !ok || len(ps[0].Offsets) != 1 {
		t.Fatalf("list offsets at t0+2.5s: %v, want only offset 3", ps[0].Offsets)
	}

	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: 5})
	if dr, err := newAdmin(t, addr).DeleteRecords(testCtx(t), os); err != nil || dr.Error() != nil {
		t.Fatalf("delete records to 5: %v %v", err, dr.Error())
	}
	// kafka-go's Reader moves an offset below the log start up to it.
	requireRecs(t, "read from 2 after deleting to 5", consumeKafkaGo(t, addr, topic, 0, 2, 3), want[5:])
	requireRecs(t, "read from first after deleting to 5", consumeKafkaGo(t, addr, topic, 0, kafka.FirstOffset, 3), want[5:])

	conn, err := kafka.DialLeader(testCtx(t), "tcp", addr, topic, 0)
	if err != nil {
		t.Fatalf("dial leader: %v", err)
	}
	defer conn.Close()
	if first, last, err := conn.ReadOffsets(); err != nil || first != 5 || last != 8 {
		t.Fatalf("conn.ReadOffsets after deleting to 5: %d, %d, %v; want 5, 8", first, last, err)
	}
	// A Conn told not to check sends the Fetch at 2 as asked, and the
	// broker's OFFSET_OUT_OF_RANGE comes back as the read's error.
	if _, err := conn.Seek(2, kafka.SeekAbsolute|kafka.SeekDontCheck); err != nil {
		t.Fatalf("conn.Seek(2, unchecked): %v", err)
	}
	if m, err := conn.ReadMessage(1 << 20); !errors.Is(err, kafka.OffsetOutOfRange) {
		t.Fatalf("conn read at 2 after deleting to 5: got message at %d, error %v; want %v", m.Offset, err, kafka.OffsetOutOfRange)
	}
}
