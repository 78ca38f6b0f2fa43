package main

// produce.go is `strata produce`: kafka-console-producer.sh. Each stdin line
// becomes one record; with --parse-key / --parse-headers a line is split
// the way Kafka's LineMessageReader splits it:
//
//	[headers <headers-delimiter>] [key <key-separator>] value
//	headers = k1<headers-key-separator>v1<headers-separator>k2...
//
// Records are produced asynchronously and flushed on EOF (or Ctrl-C);
// nothing is printed unless something fails.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/bench"
)

// lineReader splits one input line into a record, as Kafka's
// LineMessageReader does with parse.key, key.separator, parse.headers,
// headers.delimiter, headers.separator, headers.key.separator and
// null.marker.
type lineReader struct {
	parseKey     bool
	keySep       string
	parseHeaders bool
	headersDelim string // ends the headers section
	headersSep   string // between two headers
	headerKeySep string // between a header's key and value
	nullMarker   string // a key, value or header value equal to this is null; "" disables
}

func defaultLineReader() lineReader {
	return lineReader{keySep: "\t", headersDelim: "\t", headersSep: ",", headerKeySep: ":"}
}

// validate rejects separator combinations that make lines ambiguous; Kafka
// refuses the same ones.
func (lr *lineReader) validate() error {
	if lr.parseKey && lr.keySep == "" {
		return errors.New("--key-separator must not be empty")
	}
	if lr.parseHeaders {
		switch {
		case lr.headersDelim == "":
			return errors.New("--headers-delimiter must not be empty")
		case lr.headersSep == "":
			return errors.New("--headers-separator must not be empty")
		case lr.headerKeySep == "":
			return errors.New("--headers-key-separator must not be empty")
		case lr.headersSep == lr.headerKeySep:
			return errors.New("--headers-separator and --headers-key-separator must differ")
		case lr.parseKey && lr.headersDelim == lr.keySep:
			return errors.New("--headers-delimiter and --key-separator must differ")
		}
	}
	if lr.nullMarker != "" {
		for _, s := range []struct {
			on        bool
			sep, flag string
		}{
			{lr.parseKey, lr.keySep, "--key-separator"},
			{lr.parseHeaders, lr.headersDelim, "--headers-delimiter"},
			{lr.parseHeaders, lr.headersSep, "--headers-separator"},
			{lr.parseHeaders, lr.headerKeySep, "--headers-key-separator"},
		} {
			if s.on && s.sep == lr.nullMarker {
				return fmt.Errorf("--null-marker must differ from %s", s.flag)
			}
		}
	}
	return nil
}

// parse turns line number n (1-based, for messages) into a record with
// fixed headers first, then any parsed from the line.
func (lr *lineReader) parse(n int, line string, fixed []kgo.RecordHeader) (*kgo.Record, error) {
	r := &kgo.Record{}
	if len(fixed) > 0 {
		r.Headers = append(make([]kgo.RecordHeader, 0, len(fixed)), fixed...)
	}
	rest := line
	if lr.parseHeaders {
		hs, after, ok := strings.Cut(rest, lr.headersDelim)
		if !ok {
			return nil, fmt.Errorf("line %d: no headers delimiter %q found", n, lr.headersDelim)
		}
		rest = after
		if hs != "" && hs != lr.nullMarker {
			for pair := range strings.SplitSeq(hs, lr.headersSep) {
				k, v, ok := strings.Cut(pair, lr.headerKeySep)
				if !ok {
					return nil, fmt.Errorf("line %d: header %q has no key separator %q", n, pair, lr.headerKeySep)
				}
				if lr.nullMarker != "" && k == lr.nullMarker {
					return nil, fmt.Errorf("line %d: a header key may not be the null marker", n)
				}
				r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: lr.bytes(v)})
			}
		}
	}
	if lr.parseKey {
		k, after, ok := strings.Cut(rest, lr.keySep)
		if !ok {
			return nil, fmt.Errorf("line %d: no key separator %q found", n, lr.keySep)
		}
		r.Key = lr.bytes(k)
		rest = after
	}
	r.Value = lr.bytes(rest)
	return r, nil
}

// bytes returns s as record bytes, or nil when s is the null marker. An
// empty s is an empty (not null) key or value, as in Kafka.
func (lr *lineReader) bytes(s string) []byte {
	if lr.nullMarker != "" && s == lr.nullMarker {
		return nil
	}
	return []byte(s)
}

