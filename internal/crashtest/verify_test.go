package crashtest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stored is one record as read back from the broker.
type stored struct {
	offset int64
	value  string
}

// readAll reads every partition of topic from its log start to its high
// watermark, failing on any fetch error (a torn or corrupt batch served to
// a client shows up here as a CRC or decode error).
func readAll(t *testing.T, addr, topic string) (logs map[int32][]stored, starts, ends map[int32]int64) {
	t.Helper()
	ctx := waitCtx(t, 60*time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	so, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = so.Error()
	}
	if err != nil {
		t.Fatalf("list start offsets of %q: %v", topic, err)
	}
	eo, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = eo.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets of %q: %v", topic, err)
	}
	starts, ends = make(map[int32]int64), make(map[int32]int64)
	assign := make(map[int32]kgo.Offset)
	pending := 0
	for p, o := range so[topic] {
		starts[p] = o.Offset
		ends[p] = eo[topic][p].Offset
		assign[p] = kgo.NewOffset().At(o.Offset)
		if ends[p] > starts[p] {
			pending++
		}
	}

	logs = make(map[int32][]stored)
	consumer, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	for pending > 0 {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %q back: timed out with %d partitions short of their high watermark", topic, pending)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("reading %q back: partition %d: %v", topic, e.Partition, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return // past the high watermark we listed; not under test
			}
			logs[r.Partition] = append(logs[r.Partition], stored{r.Offset, string(r.Value)})
			if r.Offset == ends[r.Partition]-1 {
				pending--
			}
		})
	}
	return logs, starts, ends
}

// verify checks the broker's copy of led.topic against every
// acknowledgement so far and returns the number of records stored.
func verify(t *testing.T, addr string, led *ledger) int {
	t.Helper()
	logs, starts, ends := readAll(t, addr, led.topic)
	errs := &errLimit{t: t, max: 15}

	total := 0
	byOffset := make(map[int32]map[int64]string)
	for p, recs := range logs {
		total += len(recs)
		byOffset[p] = make(map[int64]string, len(recs))
		for i, r := range recs {
			if want := starts[p] + int64(i); r.offset != want {
				errs.add("%s/%d: record %d read at offset %d, want %d: offsets not dense", led.topic, p, i, r.offset, want)
			}
			if err := checkValue(r.value); err != nil {
				errs.add("%s/%d@%d: %v", led.topic, p, r.offset, err)
			}
			byOffset[p][r.offset] = r.value
		}
		if n := int64(len(recs)); n != ends[p]-starts[p] {
			errs.add("%s/%d: read %d records between start %d and high watermark %d", led.topic, p, n, starts[p], ends[p])
		}
	}

	acks := led.snapshot()
	lost := 0
	for _, a := range acks {
		got, ok := byOffset[a.partition][a.offset]
		switch {
		case !ok:
			lost++
			errs.add("acknowledged %s/%d@%d %.24q is missing (partition holds [%d, %d))", led.topic, a.partition, a.offset, a.value, starts[a.partition], ends[a.partition])
		case got != a.value:
			errs.add("acknowledged %s/%d@%d: stored %.24q, want %.24q", led.topic, a.partition, a.offset, got, a.value)
		}
	}

	// Duplicates and order: value prefix-seq is unique per record sent.
	seen := make(map[string]string)
	dups := 0
	for p, recs := range logs {
		last := make(map[string]int) // prefix -> last seq in this partition
		for _, r := range recs {
			where := fmt.Sprintf("%d@%d", p, r.offset)
			if first, ok := seen[r.value]; ok {
				dups++
				if led.idempotent {
					errs.add("%s: %.24q stored twice, at %s and %s (idempotent producer)", led.topic, r.value, first, where)
				}
				continue
			}
			seen[r.value] = where
			prefix, seq := splitValue(r.value)
			if prev, ok := last[prefix]; ok && seq <= prev && led.idempotent {
				errs.add("%s/%d@%d: %s seq %d after seq %d: reordered", led.topic, p, r.offset, prefix, seq, prev)
			}
			last[prefix] = seq
		}
	}
	if dups > 0 && !led.idempotent {
		t.Logf("%s: %d records stored twice (allowed: non-idempotent producer retried after a crash)", led.topic, dups)
	}
	t.Logf("%s: %d acknowledged, %d stored, %d lost", led.topic, len(acks), total, lost)
	return total
}

// checkValue validates a value written by producer.run, catching records
// whose bytes were damaged but passed the CRC (or were never checked).
func checkValue(v string) error {
	parts := strings.SplitN(v, "-", 4) // r<round>, <name>, <seq>, padding
	if len(parts) != 4 {
		return fmt.Errorf("value %.40q is not one the producers wrote", v)
	}
	seq, err := strconv.Atoi(parts[2])
	if err != nil || len(parts[2]) != 9 {
		return fmt.Errorf("value %.40q has a bad sequence", v)
	}
	if parts[3] != strings.Repeat("x", seq%97) {
		return fmt.Errorf("value %.40q has damaged padding", v)
	}
	return nil
}

func splitValue(v string) (prefix string, seq int) {
	parts := strings.SplitN(v, "-", 4)
	if len(parts) < 3 {
		return v, -1
	}
	seq, _ = strconv.Atoi(parts[2])
	return parts[0] + "-" + parts[1], seq
}

// errLimit reports the first max errors in full and counts the rest.
type errLimit struct {
	t   *testing.T
	max int
	n   int
}

func (e *errLimit) add(format string, args ...any) {
	e.t.Helper()
	e.n++
	if e.n <= e.max {
		e.t.Errorf(format, args...)
	} else if e.n == e.max+1 {
		e.t.Errorf("(more errors not shown)")
	}
}
