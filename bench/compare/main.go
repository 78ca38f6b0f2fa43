// Command compare runs the same `strata bench` workloads against a fresh
// Strata broker and franz-go's kfake (in memory and with its DataDir) on
// one machine, alternating brokers run by run, and prints the medians,
// the broker's CPU time per record, and the ratios Strata / kfake.
//
// It is run by bench/compare.sh, which builds the binaries; see the
// README's benchmark section. Not part of `go test ./...`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workload is one line of the comparison.
type workload struct {
	key     string   // short name, also the topic prefix
	title   string   // what the table says
	mode    string   // produce, consume or e2e
	args    []string // strata bench flags
	brokers []string // which brokers run it, in alternation order
	// topicOf names the topic of rep r; consume workloads read the
	// topic a produce workload wrote.
	topicOf string
	cleanup bool
}

// run is one measurement.
type run struct {
	Workload  string          `json:"workload"`
	Broker    string          `json:"broker"`
	Rep       int             `json:"rep"`
	Result    json.RawMessage `json:"result"`
	BrokerCPU float64         `json:"broker_cpu_s"`
	ClientCPU float64         `json:"client_cpu_s"`
	OtherCPU  float64         `json:"other_cpu_s"` // the rest of the machine meanwhile
	Load1     float64         `json:"load1_before"`

	res benchResult
}

// benchResult is the part of `strata bench --json` this program reads.
type benchResult struct {
	Records       int64   `json:"records"`
	Errors        int64   `json:"errors"`
	ElapsedSec    float64 `json:"elapsed_s"`
	RecordsPerSec float64 `json:"records_per_s"`
	MBPerSec      float64 `json:"mb_per_s"`
	Latency       *struct {
		P50  float64 `json:"p50_ms"`
		P90  float64 `json:"p90_ms"`
		P99  float64 `json:"p99_ms"`
		P999 float64 `json:"p99_9_ms"`
		Max  float64 `json:"max_ms"`
	} `json:"latency"`
}

