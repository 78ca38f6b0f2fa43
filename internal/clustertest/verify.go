package clustertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stored is one record as a consumer read it back.
type stored struct {
	offset int64
	value  string
}

// Verify reads every partition of led's topic from its log start to its
// high watermark and checks the invariant of DESIGN §5 against the
// ledger: every acknowledged record is there exactly once, at the offset
// it was acknowledged with; per producer and partition, records are in
// the order they were sent; offsets are dense; and nothing was read that
// no producer sent. It returns the number of records read.
func (c *Cluster) Verify(led *Ledger) int {
	t := c.t
	t.Helper()
	acks := led.Acks()
	logs, starts, ends := c.readAll(led.Topic, acks)
	errs := &errLimit{t: t, max: 20}

	total := 0
	byOffset := make(map[int32]map[int64]string)
	for p, recs := range logs {
		total += len(recs)
		byOffset[p] = make(map[int64]string, len(recs))
		for i, r := range recs {
			if want := starts[p] + int64(i); r.offset != want {
				errs.add("%s/%d: record %d read at offset %d, want %d: offsets not dense", led.Topic, p, i, r.offset, want)
			}
			byOffset[p][r.offset] = r.value
		}
		if n := int64(len(recs)); n != ends[p]-starts[p] {
			errs.add("%s/%d: read %d records between start %d and high watermark %d", led.Topic, p, n, starts[p], ends[p])
		}
	}

	lost := 0
	for _, a := range acks {
		got, ok := byOffset[a.Partition][a.Offset]
		switch {
		case !ok:
			lost++
			errs.add("acknowledged %s/%d@%d %.24q is missing (read [%d, %d))", led.Topic, a.Partition, a.Offset, a.Value, starts[a.Partition], ends[a.Partition])
		case got != a.Value:
			errs.add("acknowledged %s/%d@%d: read %.24q, want %.24q", led.Topic, a.Partition, a.Offset, got, a.Value)
		}
	}

	seen := make(map[string]string) // value -> where it was first read
	for p, recs := range logs {
		last := make(map[string]int) // producer prefix -> last seq read in p
		for _, r := range recs {
			where := fmt.Sprintf("%d@%d", p, r.offset)
			if !led.wasSent(r.value) {
				errs.add("%s/%s: read %.40q, which no producer sent", led.Topic, where, r.value)
				continue
			}
			if first, ok := seen[r.value]; ok {
				if !led.Plain {
					errs.add("%s: %.24q read twice, at %s and %s (idempotent producer)", led.Topic, r.value, first, where)
				}
				continue
			}
			seen[r.value] = where
			prefix, seq := splitValue(r.value)
			if prev, ok := last[prefix]; ok && seq <= prev && !led.Plain {
				errs.add("%s/%s: %s seq %d after seq %d: reordered", led.Topic, where, prefix, seq, prev)
			}
			last[prefix] = seq
		}
	}
	t.Logf("clustertest: %s: %d acknowledged, %d read back, %d lost; produce errors: %v", led.Topic, len(acks), total, lost, led.Errors())
	return total
}

// readAll reads topic from each partition's log start to its high
// watermark. It first waits (up to a minute) until every high watermark
// covers the acknowledged offsets: a new leader's high watermark starts
// at its checkpoint and catches up as followers fetch, so a read right
// after a failover may briefly end below records that are safe. If it
// never does, the read goes ahead and Verify reports what is missing.
func (c *Cluster) readAll(topic string, acks []Ack) (logs map[int32][]stored, starts, ends map[int32]int64) {
	t := c.t
	t.Helper()
	need := make(map[int32]int64) // partition -> 1 + highest acknowledged offset
	for _, a := range acks {
		need[a.Partition] = max(need[a.Partition], a.Offset+1)
	}
	err := c.poll(time.Minute, func(ctx context.Context) error {
		so, err := c.adm.ListStartOffsets(ctx, topic)
		if err == nil {
			err = so.Error()
		}
		if err != nil {
			return fmt.Errorf("list start offsets: %w", err)
		}
		eo, err := c.adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = eo.Error()
		}
		if err != nil {
			return fmt.Errorf("list end offsets: %w", err)
		}
		starts, ends = make(map[int32]int64), make(map[int32]int64)
		for p, o := range so[topic] {
			starts[p] = o.Offset
			ends[p] = eo[topic][p].Offset
		}
		for p, n := range need {
			if ends[p] < n {
				return fmt.Errorf("partition %d: high watermark %d, acknowledged up to %d", p, ends[p], n-1)
			}
		}
		return nil
	})
	if err != nil {
		if starts == nil {
			t.Fatalf("clustertest: reading %q back: %v", topic, err)
		}
		t.Errorf("clustertest: reading %q back: %v", topic, err)
	}

	assign := make(map[int32]kgo.Offset)
	pending := 0
	for p, s := range starts {
		assign[p] = kgo.NewOffset().At(s)
		if ends[p] > s {
			pending++
		}
	}
	logs = make(map[int32][]stored)
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: assign}),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for pending > 0 {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("clustertest: reading %q back: timed out with %d partitions short of their high watermark", topic, pending)
		}
		for _, e := range fs.Errors() {
			if errors.Is(e.Err, context.DeadlineExceeded) || kerr.IsRetriable(e.Err) {
				continue
			}
			t.Fatalf("clustertest: reading %q back: partition %d: %v", topic, e.Partition, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return // past the high watermark listed; not under test
			}
			logs[r.Partition] = append(logs[r.Partition], stored{r.Offset, string(r.Value)})
			if r.Offset == ends[r.Partition]-1 {
				pending--
			}
		})
	}
	return logs, starts, ends
}

func splitValue(v string) (prefix string, seq int) {
	parts := strings.SplitN(v, "-", 3)
	if len(parts) < 2 {
		return v, -1
	}
	seq, _ = strconv.Atoi(parts[1])
	return parts[0], seq
}

// errLimit reports the first max errors in full and counts the rest.
type errLimit struct {
	t   testing.TB
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
