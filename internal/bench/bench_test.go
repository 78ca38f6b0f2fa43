package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

func TestParseKeyMode(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"none", "none", ""}, {"", "none", ""}, {"seq", "seq", ""}, {"random:10", "random:10", ""},
		{"random:0", "", "random:N"}, {"random:x", "", "random:N"}, {"random", "", "want none"}, {"hash", "", "want none"},
	} {
		k, err := ParseKeyMode(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || k.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, k, err, tc.want)
		}
	}
}

func TestHistogramSummary(t *testing.T) {
	h := newHistogram()
	if h.summary("ack") != nil || h.curve() != nil {
		t.Fatal("an empty histogram has a summary")
	}
	for i := 1; i <= 1000; i++ { // 1..1000 ms
		h.record(time.Duration(i) * time.Millisecond)
	}
	s := h.summary("ack")
	near := func(got, want float64) bool { return got >= want*0.99 && got <= want*1.01 }
	if !near(s.P50, 500) || !near(s.P90, 900) || !near(s.P99, 990) || !near(s.P999, 999) || !near(s.Max, 1000) || s.Count != 1000 {
		t.Errorf("summary %+v", *s)
	}
	c := h.curve()
	for i := 1; i < len(c); i++ {
		if c[i].Ms < c[i-1].Ms || c[i].Percentile <= c[i-1].Percentile {
			t.Fatalf("curve not increasing at %d: %+v", i, c)
		}
	}
	if c[len(c)-1].Percentile != 100 || !near(c[len(c)-1].Ms, 1000) {
		t.Errorf("curve ends at %+v", c[len(c)-1])
	}
}

func TestSamplerETA(t *testing.T) {
	s := &sampler{target: 1000}
	if eta, ok := s.eta(Sample{Elapsed: time.Second, Records: 250}); !ok || eta != 3*time.Second {
		t.Errorf("eta %v %v, want 3s", eta, ok)
	}
	s = &sampler{duration: 10 * time.Second}
	if eta, ok := s.eta(Sample{Elapsed: 4 * time.Second}); !ok || eta != 6*time.Second {
		t.Errorf("eta %v %v, want 6s", eta, ok)
	}
	if _, ok := (&sampler{}).eta(Sample{Elapsed: time.Second, Records: 5}); ok {
		t.Error("eta without a target or duration")
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.1: 2, 3: 5, 7: 10, 12345: 20000} {
		if got := niceCeil(in); got < want*0.9999 || got > want*1.0001 {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestReportWithoutLatency(t *testing.T) {
	r := &Result{Mode: "consume", Topic: "t<x>", Config: map[string]any{"consumers": 1}}
	r.finish([]Sample{{}, {Elapsed: time.Second, Records: 10, Bytes: 100}}, 0)
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if strings.Contains(html, "Latency by percentile") || !strings.Contains(html, "<polyline") {
		t.Errorf("report: latency section without latencies, or no throughput plot")
	}
	if strings.Contains(html, "t<x>") {
		t.Error("topic name not escaped")
	}
}

// TestProducerReusesRecords checks the pool: after the first records are
// acknowledged, the producer hands out the same records again instead of
// new ones.
func TestProducerReusesRecords(t *testing.T) {
	addr := brokertest.Start(t, nil)
	cfg := ProduceConfig{Common: Common{Seeds: []string{addr}, Topic: "reuse", Partitions: 1, ReplicationFactor: 1,
		RequestTimeout: 10 * time.Second}, Records: 1, Payload: MakePayload(10), Acks: "1", Producers: 1, MaxInflight: 1,
		Keys: KeyMode{Kind: "seq"}}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.ensureTopic(t.Context()); err != nil {
		t.Fatal(err)
	}
	p, err := newProducer(&cfg, 0, &meter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.cl.Close()
	seen := map[*kgo.Record]bool{}
	ctx := context.Background()
	for round := range 3 {
		for i := range 10 {
			r := p.take(nil)
			if round > 0 && !seen[r] {
				t.Fatalf("round %d: a new record while %d acknowledged ones were free", round, len(seen))
			}
			seen[r] = true
			p.send(ctx, r, int64(round*10+i), 0)
		}
		if err := p.cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p.allocated != 10 || p.m.records.Load() != 30 || p.err() != nil {
		t.Errorf("allocated %d records, %d acknowledged, err %v; want 10, 30, nil", p.allocated, p.m.records.Load(), p.err())
	}
}

func TestConsumeEmptyTopic(t *testing.T) {
	addr := brokertest.Start(t, nil)
	c := Common{Seeds: []string{addr}, Topic: "empty", Partitions: 2, ReplicationFactor: 1, RequestTimeout: 10 * time.Second}
	if _, err := c.ensureTopic(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err := Consume(t.Context(), ConsumeConfig{Common: c, Consumers: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("err = %v, want the topic is empty", err)
	}
}

func TestThroughputPoints(t *testing.T) {
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	// 1000 records/s throughout; the run ends 50 ms after the last tick,
	// having sent 50 more: one point per interval, no spike at the end.
	samples := []Sample{{}, {Elapsed: sec(1), Records: 1000}, {Elapsed: sec(2), Records: 2000}, {Elapsed: sec(2.05), Records: 2050}}
	pts := throughputPoints(samples)
	if len(pts) != 2 || pts[1].x < 2.0499 || pts[1].x > 2.0501 {
		t.Fatalf("points %v, want 2 ending at 2.05 s", pts)
	}
	for _, p := range pts {
		if p.y < 999 || p.y > 1001 {
			t.Errorf("rate %v at %v s, want 1000", p.y, p.x)
		}
	}
}
