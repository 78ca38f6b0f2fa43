package main

// cli_integration_test.go drives the client commands in-process against a
// real broker: an in-process Strata broker from brokertest, or, when
// STRATA_TEST_BOOTSTRAP is set, any Kafka-compatible cluster at that address
// (which is how the CLI is checked against Apache Kafka itself). Topic names
// are unique per run so an external cluster can be reused.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/brokertest"
)

const externalBootstrapEnv = "STRATA_TEST_BOOTSTRAP"

// testBroker returns a bootstrap address for the test.
func testBroker(t *testing.T, overrides map[string]string) string {
	t.Helper()
	if addr := os.Getenv(externalBootstrapEnv); addr != "" {
		if len(overrides) > 0 {
			t.Skipf("needs broker overrides %v; %s points at a broker we cannot configure", overrides, externalBootstrapEnv)
		}
		return addr
	}
	return brokertest.Start(t, overrides)
}

func uniqueTopic(t *testing.T) string {
	name := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	return fmt.Sprintf("%s-%06d", strings.ToLower(name), rand.IntN(1e6))
}

// cli runs strata commands against one broker and fails the test on error.
type cli struct {
	t    *testing.T
	addr string
}

func (c cli) run(stdin string, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Minute)
	defer cancel()
	out, _, err := runCLI(ctx, stdin, append(args, "--bootstrap-server", c.addr)...)
	return out, err
}

