package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// warmupWait bounds how long an e2e run waits for its consumers to receive
// a warm-up record before the clock starts.
const warmupWait = 5 * time.Second

// E2E produces at a fixed rate while consuming the same records, and
// measures each record's latency from send to receipt.
//
// Before the clock starts, warm-up records (stamp 0, not counted) go
// through until every consumer has received one, so that connection
// setup and the first metadata loads are not measured as latency. The
// send time is taken just before the record is handed to the client.
func E2E(ctx context.Context, cfg E2EConfig, progress io.Writer) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pcfg := &cfg.Produce
	parts, err := pcfg.ensureTopic(ctx)
	if err != nil {
		return nil, err
	}
	_, end, err := pcfg.topicOffsets(ctx)
	if err != nil {
		return nil, err
	}
	from := map[int32]int64{}
	end.Each(func(o kadm.ListedOffset) { from[o.Partition] = o.Offset })

	got, acked := &meter{}, &meter{}
	var target atomic.Int64
	target.Store(pcfg.Records)
	cs, err := newConsumers(&pcfg.Common, cfg.Consumers, "", from, got, true, &target)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range cs {
			c.cl.Close()
		}
	}()
	prods := make([]*producer, pcfg.Producers)
	for i := range prods {
		if prods[i], err = newProducer(pcfg, i, acked, true); err != nil {
			return nil, err
		}
		defer prods[i].cl.Close()
	}

	cctx, cancelConsumers := context.WithCancel(ctx)
	defer cancelConsumers()
	var cwg sync.WaitGroup
	for _, c := range cs {
		cwg.Go(func() { c.run(cctx, cancelConsumers) })
	}
	defer cwg.Wait()
	if err := warmUp(ctx, prods[0], cs); err != nil {
		return nil, err
	}

	st, release := newStopper(ctx, pcfg.Duration)
	defer release()
	s := newSampler(got, pcfg.ProgressInterval, progress, "e2e", pcfg.Records, pcfg.Duration)
	s.begin()
	pc := &pacer{start: time.Now(), interval: float64(time.Second) * float64(pcfg.Producers) / pcfg.Rate}
	var pwg sync.WaitGroup
	for i, p := range prods {
		pwg.Go(func() {
			p.produceLoop(ctx, i, len(prods), pcfg.Records, pc, st)
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pcfg.RequestTimeout)
			defer cancel()
			_ = p.cl.Flush(fctx)
		})
	}
	pwg.Wait()
	// Every acknowledged record should reach a consumer; wait for them.
	target.Store(acked.records.Load())
	drained := make(chan struct{})
	go func() { cwg.Wait(); close(drained) }()
	timedOut := false
	if target.Load() > 0 && got.records.Load() < target.Load() {
		select {
		case <-drained:
		case <-ctx.Done():
		case <-time.After(pcfg.RequestTimeout):
			timedOut = true
		}
	}
	cancelConsumers()
	<-drained

	res := &Result{Mode: "e2e", Topic: pcfg.Topic, Partitions: parts, Config: cfg.describe()}
	res.finish(s.end(), acked.errors.Load())
	lat := newHistogram()
	for _, c := range cs {
		lat.merge(c.lat)
	}
	res.Latency = lat.summary("end_to_end")
	res.Curve = lat.curve()
	var errs []error
	for _, p := range prods {
		if err := p.err(); err != nil {
			errs = append(errs, fmt.Errorf("%d records failed; the first: %w", res.Errors, err))
			break
		}
	}
	if timedOut {
		errs = append(errs, fmt.Errorf("received %d of %d acknowledged records within %s", got.records.Load(), target.Load(), pcfg.RequestTimeout))
	}
	if pcfg.Cleanup {
		errs = append(errs, pcfg.deleteTopic(ctx))
	}
	return res, errors.Join(errs...)
}

// warmUp sends unmeasured records (stamp 0), one at a time, until every
// consumer has received at least one or warmupWait passes. A consumer
// whose partitions the partitioner never picked stays cold; its first
// records then carry its connection setup in their latency.
func warmUp(ctx context.Context, p *producer, cs []*consumer) error {
	deadline := time.Now().Add(warmupWait)
	for {
		ready := true
		for _, c := range cs {
			ready = ready && c.warm.Load() > 0
		}
		if ready || time.Now().After(deadline) {
			return nil
		}
		// Outside the pool and its promise: warm-up records are not
		// counted as acknowledged.
		r := &kgo.Record{Topic: p.topic, Value: make([]byte, len(p.payload))}
		wctx, cancel := context.WithDeadline(ctx, deadline)
		err := p.cl.ProduceSync(wctx, r).FirstErr()
		cancel()
		if err != nil {
			return fmt.Errorf("warm-up record: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *E2EConfig) describe() map[string]any {
	d := c.Produce.describe()
	d["consumers"] = c.Consumers
	return d
}
