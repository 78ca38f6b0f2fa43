package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// consumer is one franz-go client counting what it receives. With lat
// set (e2e) it also records each record's latency from the send time
// embedded in its value, and counts warm-up records (stamp 0) apart.
type consumer struct {
	cl     *kgo.Client
	m      *meter
	lat    *histogram
	warm   atomic.Int64  // warm-up records received
	target *atomic.Int64 // stop when m has counted this many; 0: not known yet
	// firstErr is the first fetch error seen (kgo retries them).
	firstErr error
	// first, if set, runs (once, over all consumers) before the first
	// records are counted: a group run starts its clock there.
	first   *sync.Once
	onFirst func()
}

// run polls until the meter reaches the target or ctx is done. done is
// called once when this consumer sees the target reached.
func (c *consumer) run(ctx context.Context, done func()) {
	for ctx.Err() == nil {
		fs := c.cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return
		}
		for _, fe := range fs.Errors() {
			if c.firstErr == nil && !errors.Is(fe.Err, context.Canceled) {
				c.firstErr = fmt.Errorf("fetching %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		for i := range fs {
			for j := range fs[i].Topics {
				t := &fs[i].Topics[j]
				for k := range t.Partitions {
					c.count(t.Partitions[k].Records)
				}
			}
		}
		if t := c.target.Load(); t > 0 && c.m.records.Load() >= t {
			done()
			return
		}
	}
}

// count tallies one partition's records with one atomic add per fetch.
func (c *consumer) count(recs []*kgo.Record) {
	if c.first != nil && len(recs) > 0 {
		c.first.Do(c.onFirst)
	}
	var n, bytes int64
	if c.lat == nil {
		for _, r := range recs {
			bytes += int64(len(r.Key) + len(r.Value))
		}
		c.m.add(int64(len(recs)), bytes)
		return
	}
	now := time.Now().UnixNano()
	for _, r := range recs {
		if len(r.Value) < stampSize {
			continue // not ours
		}
		sent := int64(binary.BigEndian.Uint64(r.Value))
		if sent == 0 {
			c.warm.Add(1)
			continue
		}
		c.lat.record(time.Duration(now - sent))
		n++
		bytes += int64(len(r.Key) + len(r.Value))
	}
	c.m.add(n, bytes)
}

// newConsumers makes n consumers of topic. Without a group each gets
// every n-th partition, starting at the offset in from; with a group they
// join it and start from the beginning where the group has no offsets.
// Consumers left without partitions are not made.
func newConsumers(cfg *Common, n int, group string, from map[int32]int64, m *meter, lat bool, target *atomic.Int64) ([]*consumer, error) {
	var optsFor []([]kgo.Opt)
	if group != "" {
		for range n {
			optsFor = append(optsFor, []kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(cfg.Topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())})
		}
	} else {
		assign := make([]map[int32]kgo.Offset, n)
		for p, off := range from {
			i := int(p) % n
			if assign[i] == nil {
				assign[i] = map[int32]kgo.Offset{}
			}
			assign[i][p] = kgo.NewOffset().At(off)
		}
		for _, a := range assign {
			if a != nil {
				optsFor = append(optsFor, []kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: a})})
			}
		}
	}
	var out []*consumer
	for _, opts := range optsFor {
		cl, err := cfg.newClient(opts...)
		if err != nil {
			for _, c := range out {
				c.cl.Close()
			}
			return nil, err
		}
		c := &consumer{cl: cl, m: m, target: target}
		if lat {
			c.lat = newHistogram()
		}
		out = append(out, c)
	}
	return out, nil
}

// Consume reads the topic from the beginning with cfg.Consumers clients
// until it has every record that was there at the start (or cfg.Records).
func Consume(ctx context.Context, cfg ConsumeConfig, progress io.Writer) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	start, end, err := cfg.topicOffsets(ctx)
	if err != nil {
		return nil, err
	}
	from := map[int32]int64{}
	var available int64
	start.Each(func(o kadm.ListedOffset) {
		from[o.Partition] = o.Offset
		if e, ok := end.Lookup(o.Topic, o.Partition); ok {
			available += e.Offset - o.Offset
		}
	})
	target := cfg.Records
	if target == 0 {
		target = available
	}
	if target == 0 {
		return nil, fmt.Errorf("topic %q is empty: produce to it first", cfg.Topic)
	}
	m := &meter{}
	var tgt atomic.Int64
	tgt.Store(target)
	cs, err := newConsumers(&cfg.Common, cfg.Consumers, cfg.Group, from, m, false, &tgt)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range cs {
			c.cl.Close()
		}
	}()
	st, release := newStopper(ctx, cfg.Duration)
	defer release()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-st.ch:
			cancel()
		case <-rctx.Done():
		}
	}()
	s := newSampler(m, cfg.ProgressInterval, progress, "consume", target, cfg.Duration)
	// With a group, joining it (Kafka delays a new group's first
	// rebalance by group.initial.rebalance.delay.ms, 3 s) is not
	// consuming: the clock starts at the first record, and the time until
	// then is reported apart, as kafka-consumer-perf-test does.
	t0 := time.Now()
	var joined time.Duration
	first := &sync.Once{}
	if cfg.Group != "" {
		for _, c := range cs {
			c.first, c.onFirst = first, func() { joined = time.Since(t0); s.begin() }
		}
	} else {
		first.Do(s.begin)
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { c.run(rctx, cancel) })
	}
	wg.Wait()
	first.Do(s.begin) // nothing arrived: an empty run
	res := &Result{Mode: "consume", Topic: cfg.Topic, Partitions: int32(len(from)), Config: cfg.describe()}
	res.finish(s.end(), 0)
	res.JoinSec = joined.Seconds()
	var errs []error
	if res.Records < target && !st.hit.Load() {
		errs = append(errs, fmt.Errorf("received %d of %d records", res.Records, target))
	}
	if res.Records < target && ctx.Err() == nil && cfg.Duration == 0 {
		for _, c := range cs {
			if c.firstErr != nil {
				errs = append(errs, c.firstErr)
				break
			}
		}
	}
	if cfg.Cleanup {
		errs = append(errs, cfg.deleteTopic(ctx))
	}
	return res, errors.Join(errs...)
}

func (c *ConsumeConfig) describe() map[string]any {
	return map[string]any{"records": c.Records, "duration_s": c.Duration.Seconds(),
		"consumers": c.Consumers, "group": c.Group}
}