func (c cli) must(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.run(stdin, args...)
	if err != nil {
		c.t.Fatalf("strata %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (c cli) mustFail(wantErr string, args ...string) {
	c.t.Helper()
	_, err := c.run("", args...)
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		c.t.Fatalf("strata %s: error = %v, want one containing %q", strings.Join(args, " "), err, wantErr)
	}
}

// eventually retries fn until it succeeds or 15s pass: metadata changes
// (a new topic, a config) may reach the broker answering us a little later.
func eventually(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describeLine returns the topic line of `topic describe NAME` and its
// partition lines.
func (c cli) describe(topic string, extra ...string) (string, []string, error) {
	out, err := c.run("", append([]string{"topic", "describe", topic}, extra...)...)
	if err != nil {
		return "", nil, err
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[0], lines[1:], nil
}

// field returns the value of "Key: value" in a tab-separated describe line.
func field(line, key string) string {
	for f := range strings.SplitSeq(line, "\t") {
		if v, ok := strings.CutPrefix(f, key+": "); ok {
			return v
		}
	}
	return ""
}

func TestIntegrationTopicLifecycle(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)

	if out := c.must("", "topic", "create", topic, "--partitions", "3", "--replication-factor", "1",
		"--config", "retention.ms=3600000", "--config", "max.message.bytes=2000000"); out != "Created topic "+topic+".\n" {
		t.Errorf("create printed %q", out)
	}
	c.mustFail(fmt.Sprintf("topic %q already exists", topic), "topic", "create", topic, "--partitions", "3")
	c.must("", "topic", "create", "--topic", topic, "--if-not-exists")
	c.must("", "topic", "create", topic+"-dry", "--validate-only")

	eventually(t, "list shows the topic", func() error {
		names := strings.Fields(c.must("", "topic", "list"))
		if !slices.Contains(names, topic) {
			return fmt.Errorf("list = %q", names)
		}
		if slices.Contains(names, topic+"-dry") {
			t.Fatalf("--validate-only created %s", topic+"-dry")
		}
		if !slices.IsSorted(names) {
			t.Errorf("list not sorted: %q", names)
		}
		return nil
	})

	eventually(t, "describe after create", func() error {
		head, parts, err := c.describe(topic)
		if err != nil {
			return err
		}
		if got := field(head, "Topic"); got != topic {
			return fmt.Errorf("Topic = %q in %q", got, head)
		}
		if id := field(head, "TopicId"); id == "" || id == "AAAAAAAAAAAAAAAAAAAAAA" {
			return fmt.Errorf("TopicId = %q", id)
		}
		if got := field(head, "PartitionCount"); got != "3" {
			return fmt.Errorf("PartitionCount = %q", got)
		}
		if got := field(head, "ReplicationFactor"); got != "1" {
			return fmt.Errorf("ReplicationFactor = %q", got)
		}
		cfgs := field(head, "Configs")
		for _, want := range []string{"retention.ms=3600000", "max.message.bytes=2000000"} {
			if !strings.Contains(cfgs, want) {
				return fmt.Errorf("Configs = %q, want %s in it", cfgs, want)
			}
		}
		if len(parts) != 3 {
			return fmt.Errorf("%d partition lines: %q", len(parts), parts)
		}
		for i, p := range parts {
			if got := field(p, "Partition"); got != strconv.Itoa(i) {
				return fmt.Errorf("line %d: Partition = %q", i, got)
			}
			leader := field(p, "Leader")
			if leader == "" || leader == "none" {
				return fmt.Errorf("partition %d has no leader: %q", i, p)
			}
			if field(p, "Replicas") != leader || field(p, "Isr") != leader {
				return fmt.Errorf("partition %d: replicas/ISR are not just the leader: %q", i, p)
			}
			if field(p, "LogStartOffset") != "0" || field(p, "HighWatermark") != "0" {
				return fmt.Errorf("partition %d offsets of an empty topic: %q", i, p)
			}
		}
		return nil
	})

	// Records move the high watermark shown by describe.
	c.must("a\nb\n", "produce", "--topic", topic, "--partition", "1")
	eventually(t, "describe shows the produced records", func() error {
		_, parts, err := c.describe(topic)
		if err != nil {
			return err
		}
		if got := field(parts[1], "HighWatermark"); got != "2" {
			return fmt.Errorf("partition 1 HighWatermark = %q", got)
		}
		return nil
	})

	if out := c.must("", "topic", "alter-config", topic, "--config", "retention.ms=60000",
		"--config", "segment.bytes=1048576", "--delete-config", "max.message.bytes"); out != "Updated config of topic "+topic+".\n" {
		t.Errorf("alter-config printed %q", out)
	}
	eventually(t, "describe after alter-config", func() error {
		head, _, err := c.describe(topic)
		if err != nil {
			return err
		}
		cfgs := field(head, "Configs")
		if !strings.Contains(cfgs, "retention.ms=60000") || !strings.Contains(cfgs, "segment.bytes=1048576") ||
			strings.Contains(cfgs, "max.message.bytes=2000000") {
			return fmt.Errorf("Configs = %q", cfgs)
		}
		return nil
	})
	eventually(t, "describe --all-configs lists defaults", func() error {
		head, _, err := c.describe(topic, "--all-configs")
		if err != nil {
			return err
		}
		if cfgs := field(head, "Configs"); !strings.Contains(cfgs, "cleanup.policy=delete") {
			return fmt.Errorf("Configs = %q, want the default cleanup.policy=delete", cfgs)
		}
		return nil
	})
	c.mustFail("INVALID_CONFIG", "topic", "alter-config", topic, "--config", "unknown.config=1")
	c.mustFail(`topic "`+topic+`-missing" does not exist`, "topic", "alter-config", topic+"-missing", "--config", "retention.ms=1")

	c.must("", "topic", "add-partitions", topic, "--partitions", "5")
	eventually(t, "describe after add-partitions", func() error {
		head, parts, err := c.describe(topic)
		if err != nil {
			return err
		}
		if got := field(head, "PartitionCount"); got != "5" || len(parts) != 5 {
			return fmt.Errorf("PartitionCount = %q with %d lines", got, len(parts))
		}
		return nil
	})
	c.mustFail("INVALID_PARTITIONS", "topic", "add-partitions", topic, "--partitions", "2")

	if out := c.must("", "topic", "delete", topic); out != "Deleted topic "+topic+".\n" {
		t.Errorf("delete printed %q", out)
	}
	eventually(t, "topic gone after delete", func() error {
		if _, _, err := c.describe(topic); err == nil || !strings.Contains(err.Error(), "does not exist") {
			return fmt.Errorf("describe after delete: %v", err)
		}
		return nil
	})
	c.mustFail(fmt.Sprintf("topic %q does not exist", topic), "topic", "delete", topic)
	c.must("", "topic", "delete", topic, "--if-exists")
}

// consumeJSON consumes n records with --format json plus extra flags and
// decodes them.
func (c cli) consumeJSON(topic string, n int, extra ...string) []jsonRecord {
	c.t.Helper()
	args := append([]string{"consume", "--topic", topic, "--format", "json",
		"--max-messages", strconv.Itoa(n), "--timeout-ms", "20000"}, extra...)
	out := c.must("", args...)
	var recs []jsonRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r jsonRecord
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			c.t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	if len(recs) != n {
		c.t.Fatalf("consumed %d records, want %d:\n%s", len(recs), n, out)
	}
	return recs
}

func strp(s string) *string { return &s }

func TestIntegrationProduceConsumeJSON(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)
	c.must("", "topic", "create", topic, "--partitions", "3", "--replication-factor", "1")

	// Lines are headers;key|value, plus a fixed header on every record.
	type want struct {
		key, value *string
		valueEnc   string
		headers    []jsonHeader
	}
	lines := []string{
		"h1:a,h2:b;user-1|login",
		";user-2|logout",
		"h1:c;user-1|click <b>&</b>",
		";user-3|",
		";user-2|NULL",
		"h3:NULL;NULL|no key",
		";user-1|bin\xff\xfe",
	}
	fixed := jsonHeader{Key: "src", Value: strp("cli")}
	wants := []want{
		{key: strp("user-1"), value: strp("login"), headers: []jsonHeader{fixed, {Key: "h1", Value: strp("a")}, {Key: "h2", Value: strp("b")}}},
		{key: strp("user-2"), value: strp("logout"), headers: []jsonHeader{fixed}},
		{key: strp("user-1"), value: strp("click <b>&</b>"), headers: []jsonHeader{fixed, {Key: "h1", Value: strp("c")}}},
		{key: strp("user-3"), value: strp(""), headers: []jsonHeader{fixed}},
		{key: strp("user-2"), value: nil, headers: []jsonHeader{fixed}},
		{key: nil, value: strp("no key"), headers: []jsonHeader{fixed, {Key: "h3", Value: nil}}},
		{key: strp("user-1"), value: strp("Ymlu//4="), valueEnc: "base64", headers: []jsonHeader{fixed}},
	}

	before := time.Now().UnixMilli()
	out := c.must(strings.Join(lines, "\n")+"\n", "produce", "--topic", topic,
		"--parse-headers", "--headers-delimiter", ";", "--key-separator", "|",
		"--null-marker", "NULL", "--header", "src=cli")
	after := time.Now().UnixMilli()
	if out != "" {
		t.Errorf("produce printed %q", out)
	}

	recs := c.consumeJSON(topic, len(lines), "--from-beginning")

	// Records come back grouped by partition; match them to the input by
	// value, key and headers, and check per-partition order and offsets.
	nextOffset := map[int32]int64{}
	lastInput := map[int32]int{}
	keyPartition := map[string]int32{}
	used := make([]bool, len(wants))
	for _, r := range recs {
		if r.Topic != topic {
			t.Errorf("topic = %q", r.Topic)
		}
		if r.Partition < 0 || r.Partition > 2 {
			t.Errorf("partition = %d", r.Partition)
		}
		if r.Offset != nextOffset[r.Partition] {
			t.Errorf("partition %d: offset %d, want %d (dense from 0)", r.Partition, r.Offset, nextOffset[r.Partition])
		}
		nextOffset[r.Partition] = r.Offset + 1
		if r.Timestamp < before || r.Timestamp > after {
			t.Errorf("timestamp %d outside [%d, %d]", r.Timestamp, before, after)
		}
		if r.TimestampType != "CreateTime" {
			t.Errorf("timestamp_type = %q", r.TimestampType)
		}
		if r.KeyEncoding != "" {
			t.Errorf("key_encoding = %q", r.KeyEncoding)
		}
		idx := -1
		for i, w := range wants {
			if !used[i] && eqStrp(w.key, r.Key) && eqStrp(w.value, r.Value) && w.valueEnc == r.ValueEncoding &&
				slices.EqualFunc(w.headers, r.Headers, func(a, b jsonHeader) bool {
					return a.Key == b.Key && eqStrp(a.Value, b.Value) && a.ValueEncoding == b.ValueEncoding
				}) {
				idx = i
				break
			}
		}
		if idx < 0 {
			t.Errorf("unexpected record %+v", r)
			continue
		}
		used[idx] = true
		if last, ok := lastInput[r.Partition]; ok && idx < last {
			t.Errorf("partition %d: input line %d came after line %d", r.Partition, idx+1, last+1)
		}
		lastInput[r.Partition] = idx
		if r.Key != nil {
			if p, ok := keyPartition[*r.Key]; ok && p != r.Partition {
				t.Errorf("key %q in partitions %d and %d", *r.Key, p, r.Partition)
			}
			keyPartition[*r.Key] = r.Partition
		}
	}

	// The text format carries the same records.
	text := c.must("", "consume", "--topic", topic, "--from-beginning", "--max-messages", "7", "--timeout-ms", "20000",
		"--print-key", "--print-headers", "--print-partition", "--print-offset", "--key-separator", "|")
	if !strings.Contains(text, "|Offset:0|src:cli,h1:a,h2:b|user-1|login\n") ||
		!strings.Contains(text, "|src:cli,h3:null|null|no key\n") {
		t.Errorf("text output:\n%s", text)
	}
}

func eqStrp(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func TestIntegrationConsumeFromOffset(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)
	c.must("", "topic", "create", topic, "--partitions", "2", "--replication-factor", "1")
	var in strings.Builder
	for i := range 10 {
		fmt.Fprintf(&in, "v%d\n", i)
	}
	c.must(in.String(), "produce", "--topic", topic, "--partition", "1", "--acks", "1", "--compression", "lz4", "--linger", "5ms")

	recs := c.consumeJSON(topic, 4, "--partition", "1", "--offset", "5")
	for i, r := range recs {
		if r.Partition != 1 || r.Offset != int64(5+i) || *r.Value != fmt.Sprintf("v%d", 5+i) || r.Key != nil {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	recs = c.consumeJSON(topic, 1, "--partition", "1", "--offset", "earliest")
	if recs[0].Offset != 0 || *recs[0].Value != "v0" {
		t.Errorf("earliest: %+v", recs[0])
	}

	// Nothing in partition 0, and nothing after the end of partition 1:
	// both wait out --timeout-ms and exit cleanly.
	for _, args := range [][]string{
		{"--partition", "0", "--from-beginning"},
		{"--partition", "1", "--offset", "latest"},
	} {
		out := c.must("", append([]string{"consume", "--topic", topic, "--timeout-ms", "500"}, args...)...)
		if out != "" {
			t.Errorf("consume %v printed %q", args, out)
		}
	}
	c.mustFail(fmt.Sprintf("topic %q has no partition 7 (it has 2)", topic), "consume", "--topic", topic, "--partition", "7")
	c.mustFail(fmt.Sprintf("topic %q does not exist", topic+"-missing"), "consume", "--topic", topic+"-missing")
}

func TestIntegrationConsumeFromTimestamp(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)
	c.must("", "topic", "create", topic, "--partitions", "1", "--replication-factor", "1")

	c.must("old-1\nold-2\n", "produce", "--topic", topic)
	old := c.consumeJSON(topic, 2, "--from-beginning")
	// Wait for the clock to pass the old records' time so the new ones
	// get a later timestamp.
	for time.Now().UnixMilli() <= old[1].Timestamp {
		time.Sleep(time.Millisecond)
	}
	c.must("new-1\nnew-2\n", "produce", "--topic", topic)
	all := c.consumeJSON(topic, 4, "--from-beginning")
	from := all[2].Timestamp
	if from <= old[1].Timestamp {
		t.Fatalf("new record timestamp %d not after old %d", from, old[1].Timestamp)
	}

	for _, ts := range []string{
		strconv.FormatInt(from, 10),
		time.UnixMilli(from).UTC().Format(time.RFC3339Nano),
	} {
		recs := c.consumeJSON(topic, 2, "--from-timestamp", ts)
		if *recs[0].Value != "new-1" || recs[0].Offset != 2 || *recs[1].Value != "new-2" {
			t.Errorf("--from-timestamp %s: %+v", ts, recs)
		}
	}
	// A time after every record starts at the end: nothing to print.
	future := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	if out := c.must("", "consume", "--topic", topic, "--from-timestamp", future, "--timeout-ms", "500"); out != "" {
		t.Errorf("future timestamp printed %q", out)
	}
}

func TestIntegrationProduceUnknownTopic(t *testing.T) {
	c := cli{t, testBroker(t, map[string]string{"auto.create.topics.enable": "false"})}
	topic := uniqueTopic(t)
	_, err := c.run("x\ny\n", "produce", "--topic", topic, "--request-timeout", "10s")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("2 of 2 records failed; the first: line 1: topic %q does not exist", topic)) {
		t.Fatalf("produce to a missing topic: %v", err)
	}
}

func TestIntegrationProduceErrors(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)
	c.must("", "topic", "create", topic, "--partitions", "1", "--replication-factor", "1")
	c.mustFail(fmt.Sprintf("topic %q has no partition 3 (it has 1)", topic), "produce", "--topic", topic, "--partition", "3")

	// A bad line stops the producer; the lines before it are delivered.
	_, err := c.run("k1:v1\nnokey\nk3:v3\n", "produce", "--topic", topic, "--key-separator", ":")
	if err == nil || !strings.Contains(err.Error(), `line 2: no key separator ":" found`) {
		t.Fatalf("produce with a bad line: %v", err)
	}
	recs := c.consumeJSON(topic, 1, "--from-beginning")
	if *recs[0].Key != "k1" || *recs[0].Value != "v1" {
		t.Errorf("got %+v", recs[0])
	}
	if out := c.must("", "consume", "--topic", topic, "--offset", "1", "--partition", "0", "--timeout-ms", "500"); out != "" {
		t.Errorf("records after the bad line were produced: %q", out)
	}
}

