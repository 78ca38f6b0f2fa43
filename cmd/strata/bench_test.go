package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
)

// benchJSON is the part of `strata bench --json` the tests check.
type benchJSON struct {
	Mode          string  `json:"mode"`
	Topic         string  `json:"topic"`
	Partitions    int32   `json:"partitions"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Errors        int64   `json:"errors"`
	ElapsedSec    float64 `json:"elapsed_s"`
	JoinSec       float64 `json:"join_s"`
	RecordsPerSec float64 `json:"records_per_s"`
	MBPerSec      float64 `json:"mb_per_s"`
	Latency       *struct {
		Kind  string  `json:"kind"`
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P90   float64 `json:"p90_ms"`
		P99   float64 `json:"p99_ms"`
		P999  float64 `json:"p99_9_ms"`
		Max   float64 `json:"max_ms"`
	} `json:"latency"`
	Config map[string]any `json:"config"`
}

func runBench(t *testing.T, addr string, args ...string) benchJSON {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args = append([]string{"bench"}, append(args, "--bootstrap-server", addr, "--json", "--progress-interval", "50ms")...)
	out, errOut, err := runCLI(ctx, "", args...)
	if err != nil {
		t.Fatalf("strata %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("--json printed %d lines on stdout, want 1:\n%s", len(lines), out)
	}
	var res benchJSON
	if err := json.Unmarshal([]byte(lines[0]), &res); err != nil {
		t.Fatalf("--json line %q: %v", lines[0], err)
	}
	// Progress lines and the summary go to stderr (not a terminal here:
	// plain lines, no \r).
	if !strings.Contains(errOut, "records/s") || strings.Contains(errOut, "\r") {
		t.Errorf("stderr should hold plain progress lines and the summary:\n%q", errOut)
	}
	return res
}

func checkThroughput(t *testing.T, r benchJSON, mode string, records, valueSize int64) {
	t.Helper()
	if r.Mode != mode || r.Records != records || r.Errors != 0 {
		t.Errorf("mode %q, records %d, errors %d; want %q, %d, 0", r.Mode, r.Records, r.Errors, mode, records)
	}
	if r.Bytes < records*valueSize {
		t.Errorf("bytes %d, want at least %d", r.Bytes, records*valueSize)
	}
	if r.ElapsedSec <= 0 || r.RecordsPerSec <= 0 || r.MBPerSec <= 0 {
		t.Errorf("elapsed %v s, %v records/s, %v MB/s: want all positive", r.ElapsedSec, r.RecordsPerSec, r.MBPerSec)
	}
	if got := float64(r.Records) / r.ElapsedSec; got < r.RecordsPerSec*0.99 || got > r.RecordsPerSec*1.01 {
		t.Errorf("records_per_s %v disagrees with records/elapsed %v", r.RecordsPerSec, got)
	}
}

func checkLatency(t *testing.T, r benchJSON, kind string, count int64) {
	t.Helper()
	l := r.Latency
	if l == nil {
		t.Fatalf("no latency in %+v", r)
	}
	if l.Kind != kind || l.Count != count {
		t.Errorf("latency kind %q count %d, want %q %d", l.Kind, l.Count, kind, count)
	}
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("percentiles not ordered: %+v", *l)
	}
}

func TestIntegrationBench(t *testing.T) {
	addr := brokertest.Start(t, nil)
	topic := uniqueTopic(t)
	report := filepath.Join(t.TempDir(), "produce.html")

	p := runBench(t, addr, "produce", "--topic", topic, "--partitions", "3", "--records", "3000",
		"--record-size", "64", "--acks", "1", "--producers", "2", "--keys", "seq", "--report", report)
	checkThroughput(t, p, "produce", 3000, 64)
	checkLatency(t, p, "ack", 3000)
	if p.Partitions != 3 || p.Config["acks"] != "1" || p.Config["producers"] != 2.0 || p.Config["keys"] != "seq" {
		t.Errorf("partitions %d, config %v", p.Partitions, p.Config)
	}
	checkReport(t, report, "produce")

	// --keys seq numbers records across producers: every key once.
	keys := readKeys(t, addr, topic, 3000)
	for i := range 3000 {
		if !keys[strconv.Itoa(i)] {
			t.Fatalf("key %d missing (%d distinct keys)", i, len(keys))
		}
	}

	// A second run into the existing topic adds to it.
	p2 := runBench(t, addr, "produce", "--topic", topic, "--records", "1000", "--record-size", "64")
	checkThroughput(t, p2, "produce", 1000, 64)

	c := runBench(t, addr, "consume", "--topic", topic, "--consumers", "2")
	checkThroughput(t, c, "consume", 4000, 64)
	if c.Latency != nil {
		t.Errorf("consume reported a latency: %+v", c.Latency)
	}

	e2eTopic := uniqueTopic(t) + "-e2e"
	e2eReport := filepath.Join(t.TempDir(), "e2e.html")
	e := runBench(t, addr, "e2e", "--topic", e2eTopic, "--rate", "2000", "--records", "1000", "--duration", "0",
		"--record-size", "32", "--report", e2eReport, "--cleanup")
	checkThroughput(t, e, "e2e", 1000, 32)
	checkLatency(t, e, "end_to_end", 1000)
	// At 2000 records/s, 1000 records take about half a second.
	if e.ElapsedSec < 0.4 {
		t.Errorf("e2e of 1000 records at 2000/s took %v s: --rate not applied", e.ElapsedSec)
	}
	checkReport(t, e2eReport, "e2e")
	if err := checkTopic(t.Context(), &clientFlags{bootstrap: addr, timeout: 10 * time.Second}, e2eTopic, -1, true); err == nil {
		t.Errorf("topic %s still exists after --cleanup", e2eTopic)
	}
}

// readKeys reads n records of topic and returns their keys.
func readKeys(t *testing.T, addr, topic string, n int) map[string]bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	keys := map[string]bool{}
	for got := 0; got < n; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", got, n, err)
		}
		fs.EachRecord(func(r *kgo.Record) { keys[string(r.Key)] = true; got++ })
	}
	return keys
}

// checkReport checks that the HTML report exists, plots something, and
// loads nothing from anywhere else.
func checkReport(t *testing.T, path, mode string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	html := string(b)
	for _, want := range []string{"<!DOCTYPE html>", "strata bench " + mode, "Throughput over time", "<svg", "<polyline", "Latency by percentile"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Self-contained: no script, stylesheet, font or image from elsewhere.
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url(", "http://", "https://", "<link"} {
		if strings.Contains(html, bad) {
			t.Errorf("report is not self-contained: it contains %q", bad)
		}
	}
}

func TestBenchFlagsCheckedBeforeConnecting(t *testing.T) {
	const nowhere = "--bootstrap-server=127.0.0.1:1"
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"bench", "produce", "--keys", "random"}, `--keys "random"`},
		{[]string{"bench", "produce", "--keys", "random:0"}, `--keys "random:0"`},
		{[]string{"bench", "produce", "--acks", "2"}, `--acks "2"`},
		{[]string{"bench", "produce", "--compression", "brotli"}, `--compression "brotli"`},
		{[]string{"bench", "produce", "--records", "0"}, "give --records or --duration"},
		{[]string{"bench", "produce", "--producers", "0"}, "--producers 0"},
		{[]string{"bench", "produce", "--partitions", "0"}, "--partitions 0"},
		{[]string{"bench", "produce", "--payload-file", "/nonexistent/x"}, "--payload-file"},
		{[]string{"bench", "consume", "--consumers", "0"}, "--consumers 0"},
		{[]string{"bench", "e2e", "--rate", "0"}, "fixed --rate"},
		{[]string{"bench", "e2e", "--record-size", "4"}, "at least 8 bytes"},
		{[]string{"bench", "produce", "--progress-interval", "0s"}, "--progress-interval"},
	} {
		args := append(slices.Clone(tc.args), nowhere)
		_, _, err := runCLI(t.Context(), "", args...)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("strata %s: error = %v, want %q", strings.Join(tc.args, " "), err, tc.wantErr)
		}
	}
}

func TestIntegrationBenchConsumeGroup(t *testing.T) {
	addr := brokertest.Start(t, map[string]string{"group.initial.rebalance.delay.ms": "0"})
	topic := uniqueTopic(t)
	runBench(t, addr, "produce", "--topic", topic, "--partitions", "4", "--records", "2000", "--record-size", "10")
	c := runBench(t, addr, "consume", "--topic", topic, "--group", topic+"-g", "--consumers", "2")
	checkThroughput(t, c, "consume", 2000, 10)
	if c.Config["group"] != topic+"-g" || c.JoinSec <= 0 {
		t.Errorf("group %v, join_s %v: want the group and a positive join time", c.Config["group"], c.JoinSec)
	}
}
