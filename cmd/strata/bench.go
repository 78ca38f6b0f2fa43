package main

// bench.go is `strata bench produce|consume|e2e`: the cobra side of the
// load generator in internal/bench. It is a plain Kafka client and works
// against any broker. Progress goes to stderr; the summary to stdout, or
// with --json one JSON line to stdout and the summary to stderr, so
// scripts can read stdout alone.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/strata-io/strata/internal/bench"
)

// benchFlags are the flags every bench subcommand takes.
type benchFlags struct {
	cf       clientFlags
	topic    string
	parts    int32
	rf       int16
	cleanup  bool
	json     bool
	report   string
	interval time.Duration
	quiet    bool
}

func (bf *benchFlags) register(fs *pflag.FlagSet) {
	bf.cf.register(fs)
	fs.StringVar(&bf.topic, "topic", "strata-bench", "topic to use; created if missing")
	fs.Int32Var(&bf.parts, "partitions", 1, "partitions of the topic when it is created (-1: broker default)")
	fs.Int16Var(&bf.rf, "replication-factor", -1, "replication factor of the topic when it is created (-1: broker default)")
	fs.BoolVar(&bf.cleanup, "cleanup", false, "delete the topic at the end")
	fs.BoolVar(&bf.json, "json", false, "print the result as one JSON line on stdout (the summary goes to stderr)")
	fs.StringVar(&bf.report, "report", "", "write a self-contained HTML report to this file")
	fs.DurationVar(&bf.interval, "progress-interval", time.Second, "time between throughput samples and progress lines")
	fs.BoolVar(&bf.quiet, "quiet", false, "no progress lines")
}

func (bf *benchFlags) common() (bench.Common, error) {
	if err := bf.cf.validate(); err != nil {
		return bench.Common{}, err
	}
	seeds, _ := bf.cf.seeds()
	if bf.interval <= 0 {
		return bench.Common{}, errors.New("--progress-interval must be positive")
	}
	return bench.Common{Seeds: seeds, Topic: bf.topic, Partitions: bf.parts, ReplicationFactor: bf.rf,
		Cleanup: bf.cleanup, RequestTimeout: bf.cf.timeout, ProgressInterval: bf.interval}, nil
}

func (bf *benchFlags) progress(cmd *cobra.Command) io.Writer {
	if bf.quiet {
		return nil
	}
	return cmd.ErrOrStderr()
}

// emit prints res as the flags ask and writes the report; runErr (the
// run's own failure) wins over an output error.
func (bf *benchFlags) emit(cmd *cobra.Command, res *bench.Result, runErr error) error {
	if res == nil {
		return bf.cf.clusterErr(runErr)
	}
	var errs []error
	if bf.json {
		res.WriteSummary(cmd.ErrOrStderr())
		errs = append(errs, res.WriteJSON(cmd.OutOrStdout()))
	} else {
		res.WriteSummary(cmd.OutOrStdout())
	}
	if bf.report != "" {
		errs = append(errs, writeReport(bf.report, res))
	}
	if runErr != nil {
		return bf.cf.clusterErr(runErr)
	}
	return errors.Join(errs...)
}

func writeReport(path string, res *bench.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	if err := res.WriteHTML(f); err != nil {
		f.Close()
		return fmt.Errorf("--report: %w", err)
	}
	return f.Close()
}

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a Kafka cluster: produce, consume and end-to-end latency",
		Long: `Load generators in the spirit of kafka-producer-perf-test and
kafka-consumer-perf-test. They are Kafka clients (franz-go) and work against
any Kafka-compatible broker, so the same run can compare two brokers.`,
	}
	cmd.AddCommand(newBenchProduceCmd(), newBenchConsumeCmd(), newBenchE2ECmd())
	return cmd
}

// produceFlags are the producer settings shared by produce and e2e.
type produceFlags struct {
	records     int64
	recordSize  int
	payloadFile string
	acks        string
	producers   int
	linger      msDuration
	batchMax    int32
	compression string
	keys        string
	rate        float64
	duration    time.Duration
	maxInflight int
}

