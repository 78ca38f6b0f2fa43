package handlers_test

// Helpers for the admin API tests (configs, partitions, records, log dirs,
// cluster, leader epochs): a real broker, franz-go clients against it, and
// small wrappers that fail the test on transport errors so each test reads
// as the Kafka exchange it checks.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// admNodeID is the node id of a broker started without node.id.
const admNodeID = 1

// admEnv is a started broker with a client and an admin client on it.
type admEnv struct {
	t    *testing.T
	addr string
	cl   *kgo.Client
	adm  *kadm.Client
}

// admStart starts a broker with the given config overrides.
func admStart(t *testing.T, overrides map[string]string) *admEnv {
	t.Helper()
	return admConnect(t, brokertest.Start(t, overrides))
}

// admConnect opens clients on a running broker at addr. Writes are plain
// acks=all, uncompressed produces: idempotence would add producer state that some tests
// (a rejected batch followed by a good one) do not want to reason about.
func admConnect(t *testing.T, addr string, opts ...kgo.Opt) *admEnv {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.DisableIdempotentWrite(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(2),
		// Sizes must be what the tests say: no compression.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kgo client: %v", err)
	}
	t.Cleanup(cl.Close)
	e := &admEnv{t: t, addr: addr, cl: cl, adm: kadm.NewClient(cl)}
	if _, err := e.adm.BrokerMetadata(e.ctx()); err != nil { // learn broker 1
		t.Fatalf("metadata: %v", err)
	}
	return e
}

func (e *admEnv) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// createTopic creates topic with n partitions and the given configs.
//
// NB: sent straight to the broker rather than through kadm, which routes
// CreateTopics to the controller id from Metadata; see createPartitions.
func (e *admEnv) createTopic(topic string, n int32, configs map[string]*string) {
	e.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, n, 1
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		e.t.Fatalf("creating %s: %+v", topic, resp.Topics)
	}
}

// request sends req straight to the broker (no client-side sharding,
// metadata lookups or retries) and returns the response.
func (e *admEnv) request(req kmsg.Request) kmsg.Response {
	e.t.Helper()
	resp, err := e.cl.Broker(admNodeID).Request(e.ctx(), req)
	if err != nil {
		e.t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// produce writes one record per value to topic/partition and returns the
// first error.
func (e *admEnv) produce(topic string, partition int32, values ...[]byte) error {
	e.t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: v}
	}
	return e.cl.ProduceSync(e.ctx(), recs...).FirstErr()
}

// mustProduce is produce that fails the test on error.
func (e *admEnv) mustProduce(topic string, partition int32, values ...[]byte) {
	e.t.Helper()
	if err := e.produce(topic, partition, values...); err != nil {
		e.t.Fatalf("producing to %s/%d: %v", topic, partition, err)
	}
}

// topicID returns topic's id from Metadata.
func (e *admEnv) topicID(topic string) [16]byte {
	e.t.Helper()
	md, err := e.adm.Metadata(e.ctx(), topic)
	if err != nil {
		e.t.Fatalf("metadata: %v", err)
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		e.t.Fatalf("metadata of %s: %v", topic, td.Err)
	}
	return td.ID
}

// fetch reads topic/partition from offset with Fetch v13 and returns the
// partition's response.
func (e *admEnv) fetch(topic string, partition int32, offset int64) kmsg.FetchResponseTopicPartition {
	e.t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = 0
	req.MaxBytes = 10 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rt.TopicID = e.topicID(topic)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = partition
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = 10 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		e.t.Fatalf("fetch: top-level error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// batchOffsets returns the first and last offsets of the batches in b.
func batchOffsets(t *testing.T, b []byte) (first, last int64) {
	t.Helper()
	first, last = -1, -1
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			t.Fatalf("parsing fetched batch: %v", err)
		}
		if first < 0 {
			first = rb.FirstOffset
		}
		last = rb.FirstOffset + int64(rb.LastOffsetDelta)
		b = b[12+int(rb.Length):]
	}
	return first, last
}

// wantErr checks that err is the Kafka error want (nil for none) and, if
// msgPart is not empty, that msg contains it.
func wantErr(t *testing.T, what string, err error, msg string, want *kerr.Error, msgPart string) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v (%s)", what, err, msg)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v (%s), want %s", what, err, msg, want.Message)
	case msgPart != "" && !strings.Contains(msg, msgPart):
		t.Fatalf("%s: error message %q does not contain %q", what, msg, msgPart)
	}
}

// wantCode is wantErr for a raw error code.
func wantCode(t *testing.T, what string, code int16, msg *string, want *kerr.Error, msgPart string) {
	t.Helper()
	m := ""
	if msg != nil {
		m = *msg
	}
	wantErr(t, what, kerr.ErrorForCode(code), m, want, msgPart)
}
