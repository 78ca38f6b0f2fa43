package main

// group_integration_test.go drives `strata group …` and `strata consume
// --group` against a real broker (brokertest, or STRATA_TEST_BOOTSTRAP),
// with franz-go group members where a test needs live ones.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// groupBroker is testBroker for group tests: an in-process broker that
// starts rebalances at once (group.initial.rebalance.delay.ms=0) so a
// lone consumer is not held up 3 s, or the external cluster as it is.
func groupBroker(t *testing.T) string {
	t.Helper()
	if addr := os.Getenv(externalBootstrapEnv); addr != "" {
		return addr
	}
	return brokertest.Start(t, map[string]string{"group.initial.rebalance.delay.ms": "0"})
}

// table runs a group command and returns its stdout rows split into
// fields, without the header line, and its stderr.
func (c cli) table(args ...string) ([][]string, string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Minute)
	defer cancel()
	out, errOut, err := runCLI(ctx, "", append(args, "--bootstrap-server", c.addr)...)
	if err != nil {
		return nil, errOut, err
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var rows [][]string
	for i, l := range lines {
		if i == 0 || l == "" {
			continue
		}
		rows = append(rows, strings.Fields(l))
	}
	return rows, errOut, nil
}

// offsetsOf reads `group describe G` into "topic/partition" → the row's
// fields GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
// CONSUMER-ID HOST CLIENT-ID.
func (c cli) offsetsOf(group string) (map[string][]string, error) {
	rows, _, err := c.table("group", "describe", group)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string)
	for _, r := range rows {
		if len(r) != 9 || r[0] != group {
			return nil, fmt.Errorf("describe row %q: want 9 fields starting with the group", r)
		}
		out[r[1]+"/"+r[2]] = r
	}
	return out, nil
}

// produceSpread writes n records "v0".. to every partition of topic in
// turn (n per partition), with strata produce --partition.
func (c cli) produceSpread(topic string, partitions, n int) {
	c.t.Helper()
	for p := range partitions {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "p%d-v%d\n", p, i)
		}
		c.must(b.String(), "produce", "--topic", topic, "--partition", strconv.Itoa(p))
	}
}

// TestIntegrationGroupConsumeResumes: consume --group commits what it
// printed; describe shows the commits and the lag; a second run of the
// same group prints exactly the rest.
func TestIntegrationGroupConsumeResumes(t *testing.T) {
	c := cli{t, groupBroker(t)}
	topic, group := uniqueTopic(t), uniqueTopic(t)+"-g"
	c.must("", "topic", "create", topic, "--partitions", "3")
	c.produceSpread(topic, 3, 10)

	first := c.must("", "consume", "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "12", "--timeout-ms", "20000")
	got := strings.Fields(first)
	if len(got) != 12 {
		t.Fatalf("first run printed %d records, want 12: %q", len(got), got)
	}
	offs, err := c.offsetsOf(group)
	if err != nil {
		t.Fatal(err)
	}
	var committed, lag int64
	for p := range 3 {
		r, ok := offs[fmt.Sprintf("%s/%d", topic, p)]
		if !ok {
			lag += 10 // nothing read or committed there
			continue
		}
		cur, _ := strconv.ParseInt(r[3], 10, 64)
		l, _ := strconv.ParseInt(r[5], 10, 64)
		if r[4] != "10" || cur+l != 10 || r[6] != "-" {
			t.Errorf("partition %d row %q: want log end 10, current+lag = 10, no consumer", p, r)
		}
		committed += cur
		lag += l
	}
	if committed != 12 || lag != 18 {
		t.Errorf("describe: committed %d in total with lag %d, want 12 and 18: %v", committed, lag, offs)
	}

	// --from-beginning only applies where nothing is committed.
	second := c.must("", "consume", "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "18", "--timeout-ms", "20000")
	got = append(got, strings.Fields(second)...)
	slices.Sort(got)
	var want []string
	for p := range 3 {
		for i := range 10 {
			want = append(want, fmt.Sprintf("p%d-v%d", p, i))
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the two runs together printed %q, want each record once: %q", got, want)
	}
	offs, err = c.offsetsOf(group)
	if err != nil {
		t.Fatal(err)
	}
	for p := range 3 {
		if r := offs[fmt.Sprintf("%s/%d", topic, p)]; r == nil || r[3] != "10" || r[5] != "0" {
			t.Errorf("after reading everything, partition %d row %q: want current 10, lag 0", p, r)
		}
	}
}

// startMember starts a franz-go group consumer (kgo's defaults, then
// extra) running until the test ends.
func startMember(t *testing.T, addr, group, topic string, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	assigned := make(chan struct{})
	var once sync.Once
	opts := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ClientID("cli-test-member"),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			once.Do(func() { close(assigned) })
		}),
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		cl.Close()
	})
	select {
	case <-assigned:
	case <-time.After(30 * time.Second):
		t.Fatal("the group member got no assignment within 30s")
	}
	return cl
}