// parseHeaderFlags turns repeated --header k=v into record headers, in
// order; a key may repeat, as Kafka headers may.
func parseHeaderFlags(hs []string) ([]kgo.RecordHeader, error) {
	out := make([]kgo.RecordHeader, 0, len(hs))
	for _, h := range hs {
		k, v, err := splitKV("--header", h)
		if err != nil {
			return nil, err
		}
		out = append(out, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return out, nil
}

// produceProperties maps kafka-console-producer.sh --property names to our
// flags.
var produceProperties = map[string]string{
	"parse.key":             "parse-key",
	"key.separator":         "key-separator",
	"parse.headers":         "parse-headers",
	"headers.delimiter":     "headers-delimiter",
	"headers.separator":     "headers-separator",
	"headers.key.separator": "headers-key-separator",
	"null.marker":           "null-marker",
}

func newProduceCmd() *cobra.Command {
	cf := &clientFlags{}
	lr := defaultLineReader()
	var (
		topic       string
		partition   int32
		acks        string
		compression string
		linger      msDuration
		headers     []string
		props       []string
	)
	cmd := &cobra.Command{
		Use:   "produce --topic T",
		Short: "Produce stdin lines as records (like kafka-console-producer.sh)",
		Long: `Read stdin and produce one record per line to --topic, flushing at EOF.

Without --parse-key the whole line is the value and the key is null. With
--parse-key (implied by --key-separator) a line is "key<SEP>value", split
at the first separator. With --parse-headers (implied by any --headers-*
flag) a line starts with headers: "k1:v1,k2:v2<TAB>key<TAB>value".
Separators may be written with \t, \n, \r and \\ escapes. --header k=v adds
a header to every record, before any parsed from the line.

Without --partition, records with a key go to murmur2(key) % partitions,
the same partition a Java client picks; records without a key are spread
in sticky batches. Nothing is printed on success; if any record fails the
command says why and exits 1.`,
		Example: `  printf 'user1\tlogin\nuser2\tlogout\n' | strata produce --topic events --key-separator '\t'
  echo 'trace=abc,src=web;k1|v1' | strata produce --topic t --parse-headers \
      --headers-delimiter ';' --headers-key-separator '=' --key-separator '|'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fs := cmd.Flags()
			if err := applyProperties(fs, props, produceProperties); err != nil {
				return err
			}
			if topic == "" {
				return errors.New("--topic is required")
			}
			if partition < -1 {
				return fmt.Errorf("--partition %d: want a partition number (or -1 to let the partitioner choose)", partition)
			}
			if !fs.Changed("parse-key") && fs.Changed("key-separator") {
				lr.parseKey = true
			}
			if !fs.Changed("parse-headers") &&
				(fs.Changed("headers-delimiter") || fs.Changed("headers-separator") || fs.Changed("headers-key-separator")) {
				lr.parseHeaders = true
			}
			lr.keySep, lr.headersDelim = unescapeSep(lr.keySep), unescapeSep(lr.headersDelim)
			lr.headersSep, lr.headerKeySep = unescapeSep(lr.headersSep), unescapeSep(lr.headerKeySep)
			if err := lr.validate(); err != nil {
				return err
			}
			fixed, err := parseHeaderFlags(headers)
			if err != nil {
				return err
			}
			ack, idempotent, err := bench.ParseAcks(acks)
			if err != nil {
				return err
			}
			codec, err := bench.ParseCompression(compression)
			if err != nil {
				return err
			}
			if err := cf.validate(); err != nil {
				return err
			}
			opts := []kgo.Opt{
				kgo.DefaultProduceTopic(topic),
				kgo.RequiredAcks(ack),
				kgo.ProducerBatchCompression(codec),
				kgo.ProducerLinger(time.Duration(linger)),
				kgo.RecordDeliveryTimeout(cf.timeout),
				// As the Java producer does by default: a broker with
				// auto.create.topics.enable creates the topic.
				kgo.AllowAutoTopicCreation(),
				// NB: kgo gives up on an unknown topic after a few
				// metadata refreshes. With the default 5s minimum
				// between refreshes a mistyped topic sometimes took the
				// whole --request-timeout to fail; a short-lived CLI
				// can afford faster refreshes, and then fails in ~1s.
				kgo.MetadataMinAge(250 * time.Millisecond),
			}
			if !idempotent {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			if partition >= 0 {
				opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
			}
			if partition >= 0 {
				// Without this, kgo's answer to a partition past the
				// end is a terse "invalid record partitioning choice".
				// A missing topic is left to the producer, which may
				// have the broker create it.
				if err := checkTopic(cmd.Context(), cf, topic, partition, false); err != nil {
					return cf.clusterErr(err)
				}
			}
			cl, err := cf.newClient(opts...)
			if err != nil {
				return err
			}
			defer cl.Close()
			p := &producer{cl: cl, topic: topic, partition: partition, lr: &lr, fixed: fixed}
			return cf.clusterErr(p.run(cmd.Context(), cmd.InOrStdin()))
		},
	}
	fs := cmd.Flags()
	cf.register(fs)
	fs.StringVar(&topic, "topic", "", "topic to produce to (required)")
	fs.Int32Var(&partition, "partition", -1, "produce every record to this partition (-1: key hash / sticky)")
	fs.StringVar(&acks, "acks", "all", "acknowledgements to wait for: 0, 1, all (or -1)")
	fs.StringVar(&compression, "compression", "none", "batch compression: none, gzip, snappy, lz4, zstd")
	fs.Var(&linger, "linger", "how long to wait to fill a batch: milliseconds or a duration like 5ms")
	fs.StringArrayVar(&headers, "header", nil, "header key=value added to every record (repeatable)")
	fs.BoolVar(&lr.parseKey, "parse-key", false, "split each line into key and value at --key-separator")
	fs.StringVar(&lr.keySep, "key-separator", lr.keySep, "separator between key and value (implies --parse-key)")
	fs.BoolVar(&lr.parseHeaders, "parse-headers", false, "read headers at the start of each line, up to --headers-delimiter")
	fs.StringVar(&lr.headersDelim, "headers-delimiter", lr.headersDelim, "separator between the headers and the rest of the line")
	fs.StringVar(&lr.headersSep, "headers-separator", lr.headersSep, "separator between two headers")
	fs.StringVar(&lr.headerKeySep, "headers-key-separator", lr.headerKeySep, "separator between a header's key and value")
	fs.StringVar(&lr.nullMarker, "null-marker", "", "a key, value or header value equal to this is sent as null (e.g. for tombstones)")
	fs.StringArrayVar(&props, "property", nil, "kafka-console-producer property name=value: "+propertyNames(produceProperties))
	return cmd
}

// producer feeds stdin lines to a kgo client and tallies failures. The
// counters are written by kgo's promise goroutine and read after Flush.
type producer struct {
	cl        *kgo.Client
	topic     string
	partition int32
	lr        *lineReader
	fixed     []kgo.RecordHeader

	mu struct {
		sync.Mutex
		failed   int
		firstErr error
	}
}

type inputLine struct {
	n    int
	text string
	err  error
}

// readLines sends stdin's lines (without "\n" or "\r\n") until EOF, an
// error, or done closing. A final line without a newline still counts.
//
// NB: a Read blocked on a terminal cannot be interrupted, so after Ctrl-C
// this goroutine may stay parked in Read until the process exits; it holds
// nothing that needs releasing.
func readLines(r io.Reader, out chan<- inputLine, done <-chan struct{}) {
	defer close(out)
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		s, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || s == "") {
			if err != io.EOF {
				select {
				case out <- inputLine{n: n, err: fmt.Errorf("reading stdin: %w", err)}:
				case <-done:
				}
			}
			return
		}
		s = strings.TrimSuffix(s, "\n")
		s = strings.TrimSuffix(s, "\r")
		select {
		case out <- inputLine{n: n, text: s}:
		case <-done:
			return
		}
	}
}

// run produces every line of in, then flushes. It stops early on a line
// that cannot be parsed (as Kafka's console producer does) or when ctx is
// canceled, still delivering what was read before.
func (p *producer) run(ctx context.Context, in io.Reader) error {
	lines := make(chan inputLine, 64)
	done := make(chan struct{})
	defer close(done)
	go readLines(in, lines, done)

	// Records outlive Ctrl-C: what has been read is still delivered (or
	// fails after --request-timeout), like the Java producer's close().
	recCtx := context.WithoutCancel(ctx)
	sent := 0
	var stopErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			if l.err != nil {
				stopErr = l.err
				break loop
			}
			r, err := p.lr.parse(l.n, l.text, p.fixed)
			if err != nil {
				stopErr = err
				break loop
			}
			r.Topic = p.topic
			if p.partition >= 0 {
				r.Partition = p.partition
			}
			sent++
			n := l.n
			p.cl.Produce(recCtx, r, func(r *kgo.Record, err error) {
				if err != nil {
					p.recordFailure(n, r, err)
				}
			})
		}
	}
	if err := p.cl.Flush(recCtx); err != nil {
		return err
	}
	p.mu.Lock()
	failed, firstErr := p.mu.failed, p.mu.firstErr
	p.mu.Unlock()
	switch {
	case failed == 1 && sent == 1:
		return errors.Join(firstErr, stopErr)
	case failed > 0:
		err := fmt.Errorf("%d of %d records failed; the first: %w", failed, sent, firstErr)
		return errors.Join(err, stopErr)
	}
	return stopErr
}

func (p *producer) recordFailure(line int, r *kgo.Record, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.failed++
	if p.mu.firstErr != nil {
		return
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		// A missing --partition of an existing topic was caught before
		// producing, so this is the topic itself.
		err = fmt.Errorf("topic %q does not exist (%w)", p.topic, err)
	}
	p.mu.firstErr = fmt.Errorf("line %d: %w", line, err)
}