func main() {
	var (
		strataBin   = flag.String("strata", "", "strata binary (required)")
		kfakeBin    = flag.String("kfake", "", "kfake runner binary (required)")
		dir         = flag.String("dir", "", "work directory for data and logs (default: a new temp dir)")
		reps        = flag.Int("reps", 3, "repetitions of each workload per broker")
		quick       = flag.Bool("quick", false, "smoke run: few records, one repetition")
		only        = flag.String("only", "", "comma-separated workload keys to run (default: all)")
		out         = flag.String("out", "", "also write every run as a JSON line to this file")
		fsyncOpts   = flag.String("strata-fsync", "--override log.flush.interval.messages=1", "server flags of the fsync-before-ack Strata broker")
		quietLoad   = flag.Float64("quiet-load", 0, "before starting, wait until the 1-minute load is below this (0: don't wait)")
		quietWait   = flag.Duration("quiet-wait", 10*time.Minute, "longest wait for -quiet-load")
		ddMiB       = flag.Int("dd-mib", 1024, "size of the dd conv=fdatasync baseline (0: skip)")
		records100  = flag.Int64("records-100b", 5_000_000, "records per 100 B run")
		records1k   = flag.Int64("records-1k", 1_000_000, "records per 1 KiB run")
		recordsSync = flag.Int64("records-fsync", 500_000, "records per fsync run (1 KiB)")
		e2eDur      = flag.Duration("e2e-duration", 10*time.Second, "length of each e2e run")
	)
	flag.Parse()
	if *strataBin == "" || *kfakeBin == "" {
		fmt.Fprintln(os.Stderr, "compare: -strata and -kfake are required")
		os.Exit(2)
	}
	if *quick {
		*reps = 1
		*records100, *records1k, *recordsSync = 200_000, 50_000, 20_000
		*e2eDur = 3 * time.Second
		*ddMiB = min(*ddMiB, 256)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *dir == "" {
		d, err := os.MkdirTemp("", "strata-compare-")
		if err != nil {
			fatal(err)
		}
		*dir = d
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fatal(err)
	}
	if *quietLoad > 0 {
		waitQuiet(ctx, *quietLoad, *quietWait)
	}
	c := &comparison{strata: *strataBin, dir: *dir, reps: *reps}
	c.workloads = workloads(*records100, *records1k, *recordsSync, *e2eDur)
	if *only != "" {
		c.filter(strings.Split(*only, ","))
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		c.out = f
	}
	printMachine()
	if *ddMiB > 0 {
		dd, err := ddFdatasync(*dir, *ddMiB)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
		}
		c.dd = dd
		fmt.Printf("disk: dd if=/dev/zero bs=1M count=%d conv=fdatasync: %s\n", *ddMiB, dd)
	}
	if err := c.startBrokers(*kfakeBin, strings.Fields(*fsyncOpts)); err != nil {
		c.stopBrokers()
		fatal(err)
	}
	err := c.runAll(ctx)
	c.stopBrokers()
	c.print(os.Stdout)
	if err != nil {
		fatal(err)
	}
	if len(c.failed) > 0 {
		fmt.Fprintf(os.Stderr, "compare: %d runs failed:\n  %s\n", len(c.failed), strings.Join(c.failed, "\n  "))
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

// workloads are the comparison, in the order they run. Brokers
// named in a workload run it alternately, rep by rep.
func workloads(n100, n1k, nSync int64, e2eDur time.Duration) []workload {
	all := []string{"strata", "kfake-mem", "kfake-disk"}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	produce := func(key, title string, size int, records int64, acks string, parts, producers int, keep bool) workload {
		return workload{key: key, title: title, mode: "produce", brokers: all, cleanup: !keep,
			args: []string{"--records", n(records), "--record-size", strconv.Itoa(size), "--acks", acks,
				"--partitions", strconv.Itoa(parts), "--producers", strconv.Itoa(producers)}}
	}
	ws := []workload{
		produce("p100-a1-p1", "produce 100 B, acks=1, 1 partition", 100, n100, "1", 1, 1, true),
		produce("p100-a1-p8", "produce 100 B, acks=1, 8 partitions", 100, n100, "1", 8, 1, false),
		produce("p100-all-p1", "produce 100 B, acks=all, 1 partition", 100, n100, "all", 1, 1, false),
		produce("p100-all-p8", "produce 100 B, acks=all, 8 partitions", 100, n100, "all", 8, 1, false),
		produce("p1k-all-p1", "produce 1 KiB, acks=all, 1 partition", 1024, n1k, "all", 1, 1, true),
		{key: "c100", title: "consume 100 B from the beginning", mode: "consume", brokers: all,
			topicOf: "p100-a1-p1", cleanup: true},
		{key: "c1k", title: "consume 1 KiB from the beginning", mode: "consume", brokers: all,
			topicOf: "p1k-all-p1", cleanup: true},
		{key: "e2e", title: "e2e latency, 20,000 records/s, 100 B", mode: "e2e", brokers: all, cleanup: true,
			args: []string{"--rate", "20000", "--duration", e2eDur.String(), "--record-size", "100"}},
		produce("p1k-8prod", "produce 1 KiB, acks=all, 8 producers, 8 partitions (no fsync)", 1024, nSync, "all", 8, 8, false),
		produce("p1k-8prod-fsync", "same, fsync before ack", 1024, nSync, "all", 8, 8, false),
	}
	ws[len(ws)-1].brokers = []string{"strata-fsync", "kfake-sync"}
	return ws
}

type comparison struct {
	strata    string
	dir       string
	reps      int
	workloads []workload
	brokers   map[string]*broker
	runs      []*run
	out       *os.File
	dd        string
	failed    []string
}

func (c *comparison) filter(keys []string) {
	var ws []workload
	for _, w := range c.workloads {
		for _, k := range keys {
			if w.key == strings.TrimSpace(k) {
				ws = append(ws, w)
			}
		}
	}
	c.workloads = ws
}

// startBrokers starts every broker some workload needs, each on a fresh
// data directory.
func (c *comparison) startBrokers(kfakeBin string, fsyncOpts []string) error {
	need := map[string]bool{}
	for _, w := range c.workloads {
		for _, b := range w.brokers {
			need[b] = true
		}
	}
	c.brokers = map[string]*broker{}
	strata := func(extra ...string) func(string) []string {
		return func(addr string) []string {
			return append([]string{c.strata, "server", "--listen", addr, "--log-level", "warn", "--data-dir", c.dir + "/data-" + addr}, extra...)
		}
	}
	kfake := func(extra ...string) func(string) []string {
		return func(addr string) []string { return append([]string{kfakeBin, "-listen", addr}, extra...) }
	}
	starts := map[string]func(string) []string{
		"strata":       strata(),
		"strata-fsync": strata(fsyncOpts...),
		"kfake-mem":    kfake(),
		"kfake-disk":   kfake("-data-dir", c.dir+"/kfake-disk"),
		"kfake-sync":   kfake("-data-dir", c.dir+"/kfake-sync", "-sync"),
	}
	for _, name := range []string{"strata", "strata-fsync", "kfake-mem", "kfake-disk", "kfake-sync"} {
		if !need[name] {
			continue
		}
		b, err := startBroker(name, c.dir, starts[name])
		if err != nil {
			return err
		}
		c.brokers[name] = b
		fmt.Fprintf(os.Stderr, "started %s on %s (pid %d)\n", name, b.addr, b.cmd.Process.Pid)
	}
	return nil
}

func (c *comparison) stopBrokers() {
	for _, b := range c.brokers {
		b.stop()
	}
}

func (c *comparison) runAll(ctx context.Context) error {
	for _, w := range c.workloads {
		for rep := 1; rep <= c.reps; rep++ {
			for _, name := range w.brokers {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r, err := c.runOne(ctx, w, name, rep)
				if err != nil {
					// One failed run must not lose the rest of a long
					// comparison: it is reported and left out of the
					// medians (the table says how many runs it has).
					c.failed = append(c.failed, fmt.Sprintf("%s on %s, rep %d: %v", w.key, name, rep, err))
					fmt.Fprintf(os.Stderr, "FAILED %s\n", c.failed[len(c.failed)-1])
					continue
				}
				c.runs = append(c.runs, r)
				fmt.Fprintf(os.Stderr, "%-16s %-12s rep %d: %10.0f records/s  %6.2f µs broker CPU/record  load %.2f\n",
					w.key, name, rep, r.res.RecordsPerSec, cpuPerRecord(r.BrokerCPU, r.res.Records), r.Load1)
				if c.out != nil {
					b, _ := json.Marshal(r)
					c.out.Write(append(b, '\n'))
				}
			}
		}
	}
	return nil
}

func (c *comparison) runOne(ctx context.Context, w workload, name string, rep int) (*run, error) {
	b := c.brokers[name]
	topic := fmt.Sprintf("%s-r%d", w.key, rep)
	if w.topicOf != "" {
		topic = fmt.Sprintf("%s-r%d", w.topicOf, rep)
	}
	args := append([]string{"bench", w.mode, "--bootstrap-server", b.addr, "--topic", topic, "--json", "--quiet"}, w.args...)
	if w.cleanup {
		args = append(args, "--cleanup")
	}
	r := &run{Workload: w.key, Broker: name, Rep: rep, Load1: loadAvg1()}
	pid := b.cmd.Process.Pid
	before, err := procCPU(pid)
	if err != nil {
		return nil, err
	}
	mBefore, _ := machineCPU()
	cmd := exec.CommandContext(ctx, c.strata, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	after, err := procCPU(pid)
	if err != nil {
		return nil, err
	}
	mAfter, _ := machineCPU()
	if runErr != nil {
		return nil, fmt.Errorf("strata %s: %v\n%s", strings.Join(args, " "), runErr, stderr.String())
	}
	line := bytes.TrimSpace(stdout.Bytes())
	if err := json.Unmarshal(line, &r.res); err != nil {
		return nil, fmt.Errorf("reading the JSON line %q: %w", line, err)
	}
	r.Result = json.RawMessage(line)
	r.BrokerCPU = (after - before).Seconds()
	r.ClientCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	r.OtherCPU = max((mAfter-mBefore).Seconds()-r.BrokerCPU-r.ClientCPU, 0)
	return r, nil
}

// cpuPerRecord is CPU seconds over records, in µs.
func cpuPerRecord(cpuSec float64, records int64) float64 {
	if records == 0 {
		return 0
	}
	return cpuSec / float64(records) * 1e6
}

func printMachine() {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	nproc, _ := exec.Command("nproc").Output()
	fmt.Printf("machine: %s CPUs, %s, kernel %s; %s UTC\n", strings.TrimSpace(string(nproc)), cpu,
		strings.TrimSpace(string(kernel)), time.Now().UTC().Format("2006-01-02 15:04"))
}
