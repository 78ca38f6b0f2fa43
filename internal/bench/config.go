package bench

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Common holds what every run needs: where the cluster is, which topic to
// use (and create), and how to report.
type Common struct {
	Seeds             []string
	Topic             string
	Partitions        int32 // for creating the topic; -1: broker default
	ReplicationFactor int16 // for creating the topic; -1: broker default
	Cleanup           bool  // delete the topic at the end
	RequestTimeout    time.Duration
	ProgressInterval  time.Duration // between samples and progress lines
	// ClientOpts are added to every client a run creates (e.g. a client id).
	ClientOpts []kgo.Opt
}

func (c *Common) validate() error {
	if len(c.Seeds) == 0 {
		return errors.New("no bootstrap servers")
	}
	if c.Topic == "" {
		return errors.New("--topic must not be empty")
	}
	if c.Partitions == 0 || c.Partitions < -1 {
		return fmt.Errorf("--partitions %d: want at least 1", c.Partitions)
	}
	if c.ReplicationFactor == 0 || c.ReplicationFactor < -1 {
		return fmt.Errorf("--replication-factor %d: want at least 1", c.ReplicationFactor)
	}
	if c.RequestTimeout <= 0 {
		return errors.New("--request-timeout must be positive")
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	return nil
}

// KeyMode is how producers key their records.
type KeyMode struct {
	Kind string // "none", "random" or "seq"
	N    int64  // random: keys are drawn from [0, N)
}

// ParseKeyMode parses --keys: none, random:N or seq.
func ParseKeyMode(s string) (KeyMode, error) {
	switch {
	case s == "none" || s == "":
		return KeyMode{Kind: "none"}, nil
	case s == "seq":
		return KeyMode{Kind: "seq"}, nil
	case strings.HasPrefix(s, "random:"):
		n, err := strconv.ParseInt(strings.TrimPrefix(s, "random:"), 10, 64)
		if err != nil || n < 1 {
			return KeyMode{}, fmt.Errorf("--keys %q: want random:N with N >= 1", s)
		}
		return KeyMode{Kind: "random", N: n}, nil
	}
	return KeyMode{}, fmt.Errorf("--keys %q: want none, random:N or seq", s)
}

func (k KeyMode) String() string {
	if k.Kind == "random" {
		return "random:" + strconv.FormatInt(k.N, 10)
	}
	return k.Kind
}

// ProduceConfig is one `strata bench produce` run.
type ProduceConfig struct {
	Common
	Records       int64         // total to produce; 0: until Duration
	Duration      time.Duration // stop after this long; 0: until Records
	Payload       []byte        // the value of every record (fixed)
	Acks          string        // 0, 1, all, -1
	Producers     int           // clients, each with its own connections
	Linger        time.Duration
	BatchMaxBytes int32
	Compression   string // none ("" too), gzip, snappy, lz4, zstd
	Keys          KeyMode
	Rate          float64 // records/s over all producers; 0: as fast as possible
	MaxInflight   int     // produce requests in flight per broker without idempotence
}

// codec is the compression name, "" meaning none.
func (c *ProduceConfig) codec() string { return cmp.Or(c.Compression, "none") }

func (c *ProduceConfig) validate() error {
	if err := c.Common.validate(); err != nil {
		return err
	}
	switch {
	case c.Records < 0:
		return fmt.Errorf("--records %d: want >= 0", c.Records)
	case c.Records == 0 && c.Duration <= 0:
		return errors.New("give --records or --duration")
	case c.Producers < 1:
		return fmt.Errorf("--producers %d: want at least 1", c.Producers)
	case c.Rate < 0:
		return fmt.Errorf("--rate %v: want >= 0", c.Rate)
	case c.BatchMaxBytes < 0:
		return fmt.Errorf("--batch-max-bytes %d: want > 0", c.BatchMaxBytes)
	case c.MaxInflight < 1:
		return fmt.Errorf("--max-inflight %d: want at least 1", c.MaxInflight)
	}
	if _, _, err := ParseAcks(c.Acks); err != nil {
		return err
	}
	_, err := ParseCompression(c.codec())
	return err
}

// ConsumeConfig is one `strata bench consume` run: read the topic from the
// beginning.
type ConsumeConfig struct {
	Common
	Records   int64         // stop after this many; 0: everything in the topic at the start
	Duration  time.Duration // stop after this long; 0: no limit
	Consumers int
	Group     string // consume as members of this group; "": assign partitions directly
}

func (c *ConsumeConfig) validate() error {
	if err := c.Common.validate(); err != nil {
		return err
	}
	if c.Records < 0 {
		return fmt.Errorf("--records %d: want >= 0", c.Records)
	}
	if c.Consumers < 1 {
		return fmt.Errorf("--consumers %d: want at least 1", c.Consumers)
	}
	return nil
}

// E2EConfig is one `strata bench e2e` run: produce at Rate while
// consuming, and measure each record's time from send to receipt.
type E2EConfig struct {
	Produce   ProduceConfig // Rate must be set; Payload at least 8 bytes
	Consumers int
}

func (c *E2EConfig) validate() error {
	if err := c.Produce.validate(); err != nil {
		return err
	}
	if c.Produce.Rate <= 0 {
		return errors.New("e2e needs a fixed --rate")
	}
	if len(c.Produce.Payload) < stampSize {
		return fmt.Errorf("e2e records must be at least %d bytes (a timestamp is embedded)", stampSize)
	}
	if c.Consumers < 1 {
		return fmt.Errorf("--consumers %d: want at least 1", c.Consumers)
	}
	return nil
}

// ParseAcks maps Kafka's acks spellings to franz-go's and says whether
// idempotent writes can stay on (they need acks=all). strata produce uses
// it too, so both commands take the same values.
func ParseAcks(s string) (kgo.Acks, bool, error) {
	switch s {
	case "all", "-1":
		return kgo.AllISRAcks(), true, nil
	case "1":
		return kgo.LeaderAck(), false, nil
	case "0":
		return kgo.NoAck(), false, nil
	}
	return kgo.Acks{}, false, fmt.Errorf("--acks %q: want 0, 1, all or -1", s)
}

// ParseCompression maps a Kafka compression.type (except "producer",
// which only a topic can have) to franz-go's codec.
func ParseCompression(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", s)
}

// MakePayload returns a size-byte value of printable letters, as
// kafka-producer-perf-test does: not all zeros, so compression has
// something realistic to do.
func MakePayload(size int) []byte {
	p := make([]byte, size)
	x := uint32(2463534242)
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = 'A' + byte(x%26)
	}
	return p
}