// TestIntegrationGroupDescribeLiveMember: the three describe views, list
// --state, and the refusals (delete, reset --execute) while a member is in
// the group.
func TestIntegrationGroupDescribeLiveMember(t *testing.T) {
	c := cli{t, groupBroker(t)}
	topic, group := uniqueTopic(t), uniqueTopic(t)+"-g"
	c.must("", "topic", "create", topic, "--partitions", "3")
	c.produceSpread(topic, 3, 4)
	startMember(t, c.addr, group, topic)

	eventually(t, "describe --members shows the member with all 3 partitions", func() error {
		rows, _, err := c.table("group", "describe", group, "--members")
		if err != nil {
			return err
		}
		want := topic + "(0,1,2)"
		if len(rows) != 1 || len(rows[0]) != 6 || rows[0][3] != "cli-test-member" || rows[0][4] != "3" || rows[0][5] != want {
			return fmt.Errorf("rows %q, want one member cli-test-member with 3 partitions %s", rows, want)
		}
		return nil
	})
	eventually(t, "describe --state shows Stable with 1 member", func() error {
		rows, _, err := c.table("group", "describe", group, "--state")
		if err != nil {
			return err
		}
		// GROUP HOST:PORT (ID) STRATEGY STATE #MEMBERS
		if len(rows) != 1 || len(rows[0]) != 6 || rows[0][0] != group || rows[0][4] != "Stable" || rows[0][5] != "1" || rows[0][3] == "-" {
			return fmt.Errorf("rows %q", rows)
		}
		return nil
	})
	offs, err := c.offsetsOf(group)
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 3 {
		t.Errorf("describe shows %d partitions, want 3: %v", len(offs), offs)
	}
	for p := range 3 {
		r := offs[fmt.Sprintf("%s/%d", topic, p)]
		// The member started at the end (kgo's default), so it may
		// or may not have committed yet; the log end is 4 either way.
		if r == nil || r[4] != "4" || r[6] == "-" || r[8] != "cli-test-member" {
			t.Errorf("partition %d row %q: want log end 4 and the member", p, r)
		}
	}
	rows, _, err := c.table("group", "list", "--state")
	if err != nil || !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, []string{group, "Stable"}) }) {
		t.Errorf("group list --state: %q, %v; want a row %s Stable", rows, err, group)
	}
	rows, _, err = c.table("group", "list", "--state", "Empty")
	if err != nil || slices.ContainsFunc(rows, func(r []string) bool { return r[0] == group }) {
		t.Errorf("group list --state Empty: %q, %v; want %s left out", rows, err, group)
	}

	c.mustFail("it has active members", "group", "delete", group)
	c.mustFail("current state is Stable", "group", "reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
	// A dry run is fine while the group is active.
	c.must("", "group", "reset-offsets", "--group", group, "--topic", topic, "--to-earliest")
}

