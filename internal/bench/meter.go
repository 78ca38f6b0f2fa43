package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// meter counts records and bytes as they complete (acknowledged for a
// producer, received for a consumer). Many goroutines add; one sampler
// reads.
type meter struct {
	records atomic.Int64
	bytes   atomic.Int64
	errors  atomic.Int64
}

func (m *meter) add(records, bytes int64) {
	m.records.Add(records)
	m.bytes.Add(bytes)
}

// Sample is the meter's state at one point of a run.
type Sample struct {
	Elapsed time.Duration `json:"-"`
	Records int64         `json:"records"` // cumulative
	Bytes   int64         `json:"bytes"`   // cumulative
}

// sampler takes a Sample every interval until stopped, and writes a
// progress line for each: rewritten in place with \r on a terminal, one
// line per sample otherwise.
type sampler struct {
	m        *meter
	start    time.Time
	interval time.Duration
	out      io.Writer // nil: no progress lines
	tty      bool
	target   int64         // records expected in total; 0: unknown
	duration time.Duration // run length limit; 0: none
	label    string

	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	samples []Sample
}

func newSampler(m *meter, interval time.Duration, out io.Writer, label string, target int64, duration time.Duration) *sampler {
	return &sampler{m: m, interval: interval, out: out, tty: isTerminal(out), label: label,
		target: target, duration: duration, stop: make(chan struct{}), done: make(chan struct{})}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// begin starts the clock and the sampling goroutine; end stops it.
func (s *sampler) begin() {
	s.start = time.Now()
	s.samples = append(s.samples, Sample{})
	go s.loop()
}

func (s *sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.take(now)
		}
	}
}

func (s *sampler) take(now time.Time) Sample {
	cur := Sample{Elapsed: now.Sub(s.start), Records: s.m.records.Load(), Bytes: s.m.bytes.Load()}
	s.mu.Lock()
	prev := s.samples[len(s.samples)-1]
	s.samples = append(s.samples, cur)
	s.mu.Unlock()
	if s.out != nil {
		s.progress(prev, cur)
	}
	return cur
}

// end takes the final sample and returns every sample of the run.
func (s *sampler) end() []Sample {
	close(s.stop)
	<-s.done
	s.take(time.Now())
	if s.out != nil && s.tty {
		fmt.Fprintln(s.out)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

func (s *sampler) progress(prev, cur Sample) {
	dt := (cur.Elapsed - prev.Elapsed).Seconds()
	if dt <= 0 {
		return
	}
	rps := float64(cur.Records-prev.Records) / dt
	mbps := float64(cur.Bytes-prev.Bytes) / dt / 1e6
	line := fmt.Sprintf("%s %s records (%s/s, %.1f MB/s), elapsed %s", s.label,
		humanCount(float64(cur.Records)), humanCount(rps), mbps, cur.Elapsed.Round(100*time.Millisecond))
	if eta, ok := s.eta(cur); ok {
		line += ", ETA " + eta.Round(time.Second).String()
	}
	if s.tty {
		fmt.Fprintf(s.out, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(s.out, line)
	}
}

// eta estimates the time left from the average rate so far.
func (s *sampler) eta(cur Sample) (time.Duration, bool) {
	var left time.Duration
	ok := false
	if s.target > 0 && cur.Records > 0 {
		rate := float64(cur.Records) / cur.Elapsed.Seconds()
		left = time.Duration(float64(s.target-cur.Records) / rate * float64(time.Second))
		ok = true
	}
	if s.duration > 0 {
		if d := s.duration - cur.Elapsed; !ok || d < left {
			left, ok = d, true
		}
	}
	return max(left, 0), ok
}

// humanCount renders 1234567 as "1.23M".
func humanCount(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
