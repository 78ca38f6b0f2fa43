package clienttest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// testTimeout bounds every test's network calls. It is generous because the
// suite may run beside the crash tests on two cores; a healthy broker answers
// in milliseconds, so only a hang ever reaches it.
const testTimeout = 60 * time.Second

// startBroker starts a fresh in-process broker with topic auto-creation off,
// so that a test which forgets to create its topic fails loudly instead of
// passing against an auto-created one with default settings.
func startBroker(t *testing.T, overrides map[string]string) string {
	t.Helper()
	o := map[string]string{"auto.create.topics.enable": "false"}
	maps.Copy(o, overrides)
	return brokertest.Start(t, o)
}

// testCtx is the context every client call in a test runs under.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newKgo returns a franz-go client for addr, closed when the test ends.
func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newAdmin(t *testing.T, addr string) *kadm.Client {
	return kadm.NewClient(newKgo(t, addr))
}

// createTopic creates topic with replication factor 1 through kadm and fails
// the test on any error, top level or per topic.
func createTopic(t *testing.T, addr, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := newAdmin(t, addr).CreateTopic(testCtx(t), partitions, 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %q (%d partitions): %v", topic, partitions, err)
	}
}

// rec is the part of a record that the tests compare. It is comparable, so
// slices of it compare with slices.Equal and print readably on failure.
type rec struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
}

func (r rec) String() string {
	return fmt.Sprintf("p%d@%d %q=%q", r.Partition, r.Offset, r.Key, r.Value)
}

func recOf(r *kgo.Record) rec {
	return rec{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)}
}

// requireRecs fails the test unless got equals want exactly, element by
// element, and shows the first difference.
func requireRecs(t *testing.T, what string, got, want []rec) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: record %d: got %v, want %v (got %d records, want %d)", what, i, got[i], want[i], len(got), len(want))
		}
	}
	t.Fatalf("%s: got %d records, want %d\n got: %v\nwant: %v", what, len(got), len(want), got, want)
}

// produceFranz produces recs synchronously and fails on any error. It
// returns the records as the broker acknowledged them (partition and offset
// filled in), in the order given. (ProduceSync's results come in completion
// order, which across partitions is not the order given.)
func produceFranz(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) []rec {
	t.Helper()
	for _, r := range cl.ProduceSync(testCtx(t), recs...) {
		if r.Err != nil {
			t.Fatalf("produce record (topic %q key %q): %v", r.Record.Topic, r.Record.Key, r.Err)
		}
	}
	out := make([]rec, 0, len(recs))
	for _, r := range recs {
		out = append(out, recOf(r))
	}
	return out
}

// consumeFranz reads topic/partition from offset `from` with a fresh client
// (no group) until it has n records, and returns exactly the records it got,
// which may be more than n if the partition holds more.
func consumeFranz(t *testing.T, addr, topic string, partition int32, from kgo.Offset, n int, opts ...kgo.Opt) []rec {
	t.Helper()
	ctx := testCtx(t)
	opts = append([]kgo.Opt{
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: from}}),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, opts...)
	cl := newKgo(t, addr, opts...)
	var out []rec
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s/%d: got %d of %d records before the deadline: %v", topic, partition, len(out), n, out)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("consume %s/%d: fetch error: %v", topic, partition, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, recOf(r)) })
	}
	return out
}

// endOffsets returns the end offset (high watermark) of every partition of
// topic, indexed by partition.
func endOffsets(t *testing.T, addr, topic string) map[int32]int64 {
	t.Helper()
	return listed(t, addr, topic, false)
}

// startOffsets returns the log start offset of every partition of topic.
func startOffsets(t *testing.T, addr, topic string) map[int32]int64 {
	t.Helper()
	return listed(t, addr, topic, true)
}

func listed(t *testing.T, addr, topic string, start bool) map[int32]int64 {
	t.Helper()
	// A client per call, closed at once: waitFor loops call this often.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var l kadm.ListedOffsets
	if start {
		l, err = adm.ListStartOffsets(testCtx(t), topic)
	} else {
		l, err = adm.ListEndOffsets(testCtx(t), topic)
	}
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		t.Fatalf("list offsets of %q (start=%v): %v", topic, start, err)
	}
	out := make(map[int32]int64)
	for p, o := range l[topic] {
		out[p] = o.Offset
	}
	return out
}

