package crashtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKillDuringProduce kills the broker with SIGKILL at random moments while
// an idempotent acks=all producer and a plain acks=1 producer write to it,
// restarts it on the same data directory each time, and checks every
// acknowledged record. Some rounds kill it a second time while it is
// starting up (recovering), and a last round stops it with SIGTERM.
func TestKillDuringProduce(t *testing.T) {
	rng := seeded(t)
	b := newBroker(t)
	b.start()
	idem := &ledger{topic: "idem", idempotent: true}
	acks1 := &ledger{topic: "acks1"}
	createTopics(t, b.addr, 3, idem, acks1)

	rounds := []crash{sigkill, sigkillTwice, sigkill, sigkillTwice, sigkill, sigterm}
	if testing.Short() {
		rounds = []crash{sigkill, sigkillTwice, sigterm}
	}
	for i, how := range rounds {
		produceAndCrash(t, b, rng, i+1, how, idem, acks1)
		if t.Failed() {
			return // later rounds would repeat the same report
		}
	}
	b.requireNoPanic()
}

// TestKillWhileSegmentsRoll is TestKillDuringProduce with 64 KiB segments,
// so kills land near segment rolls: a new segment whose files exist but
// hold nothing yet, an index not yet written, a roll cut in half.
func TestKillWhileSegmentsRoll(t *testing.T) {
	rng := seeded(t)
	b := newBroker(t, "--override", "log.segment.bytes=65536")
	b.start()
	idem := &ledger{topic: "rolling", idempotent: true}
	acks1 := &ledger{topic: "rolling1"}
	createTopics(t, b.addr, 2, idem, acks1)

	rounds := []crash{sigkill, sigkill, sigkillTwice, sigkill}
	if testing.Short() {
		rounds = rounds[:2]
	}
	for i, how := range rounds {
		produceAndCrash(t, b, rng, i+1, how, idem, acks1)
		if t.Failed() {
			return
		}
	}
	b.requireNoPanic()

	// The test is only worth its name if segments rolled many times.
	segs, _ := filepath.Glob(filepath.Join(b.dataDir, idem.topic+"-0", "*.log"))
	if len(segs) < 3 {
		t.Errorf("%s-0 has %d segment files (%v) after the test; want several with log.segment.bytes=65536", idem.topic, len(segs), segs)
	}
}

// TestKillWithFsyncBeforeAck is TestKillDuringProduce with every append
// fsynced before it is acknowledged (log.flush.interval.messages=1, the
// broker-wide default of flush.messages): group-committed fsyncs on the
// produce path must lose, duplicate or reorder nothing under kill -9 either.
// (A process kill leaves the page cache, so this checks the fsync path's
// correctness, not durability against power loss; storage's unit tests
// check that an acknowledgement waits for its fsync.)
func TestKillWithFsyncBeforeAck(t *testing.T) {
	rng := seeded(t)
	b := newBroker(t, "--override", "log.flush.interval.messages=1")
	b.start()
	idem := &ledger{topic: "synced", idempotent: true}
	acks1 := &ledger{topic: "synced1"}
	createTopics(t, b.addr, 3, idem, acks1)

	rounds := []crash{sigkill, sigkillTwice, sigkill, sigterm}
	if testing.Short() {
		rounds = []crash{sigkill, sigterm}
	}
	for i, how := range rounds {
		produceAndCrash(t, b, rng, i+1, how, idem, acks1)
		if t.Failed() {
			return
		}
	}
	b.requireNoPanic()
	// The clean stop logs the group commit counters: the mode was on.
	b.logMu.Lock()
	logged := strings.Contains(b.log.String(), `msg="group commit"`)
	b.logMu.Unlock()
	if !logged {
		t.Error("the broker logged no group commit at its clean stop: appends were not fsynced before acknowledgement")
	}
}

// crash is how a round ends the broker.
type crash int

const (
	sigkill      crash = iota // kill -9
	sigkillTwice              // kill -9, then kill -9 again while the restart recovers
	sigterm                   // clean shutdown
)

func (c crash) String() string {
	return [...]string{"SIGKILL", "SIGKILL, and SIGKILL again during restart", "SIGTERM"}[c]
}

// produceAndCrash runs one round: start producers, wait until both have an
// acknowledgement, let them run for a seeded random time, end the broker
// as `how` says, restart it, let the producers drain into the new process,
// and verify every ledger.
func produceAndCrash(t *testing.T, b *broker, rng *rand.Rand, round int, how crash, idem, acks1 *ledger) {
	t.Helper()
	// Each round compresses with another codec, so recovery meets every
	// kind of batch it must check without decompressing.
	codec := codecs[round%len(codecs)]
	ps := []*producer{
		// franz-go's default producer: idempotent, acks=all.
		startProducer(t, b.addr, idem, fmt.Sprintf("r%d-idem", round), kgo.ProducerBatchCompression(codec.codec)),
		startProducer(t, b.addr, acks1, fmt.Sprintf("r%d-acks1", round),
			kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(codec.codec)),
	}
	for _, p := range ps {
		select {
		case <-p.firstAck:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: producer %s got no acknowledgement within 30s (%d failed)", round, p.prefix, p.failed.Load())
		}
	}

	// The random moment is the point of the test, so this is a sleep and
	// not a wait on a condition.
	lo, spread := 300*time.Millisecond, 1200*time.Millisecond
	if testing.Short() {
		lo, spread = 150*time.Millisecond, 500*time.Millisecond
	}
	delay := lo + time.Duration(rng.Int64N(int64(spread)))
	time.Sleep(delay)

	switch how {
	case sigterm:
		b.stop(20 * time.Second)
	default:
		b.kill()
	}
	t.Logf("round %d (%s): %v after %v; acknowledged so far: %s %d, %s %d", round, codec.name, how, delay,
		ps[0].prefix, ps[0].acked.Load(), ps[1].prefix, ps[1].acked.Load())
	if how == sigkillTwice {
		// Somewhere in the first 300ms of startup: recovery, or serving
		// the producers' retries.
		b.startAndKill(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
	}

	b.start()
	for _, p := range ps {
		p.finish(t, 20*time.Second)
	}
	for _, led := range []*ledger{idem, acks1} {
		if n := verify(t, b.addr, led); n == 0 {
			t.Errorf("round %d: %s stores no records", round, led.topic)
		}
	}
}

// seeded returns the random source for kill times: STRATA_CRASH_SEED if
// set, else a fresh seed, which is printed if the test fails.
func seeded(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STRATA_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("STRATA_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kill times came from seed %d; replay with STRATA_CRASH_SEED=%d go test -run '^%s$' ./internal/crashtest", seed, seed, t.Name())
		}
	})
	return rand.New(rand.NewPCG(seed, seed))
}

// codecs are the batch codecs the rounds cycle through.
var codecs = []struct {
	name  string
	codec kgo.CompressionCodec
}{
	{"none", kgo.NoCompression()}, {"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()},
	{"zstd", kgo.ZstdCompression()}, {"gzip", kgo.GzipCompression()},
}
