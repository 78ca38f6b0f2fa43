package clienttest

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// newKafkaGoClient returns a kafka-go admin client with its own transport.
// NB: kafka-go answers Metadata from its transport's cache, refreshed every
// MetadataTTL (default 6s), so tests wait for metadata to show a change.
func newKafkaGoClient(t *testing.T, addr string) *kafka.Client {
	tr := &kafka.Transport{MetadataTTL: 50 * time.Millisecond}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafka.Client{Addr: kafka.TCP(addr), Timeout: 15 * time.Second, Transport: tr}
}

// consumeKafkaGo reads n messages of topic/partition from offset (a literal
// offset or kafka.FirstOffset) with a group-less kafka-go Reader.
func consumeKafkaGo(t *testing.T, addr, topic string, partition int, offset int64, n int) []rec {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   []string{addr},
		Topic:     topic,
		Partition: partition,
		MinBytes:  1,
		MaxBytes:  10 << 20,
		MaxWait:   200 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		t.Fatalf("kafka-go SetOffset(%d): %v", offset, err)
	}
	ctx := testCtx(t)
	var out []rec
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go read %s/%d: after %d of %d messages: %v", topic, partition, len(out), n, err)
		}
		out = append(out, rec{int32(m.Partition), m.Offset, string(m.Key), string(m.Value)})
	}
	return out
}

// newKafkaGoWriter returns a synchronous kafka-go writer for topic with
// acks=all and a short batch timeout (the default of one second would make
// every synchronous write wait a second). It has its own transport: the
// shared default one caches metadata for seconds and would not see a topic
// created after its first use.
func newKafkaGoWriter(t *testing.T, addr, topic string) *kafka.Writer {
	tr := &kafka.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	w := &kafka.Writer{
		Transport:    tr,
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  5,
	}
	t.Cleanup(func() { w.Close() })
	return w
}