func (pf *produceFlags) register(fs *pflag.FlagSet, defRecords int64, defRate float64, defDuration time.Duration) {
	fs.Int64Var(&pf.records, "records", defRecords, "records to send (0: until --duration)")
	fs.IntVar(&pf.recordSize, "record-size", 100, "value size in bytes")
	fs.StringVar(&pf.payloadFile, "payload-file", "", "use this file's bytes as every record's value (instead of --record-size)")
	fs.StringVar(&pf.acks, "acks", "all", "acknowledgements to wait for: 0, 1, all (or -1)")
	fs.IntVar(&pf.producers, "producers", 1, "producer clients, each with its own connections")
	fs.Var(&pf.linger, "linger", "how long to wait to fill a batch: milliseconds or a duration like 5ms")
	fs.Int32Var(&pf.batchMax, "batch-max-bytes", 0, "largest batch per partition (0: the client's default, ~1 MB)")
	fs.StringVar(&pf.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4, zstd")
	fs.StringVar(&pf.keys, "keys", "none", "record keys: none, random:N (drawn from N distinct keys) or seq")
	fs.Float64Var(&pf.rate, "rate", defRate, "records per second over all producers (0: as fast as possible)")
	fs.DurationVar(&pf.duration, "duration", defDuration, "stop after this long (0: when --records are sent)")
	fs.IntVar(&pf.maxInflight, "max-inflight", 5, "produce requests in flight per connection when acks is not all (the Java client's default)")
}

func (pf *produceFlags) config(c bench.Common) (bench.ProduceConfig, error) {
	keys, err := bench.ParseKeyMode(pf.keys)
	if err != nil {
		return bench.ProduceConfig{}, err
	}
	var payload []byte
	switch {
	case pf.payloadFile != "":
		if payload, err = os.ReadFile(pf.payloadFile); err != nil {
			return bench.ProduceConfig{}, fmt.Errorf("--payload-file: %w", err)
		}
	case pf.recordSize < 0:
		return bench.ProduceConfig{}, fmt.Errorf("--record-size %d: want >= 0", pf.recordSize)
	default:
		payload = bench.MakePayload(pf.recordSize)
	}
	return bench.ProduceConfig{Common: c, Records: pf.records, Duration: pf.duration, Payload: payload,
		Acks: pf.acks, Producers: pf.producers, Linger: time.Duration(pf.linger), BatchMaxBytes: pf.batchMax,
		Compression: pf.compression, Keys: keys, Rate: pf.rate, MaxInflight: pf.maxInflight}, nil
}

func newBenchProduceCmd() *cobra.Command {
	bf := &benchFlags{}
	pf := &produceFlags{}
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce records as fast as possible (or at --rate) and report the throughput",
		Example: `  strata bench produce --records 5000000 --record-size 100 --acks 1 --partitions 8
  strata bench produce --duration 30s --record-size 1024 --producers 4 --json --report produce.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := bf.common()
			if err != nil {
				return err
			}
			cfg, err := pf.config(c)
			if err != nil {
				return err
			}
			res, err := bench.Produce(cmd.Context(), cfg, bf.progress(cmd))
			return bf.emit(cmd, res, err)
		},
	}
	bf.register(cmd.Flags())
	pf.register(cmd.Flags(), 1_000_000, 0, 0)
	return cmd
}

func newBenchConsumeCmd() *cobra.Command {
	bf := &benchFlags{}
	var (
		records   int64
		consumers int
		group     string
		duration  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read the topic from the beginning and report the throughput",
		Long: `Read --topic from the beginning until every record that was in it at the
start has arrived (or --records of them). Without --group each consumer is
assigned every N-th partition directly; with --group they join that group.`,
		Example: `  strata bench produce --records 5000000 --topic t && strata bench consume --topic t`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := bf.common()
			if err != nil {
				return err
			}
			cfg := bench.ConsumeConfig{Common: c, Records: records, Duration: duration, Consumers: consumers, Group: group}
			res, err := bench.Consume(cmd.Context(), cfg, bf.progress(cmd))
			return bf.emit(cmd, res, err)
		},
	}
	bf.register(cmd.Flags())
	fs := cmd.Flags()
	fs.Int64Var(&records, "records", 0, "records to read (0: all that are in the topic at the start)")
	fs.IntVar(&consumers, "consumers", 1, "consumer clients")
	fs.StringVar(&group, "group", "", "consume as members of this consumer group")
	fs.DurationVar(&duration, "duration", 0, "stop after this long (0: no limit)")
	return cmd
}

func newBenchE2ECmd() *cobra.Command {
	bf := &benchFlags{}
	pf := &produceFlags{}
	var consumers int
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Produce at a fixed rate while consuming, and report end-to-end latency",
		Long: `Produce at --rate while consuming the same topic. Every record carries its
send time; the consumer records receipt minus send time in an HDR histogram
(p50, p90, p99, p99.9, max). Runs for --duration or until --records arrived.`,
		Example: `  strata bench e2e --rate 20000 --duration 30s --record-size 100 --report e2e.html`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := bf.common()
			if err != nil {
				return err
			}
			pcfg, err := pf.config(c)
			if err != nil {
				return err
			}
			res, err := bench.E2E(cmd.Context(), bench.E2EConfig{Produce: pcfg, Consumers: consumers}, bf.progress(cmd))
			return bf.emit(cmd, res, err)
		},
	}
	bf.register(cmd.Flags())
	pf.register(cmd.Flags(), 0, 10_000, 10*time.Second)
	cmd.Flags().IntVar(&consumers, "consumers", 1, "consumer clients")
	return cmd
}
