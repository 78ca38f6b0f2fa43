package main

// consume.go is `strata consume`: kafka-console-consumer.sh. Without
// --group it reads the topic's partitions directly (no group, nothing
// committed); with --group it joins that consumer group and commits what it
// printed.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// startKind says where consuming starts.
type startKind int

const (
	startLatest startKind = iota
	startEarliest
	startExact // at an offset
	startTime  // at the first record with timestamp >= a time
)

// startSpec is a parsed --offset / --from-beginning / --from-timestamp.
type startSpec struct {
	kind startKind
	at   int64 // offset for startExact, Unix milliseconds for startTime
}

func (s startSpec) offset() kgo.Offset {
	switch s.kind {
	case startEarliest:
		return kgo.NewOffset().AtStart()
	case startExact:
		return kgo.NewOffset().At(s.at)
	case startTime:
		return kgo.NewOffset().AfterMilli(s.at)
	}
	return kgo.NewOffset().AtEnd()
}

// parseOffsetFlag reads --offset: "earliest", "latest" or an offset >= 0.
func parseOffsetFlag(s string) (startSpec, error) {
	switch s {
	case "earliest":
		return startSpec{kind: startEarliest}, nil
	case "latest":
		return startSpec{kind: startLatest}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return startSpec{}, fmt.Errorf("--offset %q: want earliest, latest or an offset >= 0", s)
	}
	return startSpec{kind: startExact, at: n}, nil
}

// parseTimestampFlag reads --from-timestamp: Unix milliseconds, or an
// RFC 3339 time such as 2024-05-01T12:00:00Z.
func parseTimestampFlag(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("--from-timestamp %q: want a time at or after the Unix epoch", s)
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("--from-timestamp %q: want Unix milliseconds or an RFC 3339 time like 2024-05-01T12:00:00Z", s)
	}
	return t.UnixMilli(), nil
}

// consumeProperties maps kafka-console-consumer.sh --property names
// (DefaultMessageFormatter's) to our flags.
var consumeProperties = map[string]string{
	"print.timestamp":   "print-timestamp",
	"print.partition":   "print-partition",
	"print.offset":      "print-offset",
	"print.headers":     "print-headers",
	"print.key":         "print-key",
	"print.value":       "print-value",
	"key.separator":     "key-separator",
	"line.separator":    "line-separator",
	"headers.separator": "headers-separator",
	"null.literal":      "null-literal",
}

// parseAssignors reads --assignment-strategy: a comma-separated list of
// assignors in order of preference, by their protocol names (range,
// roundrobin, sticky, cooperative-sticky) or Kafka's class names
// (org.apache.kafka.clients.consumer.RangeAssignor, ...), as Kafka's
// partition.assignment.strategy takes them.
func parseAssignors(s string) ([]kgo.GroupBalancer, error) {
	var out []kgo.GroupBalancer
	var seen []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		short := strings.TrimPrefix(name, "org.apache.kafka.clients.consumer.")
		var b kgo.GroupBalancer
		switch short {
		case "range", "RangeAssignor":
			b = kgo.RangeBalancer()
		case "roundrobin", "RoundRobinAssignor":
			b = kgo.RoundRobinBalancer()
		case "sticky", "StickyAssignor":
			b = kgo.StickyBalancer()
		case "cooperative-sticky", "CooperativeStickyAssignor":
			b = kgo.CooperativeStickyBalancer()
		default:
			return nil, fmt.Errorf("--assignment-strategy %q: want range, roundrobin, sticky or cooperative-sticky (comma-separated, preferred first)", name)
		}
		if slices.Contains(seen, b.ProtocolName()) {
			return nil, fmt.Errorf("--assignment-strategy: %s given twice", b.ProtocolName())
		}
		seen = append(seen, b.ProtocolName())
		out = append(out, b)
	}
	return out, nil
}

// consumeOptions are the consume flags after parsing.
type consumeOptions struct {
	topic       string
	partition   int32 // -1: all partitions
	group       string
	assignors   []kgo.GroupBalancer // with group: in order of preference
	start       startSpec
	maxMessages int
	idle        time.Duration // 0: wait forever
	json        bool
	text        textFormat
}

