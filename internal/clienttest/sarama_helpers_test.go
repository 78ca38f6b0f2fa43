package clienttest

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func newSaramaAdmin(t *testing.T, addr string) sarama.ClusterAdmin {
	t.Helper()
	adm, err := sarama.NewClusterAdmin([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClusterAdmin: %v", err)
	}
	t.Cleanup(func() { adm.Close() })
	return adm
}

func newSaramaClient(t *testing.T, addr string, cfg *sarama.Config) sarama.Client {
	t.Helper()
	cl, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewClient: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// consumeSarama reads n messages of topic/partition from offset (a literal
// offset or sarama.OffsetOldest) with sarama's partition consumer.
func consumeSarama(t *testing.T, addr, topic string, partition int32, offset int64, n int) []rec {
	t.Helper()
	c, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewConsumer: %v", err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, partition, offset)
	if err != nil {
		t.Fatalf("sarama ConsumePartition %s/%d@%d: %v", topic, partition, offset, err)
	}
	defer pc.Close()
	ctx := testCtx(t)
	var out []rec
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, rec{m.Partition, m.Offset, string(m.Key), string(m.Value)})
		case err := <-pc.Errors():
			t.Fatalf("sarama consume %s/%d: %v", topic, partition, err)
		case <-ctx.Done():
			t.Fatalf("sarama consume %s/%d: got %d of %d messages before the deadline: %v", topic, partition, len(out), n, out)
		}
	}
	return out
}

// sendSarama sends msgs with a sync producer and returns them as acknowledged.
func sendSarama(t *testing.T, p sarama.SyncProducer, msgs ...*sarama.ProducerMessage) []rec {
	t.Helper()
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("sarama SendMessages: %v", err)
	}
	out := make([]rec, len(msgs))
	for i, m := range msgs {
		var k, v []byte
		if m.Key != nil {
			k, _ = m.Key.Encode()
		}
		if m.Value != nil {
			v, _ = m.Value.Encode()
		}
		out[i] = rec{m.Partition, m.Offset, string(k), string(v)}
	}
	return out
}

// saramaConfig is the sarama config every test starts from: synchronous
// results, acks=all, and short backoffs so retries do not dominate a test.
func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "strata-clienttest"
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Backoff = 50 * time.Millisecond
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	return cfg
}

func newSaramaSyncProducer(t *testing.T, addr string, cfg *sarama.Config) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama.NewSyncProducer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
