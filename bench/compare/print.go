package main

import (
	"fmt"
	"io"
	"slices"
)

// stats are the medians of one workload on one broker.
type stats struct {
	n                                         int
	rps, mbps, cpuRec, clientRec, other, load float64
	p50, p99, p999, max                       float64
	hasLat                                    bool
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (c *comparison) stats(w workload, name string) (stats, bool) {
	var rps, mbps, cpu, client, other, load, p50, p99, p999, mx []float64
	st := stats{}
	for _, r := range c.runs {
		if r.Workload != w.key || r.Broker != name {
			continue
		}
		st.n++
		rps = append(rps, r.res.RecordsPerSec)
		mbps = append(mbps, r.res.MBPerSec)
		cpu = append(cpu, cpuPerRecord(r.BrokerCPU, r.res.Records))
		client = append(client, cpuPerRecord(r.ClientCPU, r.res.Records))
		other = append(other, r.OtherCPU/r.res.ElapsedSec)
		load = append(load, r.Load1)
		if l := r.res.Latency; l != nil {
			st.hasLat = true
			p50, p99, p999, mx = append(p50, l.P50), append(p99, l.P99), append(p999, l.P999), append(mx, l.Max)
		}
	}
	if st.n == 0 {
		return st, false
	}
	st.rps, st.mbps, st.cpuRec, st.clientRec = median(rps), median(mbps), median(cpu), median(client)
	st.other, st.load = median(other), median(load)
	st.p50, st.p99, st.p999, st.max = median(p50), median(p99), median(p999), median(mx)
	return st, true
}

// print writes the medians as a Markdown table, with the ratios of
// Strata to each kfake.
func (c *comparison) print(w io.Writer) {
	fmt.Fprintf(w, "\nMedians of %d runs per broker (n: runs that succeeded). CPU columns are µs of CPU per record (broker from /proc/<pid>/stat,\n"+
		"client = the strata bench process); \"other\" is the rest of the machine's busy CPUs during the run.\n\n", c.reps)
	fmt.Fprintln(w, "| workload | broker | n | records/s | MB/s | broker CPU µs/rec | client CPU µs/rec | other CPUs busy | load1 | latency ms p50 / p99 / p99.9 / max |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, wl := range c.workloads {
		for _, name := range wl.brokers {
			st, ok := c.stats(wl, name)
			if !ok {
				continue
			}
			lat := ""
			if st.hasLat && wl.mode == "e2e" {
				lat = fmt.Sprintf("%.3f / %.3f / %.3f / %.3f", st.p50, st.p99, st.p999, st.max)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.1f | %.3f | %.3f | %.2f | %.2f | %s |\n",
				wl.title, name, st.n, st.rps, st.mbps, st.cpuRec, st.clientRec, st.other, st.load, lat)
		}
	}
	fmt.Fprintln(w, "\nRatios, Strata / kfake (medians; records/s: higher is better for Strata; CPU/record and latency: lower is better):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | vs | records/s | broker CPU/record | p99 | p99.9 |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: |")
	for _, wl := range c.workloads {
		s, ok := c.stats(wl, "strata")
		if !ok {
			s, ok = c.stats(wl, "strata-fsync")
		}
		if !ok {
			continue
		}
		for _, peer := range []string{"kfake-mem", "kfake-disk", "kfake-sync"} {
			p, ok := c.stats(wl, peer)
			if !ok {
				continue
			}
			p99, p999 := "", ""
			if wl.mode == "e2e" && s.hasLat && p.hasLat {
				p99, p999 = fmt.Sprintf("%.2f", s.p99/p.p99), fmt.Sprintf("%.2f", s.p999/p.p999)
			}
			fmt.Fprintf(w, "| %s | %s | %.2f | %.2f | %s | %s |\n", wl.key, peer, s.rps/p.rps, s.cpuRec/p.cpuRec, p99, p999)
		}
	}
	// fsync-before-ack against the same workload without it.
	var plain, synced workload
	for _, wl := range c.workloads {
		switch wl.key {
		case "p1k-8prod":
			plain = wl
		case "p1k-8prod-fsync":
			synced = wl
		}
	}
	if a, ok := c.stats(plain, "strata"); ok {
		if b, ok := c.stats(synced, "strata-fsync"); ok {
			fmt.Fprintf(w, "\nfsync before ack: Strata %.0f records/s (%.1f MB/s) = %.0f%% of its %.0f records/s without; disk dd conv=fdatasync: %s\n",
				b.rps, b.mbps, 100*b.rps/a.rps, a.rps, c.dd)
		}
	}
}