func newConsumeCmd() *cobra.Command {
	cf := &clientFlags{}
	o := consumeOptions{text: textFormat{printValue: true, sep: "\t", lineSep: "\n", headersSep: ",", nullLiteral: "null"}}
	var (
		offset        string
		fromBeginning bool
		fromTimestamp string
		timeoutMs     int64
		format        string
		props         []string
		assignors     string
	)
	cmd := &cobra.Command{
		Use:   "consume --topic T",
		Short: "Print records of a topic (like kafka-console-consumer.sh)",
		Long: `Print the records of --topic, by default only those produced from now on.

Start: --from-beginning, --offset earliest|latest|N (N needs --partition),
or --from-timestamp MS|RFC3339 (the first record at or after that time).
Stop: --max-messages N, --timeout-ms MS without a new record, or Ctrl-C; the
count of records printed goes to stderr.

Without --group the partitions are read directly and no offsets are
committed. With --group the command joins that consumer group, starts where
the group left off (the start flags apply only to partitions without a
committed offset) and commits what it printed. The group's members must
share an assignor: --assignment-strategy lists this member's, preferred
first; the default, cooperative-sticky,range, joins groups of Kafka's Java
consumer and of librdkafka with their defaults (the group then uses range).

--format text prints like kafka-console-consumer's default formatter: the
enabled fields (timestamp, partition, offset, headers, key, value, in that
order) separated by --key-separator. --format json prints one object per
line:
  {"topic":"t","partition":0,"offset":5,"timestamp":1714564800000,
   "timestamp_type":"CreateTime","key":"k","value":"v",
   "headers":[{"key":"h","value":"x"}]}
A key, value or header value that is not valid UTF-8 is base64 (standard,
padded) with "key_encoding"/"value_encoding":"base64" next to it; null
stays null.`,
		Example: `  strata consume --topic events --from-beginning --print-key --max-messages 10
  strata consume --topic events --partition 0 --offset 42 --format json --timeout-ms 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if err := applyProperties(fs, props, consumeProperties); err != nil {
				return err
			}
			switch {
			case o.topic == "":
				return errors.New("--topic is required")
			case o.partition < -1:
				return fmt.Errorf("--partition %d: want a partition number", o.partition)
			case o.maxMessages < 0:
				return fmt.Errorf("--max-messages %d: want a count >= 0 (0: no limit)", o.maxMessages)
			case timeoutMs < 0:
				return fmt.Errorf("--timeout-ms %d: want milliseconds >= 0 (0: wait forever)", timeoutMs)
			case format != "text" && format != "json":
				return fmt.Errorf("--format %q: want text or json", format)
			}
			o.idle = time.Duration(timeoutMs) * time.Millisecond
			o.json = format == "json"
			o.text.sep, o.text.lineSep = unescapeSep(o.text.sep), unescapeSep(o.text.lineSep)
			o.text.headersSep = unescapeSep(o.text.headersSep)

			switch {
			case fromBeginning:
				o.start = startSpec{kind: startEarliest}
			case offset != "":
				s, err := parseOffsetFlag(offset)
				if err != nil {
					return err
				}
				if s.kind == startExact && o.partition < 0 {
					return errors.New("--offset N needs --partition: offsets are per partition")
				}
				o.start = s
			case fromTimestamp != "":
				ms, err := parseTimestampFlag(fromTimestamp)
				if err != nil {
					return err
				}
				o.start = startSpec{kind: startTime, at: ms}
			}
			if o.group != "" && (o.partition >= 0 || offset != "") {
				return errors.New("--partition and --offset cannot be used with --group: the group assigns partitions and tracks offsets")
			}
			as, err := parseAssignors(assignors)
			if err != nil {
				return err
			}
			o.assignors = as
			if err := cf.validate(); err != nil {
				return err
			}
			return cf.clusterErr(runConsume(cmd.Context(), cf, &o, cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fs := cmd.Flags()
	cf.register(fs)
	fs.StringVar(&o.topic, "topic", "", "topic to consume (required)")
	fs.Int32Var(&o.partition, "partition", -1, "consume only this partition (-1: all)")
	fs.StringVar(&o.group, "group", "", "consumer group to join and commit to (default: none)")
	fs.StringVar(&assignors, "assignment-strategy", "cooperative-sticky,range",
		"with --group: assignors in order of preference (range, roundrobin, sticky, cooperative-sticky), like partition.assignment.strategy")
	fs.BoolVar(&fromBeginning, "from-beginning", false, "start at the earliest offset")
	fs.StringVar(&offset, "offset", "", "start offset: earliest, latest, or N (with --partition)")
	fs.StringVar(&fromTimestamp, "from-timestamp", "", "start at the first record at or after this time: Unix ms or RFC 3339")
	cmd.MarkFlagsMutuallyExclusive("from-beginning", "offset", "from-timestamp")
	fs.IntVar(&o.maxMessages, "max-messages", 0, "exit after printing this many records (0: no limit)")
	fs.Int64Var(&timeoutMs, "timeout-ms", 0, "exit when no record arrives for this many milliseconds (0: wait forever)")
	fs.StringVar(&format, "format", "text", "output format: text or json")
	fs.BoolVar(&o.text.printKey, "print-key", false, "text: print the key")
	fs.BoolVar(&o.text.printValue, "print-value", true, "text: print the value")
	fs.BoolVar(&o.text.printOffset, "print-offset", false, "text: print the offset as Offset:N")
	fs.BoolVar(&o.text.printPartition, "print-partition", false, "text: print the partition as Partition:N")
	fs.BoolVar(&o.text.printTimestamp, "print-timestamp", false, "text: print the timestamp as CreateTime:MS or LogAppendTime:MS")
	fs.BoolVar(&o.text.printHeaders, "print-headers", false, "text: print headers as k:v,k2:v2 (NO_HEADERS if none)")
	fs.StringVar(&o.text.sep, "key-separator", o.text.sep, "text: separator between printed fields (escapes \\t \\n allowed)")
	fs.StringVar(&o.text.lineSep, "line-separator", o.text.lineSep, "text: written after each record")
	fs.StringVar(&o.text.headersSep, "headers-separator", o.text.headersSep, "text: separator between headers")
	fs.StringVar(&o.text.nullLiteral, "null-literal", o.text.nullLiteral, "text: printed for a null key, value or header value")
	fs.StringArrayVar(&props, "property", nil, "kafka-console-consumer property name=value: "+propertyNames(consumeProperties))
	return cmd
}

// runConsume checks the topic exists (so a typo fails at once instead of
// waiting for a topic that never appears), then prints records until a stop
// condition.
func runConsume(ctx context.Context, cf *clientFlags, o *consumeOptions, out, errOut io.Writer) error {
	if err := checkTopic(ctx, cf, o.topic, o.partition, true); err != nil {
		return err
	}
	if o.group != "" {
		if err := checkGroupSupport(ctx, cf); err != nil {
			return err
		}
	}
	reset := kgo.NewOffset().AtEnd()
	if o.start.kind == startEarliest {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{kgo.ConsumeResetOffset(reset)}
	var joined chan struct{} // closed at the first group assignment
	switch {
	case o.group != "":
		joined = make(chan struct{})
		var once sync.Once
		opts = append(opts,
			kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
				once.Do(func() { close(joined) })
			}),
			kgo.ConsumerGroup(o.group),
			kgo.Balancers(o.assignors...),
			kgo.ConsumeTopics(o.topic),
			kgo.ConsumeStartOffset(o.start.offset()),
			// Commit only what was printed: a poll may return
			// more than --max-messages lets us print.
			kgo.AutoCommitMarks(),
		)
	case o.partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			o.topic: {o.partition: o.start.offset()},
		}))
	default:
		opts = append(opts, kgo.ConsumeTopics(o.topic), kgo.ConsumeStartOffset(o.start.offset()))
	}
	cl, err := cf.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	// Joining a group can take seconds (a rebalance, the broker's initial
	// rebalance delay); that wait is not "no record available", so
	// --timeout-ms gets --request-timeout of grace until the first
	// assignment.
	count, err := consumeLoop(ctx, cl, o, out, errOut, joined, cf.timeout)
	if o.group != "" {
		// The final commit must happen even after Ctrl-C.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cf.timeout)
		if cerr := cl.CommitMarkedOffsets(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("commit offsets of group %q: %w", o.group, cerr)
		}
		cancel()
	}
	fmt.Fprintf(errOut, "Processed a total of %d messages\n", count)
	return err
}

// checkGroupSupport fails early, and plainly, when the cluster has no
// consumer group APIs; otherwise franz-go would keep retrying the join.
func checkGroupSupport(ctx context.Context, cf *clientFlags) error {
	adm, err := cf.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	cctx, cancel := cf.callCtx(ctx)
	defer cancel()
	vs, err := adm.ApiVersions(cctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Err != nil {
			continue
		}
		_, coordinator := v.KeyMaxVersion(kmsg.FindCoordinator.Int16())
		_, classic := v.KeyMaxVersion(kmsg.JoinGroup.Int16())
		_, kip848 := v.KeyMaxVersion(kmsg.ConsumerGroupHeartbeat.Int16())
		if coordinator && (classic || kip848) {
			return nil
		}
	}
	return fmt.Errorf("the cluster at %s does not support consumer groups (no FindCoordinator/JoinGroup API); consume without --group", cf.bootstrap)
}

// consumeLoop prints records until --max-messages, --timeout-ms idle time,
// or ctx ends, and returns how many it printed. Output is flushed after
// every poll so a live tail shows records as they arrive.
func consumeLoop(ctx context.Context, cl *kgo.Client, o *consumeOptions, out, errOut io.Writer, joined <-chan struct{}, joinGrace time.Duration) (int, error) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := newJSONEncoder(w)
	var buf []byte
	count := 0
	// idleUntil is when --timeout-ms runs out; every record moves it.
	idleUntil := time.Now().Add(o.idle)
	if joined != nil {
		idleUntil = idleUntil.Add(joinGrace)
	}
	for o.maxMessages == 0 || count < o.maxMessages {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if o.idle > 0 {
			pctx, cancel = context.WithDeadline(ctx, idleUntil)
			if joined != nil {
				// Cut this poll short at the assignment, so the
				// idle clock can restart from there.
				wait := joined
				go func() {
					select {
					case <-wait:
						cancel()
					case <-pctx.Done():
					}
				}()
			}
		}
		limit := -1
		if o.maxMessages > 0 {
			limit = o.maxMessages - count
		}
		fetches := cl.PollRecords(pctx, limit)
		idleOut := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil || cl.Context().Err() != nil {
			return count, nil // Ctrl-C: a clean stop
		}
		if joined != nil {
			select {
			case <-joined:
				joined = nil
				idleUntil = time.Now().Add(o.idle)
				idleOut = false
			default:
			}
		}
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			var (
				loss    *kgo.ErrDataLoss
				session *kgo.ErrGroupSession
			)
			switch {
			case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			case errors.As(err, &loss):
				// The client has already moved on; say so and go on,
				// as kafka-console-consumer does after a reset.
				fmt.Fprintf(errOut, "warning: %v\n", err)
			case errors.As(err, &session) && kerr.IsRetriable(err):
				// kgo keeps rejoining; a coordinator that is still
				// loading is normal right after a broker starts.
				fmt.Fprintf(errOut, "warning: consumer group %q: %v (retrying)\n", o.group, err)
			case fetchErr != nil:
			case errors.As(err, &session):
				fetchErr = fmt.Errorf("consumer group %q: %w", o.group, err)
			default:
				fetchErr = fmt.Errorf("topic %q partition %d: %w", topic, p, err)
			}
		})
		if fetchErr != nil {
			return count, fetchErr
		}
		n := 0
		var werr error
		fetches.EachRecord(func(r *kgo.Record) {
			if werr != nil {
				return
			}
			if o.json {
				werr = enc.Encode(toJSONRecord(r))
			} else {
				buf = o.text.appendRecord(buf[:0], r)
				_, werr = w.Write(buf)
			}
			if werr == nil {
				n++
				if o.group != "" {
					cl.MarkCommitRecords(r)
				}
			}
		})
		count += n
		if n > 0 {
			idleUntil = time.Now().Add(o.idle)
		}
		if werr != nil {
			return count, fmt.Errorf("writing output: %w", werr)
		}
		if err := w.Flush(); err != nil {
			return count, fmt.Errorf("writing output: %w", err)
		}
		if n == 0 && idleOut {
			return count, nil
		}
	}
	return count, nil
}
