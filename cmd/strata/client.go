package main

// client.go holds what every client-side command (topic, produce, consume)
// shares: the --bootstrap-server and --request-timeout flags, the franz-go
// client built from them, and the translation of client failures into
// plain one-line messages.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	defaultBootstrap = "127.0.0.1:9092"
	bootstrapEnv     = "STRATA_BOOTSTRAP_SERVER"
	cliClientID      = "strata-cli"
)

// clientFlags are the connection settings of one client-side command.
type clientFlags struct {
	bootstrap string        // comma-separated host:port list
	timeout   time.Duration // bound on each admin call and on a record's delivery
}

func (cf *clientFlags) register(fs *pflag.FlagSet) {
	def := os.Getenv(bootstrapEnv)
	if def == "" {
		def = defaultBootstrap
	}
	fs.StringVar(&cf.bootstrap, "bootstrap-server", def,
		"comma-separated host:port list of brokers to bootstrap from (env "+bootstrapEnv+")")
	fs.DurationVar(&cf.timeout, "request-timeout", 30*time.Second,
		"how long to wait for the cluster to answer an admin request or acknowledge a record")
}

// seeds splits and checks the bootstrap list, so that a typo is reported
// before any connection attempt.
func (cf *clientFlags) seeds() ([]string, error) {
	return parseBootstrap(cf.bootstrap)
}

func parseBootstrap(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		host, port, err := net.SplitHostPort(part)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("--bootstrap-server: %q is not host:port", part)
		}
		out = append(out, part)
	}
	if len(out) == 0 {
		return nil, errors.New("--bootstrap-server: no broker address given")
	}
	return out, nil
}

func (cf *clientFlags) validate() error {
	if _, err := cf.seeds(); err != nil {
		return err
	}
	if cf.timeout <= 0 {
		return errors.New("--request-timeout must be positive")
	}
	return nil
}

// newClient returns a franz-go client for the bootstrap servers plus opts.
// kgo.NewClient only fails on bad options; it does not connect.
func (cf *clientFlags) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	seeds, err := cf.seeds()
	if err != nil {
		return nil, err
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(cliClientID),
		// NB: without a bound, kgo retries an unreachable seed for the
		// whole RetryTimeout; a CLI should say "cannot connect" sooner.
		kgo.DialTimeout(min(cf.timeout, 10*time.Second)),
		kgo.RetryTimeout(cf.timeout),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("client setup: %w", err)
	}
	return cl, nil
}

// newAdmin returns an admin client whose broker-side timeouts match
// --request-timeout. The caller closes it.
func (cf *clientFlags) newAdmin() (*kadm.Client, error) {
	cl, err := cf.newClient()
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(cf.timeout.Milliseconds()))
	return adm, nil
}

// callCtx bounds one admin round trip by --request-timeout.
func (cf *clientFlags) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cf.timeout)
}

// clusterErr rewrites a failure to talk to the cluster at all (as opposed
// to a per-topic Kafka error) into a message that names the address.
func (cf *clientFlags) clusterErr(err error) error {
	if err == nil {
		return nil
	}
	var netErr *net.OpError
	switch {
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer from the cluster at %s within %s (is a broker running there?)", cf.bootstrap, cf.timeout)
	case errors.As(err, &netErr) && netErr.Op == "dial":
		return fmt.Errorf("cannot connect to %s: %v", cf.bootstrap, netErr.Err)
	case errors.As(err, &netErr):
		return fmt.Errorf("lost the connection to the cluster at %s: %v", cf.bootstrap, err)
	case isUnsupported(err):
		return fmt.Errorf("the cluster at %s does not support this request (%v)", cf.bootstrap, err)
	}
	return err
}

// isUnsupported reports a request the broker does not implement: kgo
// refuses it before sending when ApiVersions does not list it ("broker is
// too old", an unexported error), and a broker answers UNSUPPORTED_VERSION.
func isUnsupported(err error) bool {
	return errors.Is(err, kerr.UnsupportedVersion) || strings.Contains(err.Error(), "broker is too old")
}

// kafkaErr formats a Kafka error code plus the broker's optional message,
// e.g. "INVALID_PARTITIONS: Number of partitions is invalid. (broker: must be
// at least 1)". The code name stays in the text because it is what people
// search for.
func kafkaErr(err error, brokerMsg string) string {
	s := err.Error()
	if brokerMsg != "" && !strings.Contains(s, brokerMsg) {
		s += " (broker: " + brokerMsg + ")"
	}
	return s
}

// checkTopic fails early, with a plain message, when the topic does not
// exist (if mustExist) or has no such partition (if partition >= 0), so a
// typo is reported at once instead of after the client's retries.
func checkTopic(ctx context.Context, cf *clientFlags, topic string, partition int32, mustExist bool) error {
	adm, err := cf.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	cctx, cancel := cf.callCtx(ctx)
	defer cancel()
	md, err := adm.Metadata(cctx, topic)
	if err != nil {
		return err
	}
	td, ok := md.Topics[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		if mustExist {
			return fmt.Errorf("topic %q does not exist", topic)
		}
		return nil
	}
	if td.Err != nil && len(td.Partitions) == 0 {
		return topicErr("use", topic, td.Err, "")
	}
	if partition >= 0 {
		if _, ok := td.Partitions[partition]; !ok {
			return fmt.Errorf("topic %q has no partition %d (it has %d)", topic, partition, len(td.Partitions))
		}
	}
	return nil
}
