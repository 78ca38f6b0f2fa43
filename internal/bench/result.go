package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is the outcome of one run. Its JSON form is the one line
// `--json` prints; field names are part of the tool's interface.
type Result struct {
	Mode          string         `json:"mode"` // produce, consume or e2e
	Topic         string         `json:"topic"`
	Partitions    int32          `json:"partitions"`
	Records       int64          `json:"records"` // acknowledged (produce) or received (consume, e2e)
	Bytes         int64          `json:"bytes"`   // keys plus values of those records
	Errors        int64          `json:"errors"`  // records that failed
	ElapsedSec    float64        `json:"elapsed_s"`
	JoinSec       float64        `json:"join_s,omitempty"` // consume --group: time to join before the first record (not in elapsed_s)
	RecordsPerSec float64        `json:"records_per_s"`
	MBPerSec      float64        `json:"mb_per_s"` // 10^6 bytes
	Latency       *Latency       `json:"latency,omitempty"`
	Config        map[string]any `json:"config"`

	Samples []Sample     `json:"-"` // throughput over time, for the report
	Curve   []CurvePoint `json:"-"` // latency percentiles, for the report
}

// Latency summarises a latency histogram in milliseconds. Kind says what
// was measured: "ack" (produce: send to acknowledgement) or "end_to_end"
// (e2e: send to receipt by a consumer).
type Latency struct {
	Kind  string  `json:"kind"`
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// CurvePoint is one point of the latency percentile curve.
type CurvePoint struct {
	Percentile float64 // 0..100
	Ms         float64
}

// histogram is an HDR histogram of latencies in microseconds, safe for
// concurrent use (recording is a short critical section).
type histogram struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// maxLatencyUs is the largest latency recorded exactly (1 hour); longer
// ones are clamped to it.
const maxLatencyUs = int64(time.Hour / time.Microsecond)

func newHistogram() *histogram {
	return &histogram{h: hdrhistogram.New(1, maxLatencyUs, 3)}
}

func (h *histogram) record(d time.Duration) {
	us := min(max(int64(d/time.Microsecond), 1), maxLatencyUs)
	h.mu.Lock()
	_ = h.h.RecordValue(us) // in range by construction
	h.mu.Unlock()
}

func (h *histogram) merge(o *histogram) {
	h.mu.Lock()
	o.mu.Lock()
	h.h.Merge(o.h)
	o.mu.Unlock()
	h.mu.Unlock()
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// summary returns nil for an empty histogram.
func (h *histogram) summary(kind string) *Latency {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.h.TotalCount() == 0 {
		return nil
	}
	return &Latency{
		Kind:  kind,
		Count: h.h.TotalCount(),
		Mean:  h.h.Mean() / 1000,
		P50:   usToMs(h.h.ValueAtQuantile(50)),
		P90:   usToMs(h.h.ValueAtQuantile(90)),
		P99:   usToMs(h.h.ValueAtQuantile(99)),
		P999:  usToMs(h.h.ValueAtQuantile(99.9)),
		Max:   usToMs(h.h.Max()),
	}
}

// curvePercentiles are where the report's percentile curve is sampled:
// evenly on the log scale of 1/(1-p) that latency plots use.
var curvePercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96.875, 97.5,
	98.4375, 99, 99.2188, 99.5, 99.6094, 99.75, 99.8047, 99.9, 99.9023, 99.95, 99.9512, 99.975, 99.99,
	99.995, 99.999, 100}

func (h *histogram) curve() []CurvePoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.h.TotalCount() == 0 {
		return nil
	}
	out := make([]CurvePoint, 0, len(curvePercentiles))
	for _, p := range curvePercentiles {
		v := h.h.ValueAtQuantile(p)
		if p == 100 {
			v = h.h.Max()
		}
		out = append(out, CurvePoint{Percentile: p, Ms: usToMs(v)})
	}
	return out
}

// finish fills the derived fields from the samples.
func (r *Result) finish(samples []Sample, errs int64) {
	r.Samples = samples
	last := samples[len(samples)-1]
	r.Records, r.Bytes, r.Errors = last.Records, last.Bytes, errs
	r.ElapsedSec = last.Elapsed.Seconds()
	if r.ElapsedSec > 0 {
		r.RecordsPerSec = float64(r.Records) / r.ElapsedSec
		r.MBPerSec = float64(r.Bytes) / r.ElapsedSec / 1e6
	}
}

// WriteJSON writes r as one line of JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteSummary writes r for a person to read.
func (r *Result) WriteSummary(w io.Writer) {
	parts := "partitions"
	if r.Partitions == 1 {
		parts = "partition"
	}
	fmt.Fprintf(w, "%s %s (%d %s): %d records, %.1f MB in %.2fs\n",
		r.Mode, r.Topic, r.Partitions, parts, r.Records, float64(r.Bytes)/1e6, r.ElapsedSec)
	fmt.Fprintf(w, "  throughput: %.0f records/s, %.2f MB/s\n", r.RecordsPerSec, r.MBPerSec)
	if r.JoinSec > 0 {
		fmt.Fprintf(w, "  joining the group took %.2fs before the first record (not counted above)\n", r.JoinSec)
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "  errors: %d records failed\n", r.Errors)
	}
	if l := r.Latency; l != nil {
		what := "ack latency (send to acknowledgement)"
		if l.Kind == "end_to_end" {
			what = "end-to-end latency (send to receipt)"
		}
		fmt.Fprintf(w, "  %s, ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f, %d samples)\n",
			what, l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean, l.Count)
	}
}
