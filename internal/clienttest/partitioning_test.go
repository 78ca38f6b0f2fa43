package clienttest

import (
	"fmt"
	"testing"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKeyPartitioningMatchesJava checks that each client, set to its
// Java-compatible murmur2 partitioner, puts every key where the Java client
// would, and that the broker stores it there. franz-go does so by default;
// sarama's default (FNV-1a) and kafka-go's default (round robin) do not, and
// sarama's NewConsistentCRCHashPartitioner is CRC-32 (librdkafka's
// "consistent"), not murmur2, so each is set explicitly.
//
// Every key is produced twice; both copies must land in the same partition.
func TestKeyPartitioningMatchesJava(t *testing.T) {
	t.Parallel()
	const partitions = 7
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i*37)
	}

	producers := map[string]func(t *testing.T, addr, topic string){
		"franz-go": func(t *testing.T, addr, topic string) {
			cl := newKgo(t, addr) // default partitioner: sticky, murmur2 for keys
			var rs []*kgo.Record
			for range 2 {
				for _, k := range keys {
					rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(k)})
				}
			}
			produceFranz(t, cl, rs...)
		},
		"sarama": func(t *testing.T, addr, topic string) {
			cfg := saramaConfig()
			cfg.Producer.Partitioner = sarama.NewMurmur2Partitioner
			p := newSaramaSyncProducer(t, addr, cfg)
			for range 2 {
				for _, k := range keys {
					msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(k), Value: sarama.StringEncoder(k)}
					if _, _, err := p.SendMessage(msg); err != nil {
						t.Fatalf("sarama send %q: %v", k, err)
					}
				}
			}
		},
		"kafka-go": func(t *testing.T, addr, topic string) {
			w := newKafkaGoWriter(t, addr, topic)
			w.Balancer = kafka.Murmur2Balancer{}
			for range 2 {
				var msgs []kafka.Message
				for _, k := range keys {
					msgs = append(msgs, kafka.Message{Key: []byte(k), Value: []byte(k)})
				}
				if err := w.WriteMessages(testCtx(t), msgs...); err != nil {
					t.Fatalf("kafka-go write: %v", err)
				}
			}
		},
	}

	for name, produce := range producers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr := startBroker(t, nil)
			const topic = "keyed"
			createTopic(t, addr, topic, partitions, nil)
			produce(t, addr, topic)

			ends := endOffsets(t, addr, topic)
			seen := make(map[string][]int32)
			for p := range int32(partitions) {
				for _, r := range consumeFranz(t, addr, topic, p, kgo.NewOffset().AtStart(), int(ends[p])) {
					if r.Key != r.Value {
						t.Fatalf("record %v: key and value differ; the test wrote them equal", r)
					}
					seen[r.Key] = append(seen[r.Key], r.Partition)
				}
			}
			for _, k := range keys {
				want := javaPartition([]byte(k), partitions)
				got := seen[k]
				if len(got) != 2 || got[0] != want || got[1] != want {
					t.Errorf("key %q: stored in partitions %v, want [%d %d] (Java murmur2)", k, got, want, want)
				}
			}
			if len(seen) != len(keys) {
				t.Errorf("found %d distinct keys, want %d", len(seen), len(keys))
			}
		})
	}
}
