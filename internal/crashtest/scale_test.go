package crashtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicSet is the shape of a many-partition workload: topics named
// prefix-0..n-1, each with perTopic partitions.
type topicSet struct {
	prefix   string
	topics   int
	perTopic int32
}

func (s topicSet) names() []string {
	if s.topics == 1 {
		return []string{s.prefix}
	}
	out := make([]string, s.topics)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", s.prefix, i)
	}
	return out
}

func (s topicSet) partitions() int { return s.topics * int(s.perTopic) }

// createAll creates every topic of s with one CreateTopics request.
func (s topicSet) createAll(t *testing.T, addr string) {
	t.Helper()
	cl := newClient(t, addr, kgo.RequestTimeoutOverhead(5*time.Minute))
	resp, err := kadm.NewClient(cl).CreateTopics(waitCtx(t, 5*time.Minute), s.perTopic, 1, nil, s.names()...)
	if err != nil {
		t.Fatalf("CreateTopics of %d topics × %d partitions: %v", s.topics, s.perTopic, err)
	}
	if err := resp.Error(); err != nil {
		t.Fatalf("CreateTopics of %d topics × %d partitions: %v", s.topics, s.perTopic, err)
	}
}

// deleteAll deletes every topic of s with one DeleteTopics request.
func (s topicSet) deleteAll(t *testing.T, addr string) {
	t.Helper()
	cl := newClient(t, addr, kgo.RequestTimeoutOverhead(5*time.Minute))
	resp, err := kadm.NewClient(cl).DeleteTopics(waitCtx(t, 5*time.Minute), s.names()...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("DeleteTopics of %d topics: %v", s.topics, err)
	}
}

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// scaleValue is record i of a partition, so reads can check what they get.
func scaleValue(topic string, p int32, i int) string {
	return fmt.Sprintf("%s/%d/%d", topic, p, i)
}

// produceEach writes n records of about size bytes to every partition of s
// (acks=all) and waits for every acknowledgement.
func (s topicSet) produceEach(t *testing.T, addr string, n, size int) {
	t.Helper()
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedRecords(s.partitions()*n+1), kgo.ProducerLinger(5*time.Millisecond))
	ctx := waitCtx(t, 5*time.Minute)
	pad := make([]byte, size)
	for i := range pad {
		pad[i] = 'x'
	}
	errs := make(chan error, 1)
	for i := 0; i < n; i++ {
		for _, topic := range s.names() {
			for p := int32(0); p < s.perTopic; p++ {
				v := append([]byte(scaleValue(topic, p, i)+"/"), pad...)
				cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Value: v}, func(r *kgo.Record, err error) {
					if err != nil {
						select {
						case errs <- fmt.Errorf("%s-%d: %w", r.Topic, r.Partition, err):
						default:
						}
					}
				})
			}
		}
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flushing produces: %v", err)
	}
	select {
	case err := <-errs:
		t.Fatalf("produce: %v", err)
	default:
	}
}

// consumeEach reads every partition of s from the start and checks that
// each holds exactly records 0..n-1 at offsets 0..n-1.
func (s topicSet) consumeEach(t *testing.T, addr string, n int) {
	t.Helper()
	assign := map[string]map[int32]kgo.Offset{}
	for _, topic := range s.names() {
		m := map[int32]kgo.Offset{}
		for p := int32(0); p < s.perTopic; p++ {
			m[p] = kgo.NewOffset().AtStart()
		}
		assign[topic] = m
	}
	cl := newClient(t, addr, kgo.ConsumePartitions(assign), kgo.FetchMaxWait(100*time.Millisecond))
	ctx := waitCtx(t, 5*time.Minute)
	type key struct {
		topic string
		p     int32
	}
	next := map[key]int{}
	done := 0
	for done < s.partitions() {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume: timed out with %d of %d partitions read", done, s.partitions())
		}
		for _, e := range fs.Errors() {
			t.Fatalf("consume %s-%d: %v", e.Topic, e.Partition, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := key{r.Topic, r.Partition}
			i := next[k]
			want := scaleValue(r.Topic, r.Partition, i) + "/"
			if r.Offset != int64(i) || len(r.Value) < len(want) || string(r.Value[:len(want)]) != want {
				t.Fatalf("%s-%d: record at offset %d is %.40q, want offset %d to start %q", r.Topic, r.Partition, r.Offset, r.Value, i, want)
			}
			next[k] = i + 1
			if i+1 == n {
				done++
			}
		})
	}
}

