package crashtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCompactionSurvivesKill produces keyed overwrites to a compacted topic
// with tiny segments while the log cleaner runs every 10 ms, so kills land
// in the middle of cleaning passes (rewrites, swaps, checkpoints), and
// after each kill -9 and restart checks what a consumer reading from the
// beginning sees: offsets increasing, every value one a producer wrote and
// none twice, and for every key a record at or after its last
// acknowledged write (an acknowledged last value is never compacted away
// or lost). At the end the cleaner must have removed records.
func TestCompactionSurvivesKill(t *testing.T) {
	b := newBroker(t, "--override", "log.cleaner.backoff.ms=10")
	b.start()
	led := &ledger{topic: "compacted", idempotent: true}
	createCompacted(t, b.addr, led.topic)
	rng := seeded(t)
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		p := startProducer(t, b.addr, led, fmt.Sprintf("r%d-cmp", round), kgo.ProducerBatchCompression(codecs[round%len(codecs)].codec))
		select {
		case <-p.firstAck:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: no acknowledgement within 30s", round)
		}
		// The random moment is the point of the test: a sleep, not a wait.
		delay := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))
		time.Sleep(delay)
		b.kill()
		t.Logf("round %d: SIGKILL after %v, %d acknowledged", round, delay, p.acked.Load())
		b.start()
		p.finish(t, 20*time.Second)
		verifyCompacted(t, b.addr, led)
	}
	logs := b.logTail(1 << 20)
	t.Logf("recoveries of interrupted cleaning passes: %d .cleaned files removed, %d swaps completed",
		strings.Count(logs, "file of an interrupted cleaning pass"), strings.Count(logs, "completed the swap"))
	// The cleaner did its job on what is there now: wait until it has
	// removed records (polling: there is no event to wait on).
	deadline := time.Now().Add(60 * time.Second)
	for {
		stored := verifyCompacted(t, b.addr, led)
		if stored < len(led.snapshot()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records stored of %d acknowledged: nothing was compacted", stored, len(led.snapshot()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.requireNoPanic()
}

func createCompacted(t *testing.T, addr, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(waitCtx(t, 30*time.Second), 2, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr("8192"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
	}, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %q: %v", topic, err)
	}
}

// verifyCompacted checks the compacted topic against the acknowledgements
// (see TestCompactionSurvivesKill) and returns how many records it holds.
// A record's key is its producer's sequence number mod 64 (startProducer).
func verifyCompacted(t *testing.T, addr string, led *ledger) int {
	t.Helper()
	logs, _, _ := readAll(t, addr, led.topic)
	errs := &errLimit{t: t, max: 15}
	type pk struct {
		partition int32
		key       int
	}
	keyOf := func(v string) int {
		_, seq := splitValue(v)
		return seq % 64
	}
	lastStored := map[pk]int64{}
	seen := map[string]bool{}
	total := 0
	for p, recs := range logs {
		total += len(recs)
		prev := int64(-1)
		for _, r := range recs {
			if r.offset <= prev {
				errs.add("%s/%d: offset %d after %d", led.topic, p, r.offset, prev)
			}
			prev = r.offset
			if err := checkValue(r.value); err != nil {
				errs.add("%s/%d@%d: %v", led.topic, p, r.offset, err)
				continue
			}
			if seen[r.value] {
				errs.add("%s/%d@%d: %.24q stored twice", led.topic, p, r.offset, r.value)
			}
			seen[r.value] = true
			lastStored[pk{p, keyOf(r.value)}] = r.offset
		}
	}
	lastAcked := map[pk]ack{}
	for _, a := range led.snapshot() {
		k := pk{a.partition, keyOf(a.value)}
		if cur, ok := lastAcked[k]; !ok || a.offset > cur.offset {
			lastAcked[k] = a
		}
	}
	byOffset := map[int32]map[int64]string{}
	for p, recs := range logs {
		byOffset[p] = map[int64]string{}
		for _, r := range recs {
			byOffset[p][r.offset] = r.value
		}
	}
	for k, a := range lastAcked {
		got, ok := lastStored[k]
		switch {
		case !ok || got < a.offset:
			errs.add("%s/%d key %d: last acknowledged write at %d (%.24q) is gone; the key's last stored record is at %d (present %v)", led.topic, k.partition, k.key, a.offset, a.value, got, ok)
		case got == a.offset && byOffset[k.partition][got] != a.value:
			errs.add("%s/%d@%d: stored %.24q, acknowledged %.24q", led.topic, k.partition, got, byOffset[k.partition][got], a.value)
		}
	}
	return total
}