// waitFor polls cond every 50ms until it holds or the test context ends.
// It is for conditions with no event to wait on (e.g. acks=0 writes landing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := testCtx(t)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// topicID looks up a topic's ID via Metadata, for raw requests at versions
// that address topics by ID (Fetch v13+). It is the zero ID on brokers that
// do not report one.
func topicID(t *testing.T, cl *kgo.Client, topic string) [16]byte {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("metadata for %q: %v", topic, err)
	}
	if len(resp.Topics) != 1 {
		t.Fatalf("metadata for %q: got %d topics, want 1", topic, len(resp.Topics))
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("metadata for %q: %v", topic, err)
	}
	return resp.Topics[0].TopicID
}

// rawFetch sends one Fetch for topic/partition at offset and returns the
// partition's response.
func rawFetch(t *testing.T, cl *kgo.Client, topic string, partition int32, offset int64, maxWait time.Duration) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := fetchRequest(topic, topicID(t, cl, topic), partition, offset, maxWait)
	p, err := doFetch(testCtx(t), cl, req)
	if err != nil {
		t.Fatalf("fetch %s/%d@%d: %v", topic, partition, offset, err)
	}
	return p
}

// fetchRequest builds a single-partition Fetch outside any fetch session.
// It names the topic both ways (name and ID) so it is valid at whatever
// version the client and broker agree on (v13+ address topics by ID).
func fetchRequest(topic string, id [16]byte, partition int32, offset int64, maxWait time.Duration) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = int32(maxWait.Milliseconds())
	req.MinBytes = 1
	req.MaxBytes = 50 << 20
	req.SessionEpoch = -1 // no fetch session
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	ft.TopicID = id
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition = partition
	fp.FetchOffset = offset
	fp.LogStartOffset = -1
	fp.PartitionMaxBytes = 10 << 20
	fp.CurrentLeaderEpoch = -1
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	return req
}

// doFetch issues a single-partition fetch and returns that partition's
// response; it is safe to call from any goroutine.
func doFetch(ctx context.Context, cl *kgo.Client, req *kmsg.FetchRequest) (kmsg.FetchResponseTopicPartition, error) {
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return kmsg.FetchResponseTopicPartition{}, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return kmsg.FetchResponseTopicPartition{}, fmt.Errorf("top-level error: %w", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return kmsg.FetchResponseTopicPartition{}, fmt.Errorf("want 1 topic with 1 partition, got %+v", resp.Topics)
	}
	return resp.Topics[0].Partitions[0], nil
}

// batchesOf parses the raw record batches of a fetch response partition.
func batchesOf(t *testing.T, raw []byte) []kmsg.RecordBatch {
	t.Helper()
	var out []kmsg.RecordBatch
	for len(raw) > 0 {
		if len(raw) < 12 {
			break // a partial batch header at the end of a fetch is allowed
		}
		length := int(int32(uint32(raw[8])<<24 | uint32(raw[9])<<16 | uint32(raw[10])<<8 | uint32(raw[11])))
		if 12+length > len(raw) {
			break // partial trailing batch, allowed by the protocol
		}
		var b kmsg.RecordBatch
		if err := b.ReadFrom(raw[:12+length]); err != nil {
			t.Fatalf("parse record batch: %v", err)
		}
		out = append(out, b)
		raw = raw[12+length:]
	}
	return out
}

// requireKerr fails unless err is (or wraps) the Kafka error want.
func requireKerr(t *testing.T, what string, err error, want *kerr.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %s", what, err, want.Message)
	}
}

// keyed builds n records for topic with keys and values "<prefix>-key-i" and
// "<prefix>-value-i".
func keyed(topic, prefix string, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{
			Topic: topic,
			Key:   fmt.Appendf(nil, "%s-key-%d", prefix, i),
			Value: fmt.Appendf(nil, "%s-value-%d", prefix, i),
		}
	}
	return out
}

// byPartition groups records by partition, keeping their order.
func byPartition(rs []rec) map[int32][]rec {
	out := make(map[int32][]rec)
	for _, r := range rs {
		out[r.Partition] = append(out[r.Partition], r)
	}
	return out
}

// codecs are the record batch compression codecs Kafka defines, by the name
// every client and config uses, with their attribute bits.
var codecs = []struct {
	name string
	bits int16 // the low three bits of a batch's attributes
}{
	{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4},
}

// incompressible returns n random bytes: a value no codec can shrink, for
// tests about sizes. (franz-go compresses with snappy by default, so a
// repeated byte would be a few bytes on the wire.)
func incompressible(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// bigValue is a value that compresses well, so a compressed batch is
// visibly smaller than its records and a broken codec cannot pass by luck.
func bigValue(i int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("value %d, ", i), 50))
}

func errorsIs(err error, target *kerr.Error) bool { return errors.Is(err, target) }
