package clienttest

import (
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSaramaProduceModes produces with sarama under each acks setting, with
// its idempotent producer, and with every codec, then reads back the exact
// messages. Compressed topics are also fetched raw to check that the broker
// stored sarama's batch with sarama's codec.
func TestSaramaProduceModes(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	type mode struct {
		name  string
		bits  int16 // expected codec bits, -1 to skip the raw check
		setup func(*sarama.Config)
	}
	modes := []mode{
		{"acks-0", -1, func(c *sarama.Config) { c.Producer.RequiredAcks = sarama.NoResponse }},
		{"acks-1", -1, func(c *sarama.Config) { c.Producer.RequiredAcks = sarama.WaitForLocal }},
		{"acks-all", -1, func(c *sarama.Config) { c.Producer.RequiredAcks = sarama.WaitForAll }},
		{"idempotent", -1, func(c *sarama.Config) {
			c.Producer.Idempotent = true
			c.Producer.RequiredAcks = sarama.WaitForAll
			c.Net.MaxOpenRequests = 1
		}},
	}
	saramaCodec := map[string]sarama.CompressionCodec{"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP,
		"snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD}
	for _, c := range codecs {
		modes = append(modes, mode{"codec-" + c.name, c.bits, func(cfg *sarama.Config) { cfg.Producer.Compression = saramaCodec[c.name] }})
	}

	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			topic := "sarama-" + m.name
			createTopic(t, addr, topic, 1, nil)
			cfg := saramaConfig()
			m.setup(cfg)
			cfg.Producer.Flush.Messages = 20 // one batch for the 20 messages below
			p := newSaramaSyncProducer(t, addr, cfg)
			var msgs []*sarama.ProducerMessage
			want := make([]rec, 20)
			for i := range want {
				k, v := fmt.Sprintf("k%d", i), string(bigValue(i))
				msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(k), Value: sarama.StringEncoder(v)})
				want[i] = rec{0, int64(i), k, v}
			}
			if err := p.SendMessages(msgs); err != nil {
				t.Fatalf("send: %v", err)
			}
			if cfg.Producer.RequiredAcks == sarama.NoResponse {
				waitFor(t, "20 messages to be stored", func() bool { return endOffsets(t, addr, topic)[0] >= 20 })
			} else {
				for i, msg := range msgs {
					if msg.Offset != int64(i) {
						t.Fatalf("message %d acknowledged at offset %d, want %d", i, msg.Offset, i)
					}
				}
			}
			if m.bits >= 0 {
				requireBatchCodec(t, addr, topic, 0, 20, m.bits)
			}
			requireRecs(t, "consumed by sarama", consumeSarama(t, addr, topic, 0, sarama.OffsetOldest, 20), want)
			requireRecs(t, "consumed by franz-go", consumeFranz(t, addr, topic, 0, kgo.NewOffset().AtStart(), 20), want)
			if e := endOffsets(t, addr, topic)[0]; e != 20 {
				t.Fatalf("end offset %d, want 20", e)
			}
		})
	}
}