// firstMetadata polls until the broker answers a Metadata request listing
// every topic of s, and returns when it did.
func firstMetadata(t *testing.T, addr string, s topicSet) time.Time {
	t.Helper()
	ctx := waitCtx(t, 2*time.Minute)
	for {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		md, err := kadm.NewClient(cl).Metadata(ctx, s.names()[0])
		cl.Close()
		if err == nil && md.Topics[s.names()[0]].Err == nil {
			return time.Now()
		}
		if ctx.Err() != nil {
			t.Fatalf("no Metadata answer within 2m: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func scaleEnabled(t *testing.T) {
	if os.Getenv("STRATA_SCALE") == "" {
		t.Skip("a measurement, not a test: set STRATA_SCALE=1 to run it")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestScaleManyPartitions measures a broker holding many partitions
// (STRATA_SCALE_PARTITIONS, 10,000): creating them with one CreateTopics
// request, writing to and reading from every one, its memory and open
// descriptors meanwhile, and the restart after a clean shutdown. It runs
// both shapes: one topic with every partition, and topics of 10.
func TestScaleManyPartitions(t *testing.T) {
	scaleEnabled(t)
	n := envInt("STRATA_SCALE_PARTITIONS", 10_000)
	for _, s := range []topicSet{{prefix: "wide", topics: 1, perTopic: int32(n)}, {prefix: "many", topics: n / 10, perTopic: 10}} {
		t.Run(fmt.Sprintf("%dx%d", s.topics, s.perTopic), func(t *testing.T) {
			runScale(t, s)
		})
	}
}

func runScale(t *testing.T, s topicSet) {
	const records, size = 10, 100
	b := newBroker(t)
	b.start()
	t.Logf("started: %v", b.stats())

	start := time.Now()
	s.createAll(t, b.addr)
	t.Logf("CreateTopics (%d topics, %d partitions): %v; %v", s.topics, s.partitions(), time.Since(start).Round(time.Millisecond), b.stats())

	start = time.Now()
	s.produceEach(t, b.addr, records, size)
	t.Logf("produced %d × %d B records to each partition: %v; %v", records, size, time.Since(start).Round(time.Millisecond), b.stats())

	start = time.Now()
	s.consumeEach(t, b.addr, records)
	t.Logf("consumed every partition: %v; %v", time.Since(start).Round(time.Millisecond), b.stats())

	start = time.Now()
	b.stop(5 * time.Minute)
	t.Logf("clean shutdown: %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	b.start()
	ready := time.Since(start)
	md := firstMetadata(t, b.addr, s).Sub(start)
	t.Logf("restart: ready line after %v, first Metadata after %v; %v", ready.Round(time.Millisecond), md.Round(time.Millisecond), b.stats())

	start = time.Now()
	s.consumeEach(t, b.addr, records)
	t.Logf("consumed every partition after the restart: %v; %v", time.Since(start).Round(time.Millisecond), b.stats())

	start = time.Now()
	s.deleteAll(t, b.addr)
	t.Logf("DeleteTopics (%d topics, %d partitions): %v; %v", s.topics, s.partitions(), time.Since(start).Round(time.Millisecond), b.stats())
	b.requireNoPanic()
	_ = context.Background
}

// TestManyPartitionsWithinFdLimit runs a broker whose descriptor limit is
// far below its partition count: every partition is written, read, and
// read again after a clean restart and after a kill -9, and the broker
// never holds more descriptors than its limit allows (it would fail with
// EMFILE otherwise) while leaving room for sockets.
func TestManyPartitionsWithinFdLimit(t *testing.T) {
	const nofile, partitions, records = 256, 1000, 3
	if testing.Short() {
		t.Log("-short: fewer partitions")
	}
	n := int32(partitions)
	if testing.Short() {
		n = 400
	}
	b := newBroker(t)
	b.nofile = nofile
	b.start()
	if st := b.stats(); st.fdLimit != nofile {
		t.Fatalf("broker runs with a descriptor limit of %d, want %d", st.fdLimit, nofile)
	}
	s := topicSet{prefix: "fds", topics: 1, perTopic: n}
	s.createAll(t, b.addr)
	s.produceEach(t, b.addr, records, 100)
	s.consumeEach(t, b.addr, records)
	// Open segment files are bounded by half the limit; a few more are
	// sockets, the metadata journal and the data directory lock.
	const maxFds = nofile/2 + 32
	if st := b.stats(); st.fds > maxFds {
		t.Errorf("after writing and reading %d partitions: %v, want at most %d", n, st, maxFds)
	}
	b.stop(2 * time.Minute)
	b.start()
	s.consumeEach(t, b.addr, records)
	b.kill()
	b.start()
	s.consumeEach(t, b.addr, records)
	st := b.stats()
	if st.fds > maxFds {
		t.Errorf("after a kill -9 and restart: %v, want at most %d", st, maxFds)
	}
	t.Logf("%d partitions, after a kill -9, a restart and reading every partition: %v", n, st)
	b.requireNoPanic()
}
