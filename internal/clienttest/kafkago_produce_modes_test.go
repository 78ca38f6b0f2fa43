package clienttest

import (
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaGoProduceModes writes with kafka-go under each acks setting and
// with every codec, then reads the exact messages back with kafka-go.
// Compressed topics are also fetched raw to check that the broker stored
// kafka-go's batch with its codec. (kafka-go has no idempotent producer.)
func TestKafkaGoProduceModes(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	type mode struct {
		name  string
		bits  int16 // expected codec bits, -1 to skip the raw check
		setup func(*kafka.Writer)
	}
	modes := []mode{
		{"acks-0", -1, func(w *kafka.Writer) { w.RequiredAcks = kafka.RequireNone }},
		{"acks-1", -1, func(w *kafka.Writer) { w.RequiredAcks = kafka.RequireOne }},
		{"acks-all", -1, func(w *kafka.Writer) { w.RequiredAcks = kafka.RequireAll }},
	}
	kafkaGoCodec := map[string]compress.Compression{"none": 0, "gzip": kafka.Gzip, "snappy": kafka.Snappy, "lz4": kafka.Lz4, "zstd": kafka.Zstd}
	for _, c := range codecs {
		modes = append(modes, mode{"codec-" + c.name, c.bits, func(w *kafka.Writer) { w.Compression = kafkaGoCodec[c.name] }})
	}

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			topic := "kafkago-" + m.name
			createTopic(t, addr, topic, 1, nil)
			w := newKafkaGoWriter(t, addr, topic)
			m.setup(w)
			var msgs []kafka.Message
			want := make([]rec, 20)
			for i := range want {
				k, v := fmt.Sprintf("k%d", i), string(bigValue(i))
				msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(v)})
				want[i] = rec{0, int64(i), k, v}
			}
			if err := w.WriteMessages(testCtx(t), msgs...); err != nil {
				t.Fatalf("write: %v", err)
			}
			waitFor(t, "20 messages to be stored", func() bool { return endOffsets(t, addr, topic)[0] >= 20 })
			if m.bits >= 0 {
				requireBatchCodec(t, addr, topic, 0, 20, m.bits)
			}
			requireRecs(t, "consumed by kafka-go", consumeKafkaGo(t, addr, topic, 0, kafka.FirstOffset, 20), want)
			requireRecs(t, "consumed by franz-go", consumeFranz(t, addr, topic, 0, kgo.NewOffset().AtStart(), 20), want)
			if e := endOffsets(t, addr, topic)[0]; e != 20 {
				t.Fatalf("end offset %d, want 20", e)
			}
		})
	}
}