// firstWrite is an output that reports its first write.
type firstWrite struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 {
		close(w.written)
	}
	return w.buf.Write(p)
}

// TestIntegrationConsumeInterrupt checks that canceling the command's
// context (what Ctrl-C does in main) ends an open-ended consume cleanly,
// with what it printed flushed.
func TestIntegrationConsumeInterrupt(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)
	c.must("", "topic", "create", topic, "--partitions", "1", "--replication-factor", "1")
	c.must("one\n", "produce", "--topic", topic)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	root := newRootCmd()
	out := &firstWrite{written: make(chan struct{})}
	var errOut bytes.Buffer
	root.SetArgs([]string{"consume", "--topic", topic, "--from-beginning", "--bootstrap-server", c.addr})
	root.SetOut(out)
	root.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	select {
	case <-out.written:
	case err := <-done:
		t.Fatalf("consume ended before printing: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("consume printed nothing within 30s")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("interrupted consume: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("consume did not stop within 30s of cancel")
	}
	if got := out.buf.String(); got != "one\n" {
		t.Errorf("printed %q", got)
	}
	if got := errOut.String(); got != "Processed a total of 1 messages\n" {
		t.Errorf("stderr %q", got)
	}
}

func TestIntegrationLogAppendTime(t *testing.T) {
	c := cli{t, testBroker(t, nil)}
	topic := uniqueTopic(t)
	c.must("", "topic", "create", topic, "--partitions", "1", "--replication-factor", "1",
		"--config", "message.timestamp.type=LogAppendTime")
	before := time.Now().UnixMilli()
	c.must("v\n", "produce", "--topic", topic)
	after := time.Now().UnixMilli()
	r := c.consumeJSON(topic, 1, "--from-beginning")[0]
	if r.TimestampType != "LogAppendTime" || r.Timestamp < before || r.Timestamp > after {
		t.Errorf("timestamp %d (%s), want LogAppendTime in [%d, %d]", r.Timestamp, r.TimestampType, before, after)
	}
	text := c.must("", "consume", "--topic", topic, "--from-beginning", "--max-messages", "1", "--print-timestamp")
	if want := fmt.Sprintf("LogAppendTime:%d\tv\n", r.Timestamp); text != want {
		t.Errorf("text %q, want %q", text, want)
	}
}