// TestIntegrationGroupResetOffsets: every target, dry run by default, and
// a consumer of the group starting where the reset put it.
func TestIntegrationGroupResetOffsets(t *testing.T) {
	c := cli{t, groupBroker(t)}
	topic, group := uniqueTopic(t), uniqueTopic(t)+"-g"
	c.must("", "topic", "create", topic, "--partitions", "2")
	c.produceSpread(topic, 2, 10)
	c.must("", "consume", "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "20", "--timeout-ms", "20000")

	current := func() [2]string {
		t.Helper()
		offs, err := c.offsetsOf(group)
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{offs[topic+"/0"][3], offs[topic+"/1"][3]}
	}
	if got := current(); got != [2]string{"10", "10"} {
		t.Fatalf("after reading everything: current offsets %v, want 10 10", got)
	}

	plan := func(args ...string) [][]string {
		t.Helper()
		rows, _, err := c.table(append([]string{"group", "reset-offsets", "--group", group}, args...)...)
		if err != nil {
			t.Fatalf("reset-offsets %q: %v", args, err)
		}
		return rows
	}
	rows := plan("--topic", topic, "--to-earliest")
	want := [][]string{{group, topic, "0", "0"}, {group, topic, "1", "0"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("dry-run plan %q, want %q", rows, want)
	}
	if got := current(); got != [2]string{"10", "10"} {
		t.Errorf("a dry run changed the offsets to %v", got)
	}

	for _, step := range []struct {
		args []string
		want [2]string
	}{
		{[]string{"--topic", topic + ":1", "--to-offset", "4"}, [2]string{"10", "4"}},
		{[]string{"--all-topics", "--shift-by", "-3"}, [2]string{"7", "1"}},
		{[]string{"--all-topics", "--shift-by", "-5"}, [2]string{"2", "0"}},      // clamped at the log start
		{[]string{"--topic", topic, "--to-offset", "99"}, [2]string{"10", "10"}}, // clamped at the log end
		{[]string{"--topic", topic, "--to-earliest"}, [2]string{"0", "0"}},
		{[]string{"--topic", topic + ":0", "--to-latest"}, [2]string{"10", "0"}},
		// Every record is newer than 2020 and older than 2100.
		{[]string{"--topic", topic + ":0", "--to-datetime", "2020-01-01T00:00:00.000Z"}, [2]string{"0", "0"}},
		{[]string{"--topic", topic + ":1", "--to-datetime", "2100-01-01T00:00:00.000Z"}, [2]string{"0", "10"}},
		{[]string{"--topic", topic + ":1", "--to-offset", "6"}, [2]string{"0", "6"}},
	} {
		plan(append(step.args, "--execute")...)
		if got := current(); got != step.want {
			t.Fatalf("after reset-offsets %q: current offsets %v, want %v", step.args, got, step.want)
		}
	}

	// The group resumes where the reset put it: 10 from p0, 4 from p1.
	out := c.must("", "consume", "--topic", topic, "--group", group, "--max-messages", "14", "--timeout-ms", "20000", "--print-partition")
	var p1 []string
	n := 0
	for l := range strings.Lines(out) {
		n++
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Partition:1\t"); ok {
			p1 = append(p1, v)
		}
	}
	if n != 14 || !slices.Equal(p1, []string{"p1-v6", "p1-v7", "p1-v8", "p1-v9"}) {
		t.Errorf("after the reset the group read %d records, partition 1: %q; want 14 with p1-v6..9", n, p1)
	}

	c.mustFail("no committed offset there", "group", "reset-offsets", "--group", group+"-new", "--topic", topic, "--shift-by", "1")
	c.mustFail("has no committed offsets", "group", "reset-offsets", "--group", group+"-new", "--all-topics", "--to-earliest")
	c.mustFail(`topic "`+topic+`-missing" does not exist`, "group", "reset-offsets", "--group", group, "--topic", topic+"-missing", "--to-earliest")
	c.mustFail("has no partition 7", "group", "reset-offsets", "--group", group, "--topic", topic+":7", "--to-earliest")
	// Offsets can be set for a group that does not exist yet, as in Kafka.
	plan("--topic", topic+":0", "--to-offset", "3", "--execute")
	offs, err := c.offsetsOf(group)
	if err != nil || offs[topic+"/0"][3] != "3" {
		t.Errorf("offsets of a new group after reset --execute: %v, %v", offs, err)
	}
}

// TestIntegrationGroupListDelete: list, delete, and errors for groups that
// do not exist.
func TestIntegrationGroupListDelete(t *testing.T) {
	c := cli{t, groupBroker(t)}
	topic := uniqueTopic(t)
	a, b := topic+"-ga", topic+"-gb"
	c.must("", "topic", "create", topic, "--partitions", "1")
	c.must("x\ny\n", "produce", "--topic", topic)
	for _, g := range []string{a, b} {
		c.must("", "consume", "--topic", topic, "--group", g, "--from-beginning", "--max-messages", "2", "--timeout-ms", "20000")
	}
	eventually(t, "list shows both groups", func() error {
		names := strings.Fields(c.must("", "group", "list"))
		if !slices.Contains(names, a) || !slices.Contains(names, b) || !slices.IsSorted(names) {
			return fmt.Errorf("list = %q, want %s and %s, sorted", names, a, b)
		}
		return nil
	})
	rows, _, err := c.table("group", "list", "--state=empty")
	if err != nil || !slices.ContainsFunc(rows, func(r []string) bool { return slices.Equal(r, []string{a, "Empty"}) }) {
		t.Errorf("list --state=empty: %q, %v", rows, err)
	}
	if out := c.must("", "group", "delete", a); out != "Deleted consumer group "+a+".\n" {
		t.Errorf("delete printed %q", out)
	}
	names := strings.Fields(c.must("", "group", "list"))
	if slices.Contains(names, a) || !slices.Contains(names, b) {
		t.Errorf("after deleting %s, list = %q", a, names)
	}
	c.mustFail(fmt.Sprintf("consumer group %q does not exist", a), "group", "describe", a)
	c.mustFail(fmt.Sprintf("consumer group %q does not exist", a), "group", "delete", a)
	// Deleting a group deletes its offsets: a new member starts over.
	out := c.must("", "consume", "--topic", topic, "--group", a, "--from-beginning", "--max-messages", "2", "--timeout-ms", "20000")
	if out != "x\ny\n" {
		t.Errorf("a recreated group read %q, want both records again", out)
	}
}

// TestIntegrationGroupConsumeJoinsEagerGroup: consume --group joins a group
// whose member only speaks range (as Kafka's Java consumer and librdkafka
// can by default), because its default --assignment-strategy offers range
// after cooperative-sticky; with only cooperative-sticky it is refused.
func TestIntegrationGroupConsumeJoinsEagerGroup(t *testing.T) {
	c := cli{t, groupBroker(t)}
	topic, group := uniqueTopic(t), uniqueTopic(t)+"-g"
	c.must("", "topic", "create", topic, "--partitions", "4")
	c.produceSpread(topic, 4, 3)
	// The member commits nothing, so the CLI reads its share from 0.
	startMember(t, c.addr, group, topic, kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit())
	c.mustFail("INCONSISTENT_GROUP_PROTOCOL", "consume", "--topic", topic, "--group", group,
		"--assignment-strategy", "cooperative-sticky", "--timeout-ms", "5000")
	// range gives the second member 2 of the 4 partitions: 6 records.
	out := c.must("", "consume", "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "6", "--timeout-ms", "20000")
	if n := len(strings.Fields(out)); n != 6 {
		t.Errorf("consume --group beside a range-only member printed %d records, want 6: %q", n, out)
	}
	eventually(t, "the group is Stable on range", func() error {
		rows, _, err := c.table("group", "describe", group, "--state")
		if err != nil {
			return err
		}
		if len(rows) != 1 || len(rows[0]) != 6 || rows[0][3] != "range" || rows[0][4] != "Stable" {
			return fmt.Errorf("describe --state: %q", rows)
		}
		return nil
	})
}

// TestIntegrationGroupDescribeKIP848: a group on Kafka 4's consumer
// protocol (franz-go's ServerSideBalancer) is not a classic group, so
// DescribeGroups does not know it; describe falls back to
// ConsumerGroupDescribe, and reset --execute still sees it is active.
func TestIntegrationGroupDescribeKIP848(t *testing.T) {
	c := cli{t, groupBroker(t)}
	topic, group := uniqueTopic(t), uniqueTopic(t)+"-g"
	c.must("", "topic", "create", topic, "--partitions", "3")
	c.produceSpread(topic, 3, 2)
	startMember(t, c.addr, group, topic, kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer())

	eventually(t, "describe --state shows the KIP-848 group Stable on the range assignor", func() error {
		rows, _, err := c.table("group", "describe", group, "--state")
		if err != nil {
			return err
		}
		if len(rows) != 1 || len(rows[0]) != 6 || rows[0][3] != "range" || rows[0][4] != "Stable" || rows[0][5] != "1" {
			return fmt.Errorf("rows %q", rows)
		}
		return nil
	})
	eventually(t, "describe --members shows the member with all 3 partitions", func() error {
		rows, _, err := c.table("group", "describe", group, "--members")
		if err != nil {
			return err
		}
		if len(rows) != 1 || len(rows[0]) != 6 || rows[0][3] != "cli-test-member" || rows[0][5] != topic+"(0,1,2)" {
			return fmt.Errorf("rows %q", rows)
		}
		return nil
	})
	offs, err := c.offsetsOf(group)
	if err != nil || len(offs) != 3 {
		t.Fatalf("describe: %v, %v; want 3 partition rows", offs, err)
	}
	for p := range 3 {
		if r := offs[fmt.Sprintf("%s/%d", topic, p)]; r == nil || r[4] != "2" || r[8] != "cli-test-member" {
			t.Errorf("partition %d row %q: want log end 2 and the member", p, r)
		}
	}
	c.mustFail("current state is Stable", "group", "reset-offsets", "--group", group, "--all-topics", "--to-earliest", "--execute")
}
