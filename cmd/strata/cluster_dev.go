package main

// cluster_dev.go is `strata cluster dev`: a local multi-broker cluster in
// the foreground for development and demos. It starts N `strata server`
// processes of this same binary, each a voter of the metadata quorum,
// with exactly the flags a hand-started cluster uses (README, "Cluster"),
// prints the bootstrap list, and stops them (SIGTERM) on Ctrl-C. It
// never restarts a broker that dies: killing one by hand to watch a
// failover is one of the things it is for.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// devControllerPortOffset separates the controller ports from the Kafka
// ports: with --base-port 9092 and 3 brokers, Kafka listens on 9092-9094
// and the controllers on 9192-9194.
const devControllerPortOffset = 100

// devNode is one broker of the dev cluster.
type devNode struct {
	id             int32
	addr           string
	controllerAddr string
	dataDir        string
	logPath        string

	cmd    *exec.Cmd
	ready  chan struct{} // closed at the broker's ready line
	exited chan struct{} // closed when the process has been waited for
	err    error         // the process's exit, set before exited closes
}

func newClusterDevCmd() *cobra.Command {
	var (
		brokers   int
		basePort  int
		host      string
		dataDir   string
		overrides []string
		logLevel  string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local N-broker cluster in the foreground (Ctrl-C stops it)",
		Long: `Run a local cluster of --brokers brokers, each a strata server process
started with --node-id, --listen, --controller-listen, --voters and
--data-dir, every one a voter of the metadata quorum. Broker N (1..N)
serves Kafka clients on HOST:BASE+N-1 and its controller listener on
HOST:BASE+100+N-1 (--base-port 0 picks free ports), and keeps its data in
DATA-DIR/node-N and its log in DATA-DIR/node-N.log. A restart on the same
--data-dir continues the same cluster.

The command prints the bootstrap list once every broker is ready and runs
until Ctrl-C (or SIGTERM), which stops the brokers with SIGTERM (a clean,
controlled shutdown). A broker that dies is reported and left dead.`,
		Example: `  strata cluster dev --brokers 3
  strata cluster dev --brokers 3 --base-port 19092 --data-dir /tmp/strata-dev --override replica.lag.time.max.ms=10000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if brokers < 1 || brokers > 99 {
				return fmt.Errorf("--brokers %d: want 1 to 99", brokers)
			}
			if basePort < 0 || basePort+devControllerPortOffset+brokers > 65535 {
				return fmt.Errorf("--base-port %d: the ports would not fit below 65536", basePort)
			}
			for _, kv := range overrides {
				if _, _, err := splitKV("--override", kv); err != nil {
					return err
				}
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("cannot find this program's path to start the brokers: %w", err)
			}
			nodes, err := planDevCluster(brokers, basePort, host, dataDir)
			if err != nil {
				return err
			}
			return runDevCluster(cmd.Context(), cmd.OutOrStdout(), exe, nodes, overrides, logLevel)
		},
	}
	f := cmd.Flags()
	f.IntVar(&brokers, "brokers", 3, "number of brokers (all of them quorum voters)")
	f.IntVar(&basePort, "base-port", 9092, "first Kafka port; broker N listens on base+N-1, its controller on base+100+N-1 (0: free ports)")
	f.StringVar(&host, "host", "127.0.0.1", "address every broker listens on")
	f.StringVar(&dataDir, "data-dir", "./data-cluster", "directory for the brokers' data (node-N) and logs (node-N.log)")
	f.StringArrayVar(&overrides, "override", nil, "broker config key=value for every broker, Kafka names (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "the brokers' log level: debug, info, warn or error")
	return cmd
}

// planDevCluster picks every broker's addresses and directories and
// checks that the ports are free, so a clash is reported before anything
// starts.
func planDevCluster(n, basePort int, host, dataDir string) ([]*devNode, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	var nodes []*devNode
	var held []net.Listener // ports picked with --base-port 0, released together
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	port := func(p int) (string, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return "", fmt.Errorf("port %d on %s is not free: %w", p, host, err)
		}
		held = append(held, l)
		return l.Addr().String(), nil
	}
	for i := range n {
		nd := &devNode{
			id:      int32(i + 1),
			dataDir: filepath.Join(abs, fmt.Sprintf("node-%d", i+1)),
			logPath: filepath.Join(abs, fmt.Sprintf("node-%d.log", i+1)),
		}
		kp, cp := 0, 0
		if basePort > 0 {
			kp, cp = basePort+i, basePort+devControllerPortOffset+i
		}
		if nd.addr, err = port(kp); err != nil {
			return nil, err
		}
		if nd.controllerAddr, err = port(cp); err != nil {
			return nil, err
		}
		nodes = append(nodes, nd)
	}
	return nodes, nil
}

func devVoters(nodes []*devNode) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("%d@%s", n.id, n.controllerAddr)
	}
	return strings.Join(parts, ",")
}

func runDevCluster(ctx context.Context, out io.Writer, exe string, nodes []*devNode, overrides []string, logLevel string) error {
	if err := os.MkdirAll(filepath.Dir(nodes[0].dataDir), 0o755); err != nil {
		return err
	}
	voters := devVoters(nodes)
	fmt.Fprintf(out, "Starting %d brokers (voters %s)\n", len(nodes), voters)
	var started []*devNode
	defer func() { stopDevNodes(out, started) }()
	for _, n := range nodes {
		args := []string{"server",
			"--node-id", strconv.Itoa(int(n.id)),
			"--listen", n.addr,
			"--controller-listen", n.controllerAddr,
			"--voters", voters,
			"--data-dir", n.dataDir,
			"--log-level", logLevel,
		}
		for _, kv := range overrides {
			args = append(args, "--override", kv)
		}
		if err := n.start(exe, args); err != nil {
			return err
		}
		started = append(started, n)
		fmt.Fprintf(out, "  broker %d: kafka %s, controller %s, data %s, log %s\n", n.id, n.addr, n.controllerAddr, n.dataDir, n.logPath)
	}

	// Every broker is started before waiting on any: a broker becomes
	// ready only once a majority of the voters runs.
	deadline := time.After(2 * time.Minute)
	for _, n := range nodes {
		select {
		case <-n.ready:
		case <-n.exited:
			return fmt.Errorf("broker %d exited before it was ready (%v); its log %s ends:\n%s", n.id, exitText(n.err), n.logPath, logTail(n.logPath, 20))
		case <-deadline:
			return fmt.Errorf("broker %d was not ready within 2m; its log %s ends:\n%s", n.id, n.logPath, logTail(n.logPath, 20))
		case <-ctx.Done():
			return nil
		}
	}
	bootstrap := make([]string, len(nodes))
	for i, n := range nodes {
		bootstrap[i] = n.addr
	}
	list := strings.Join(bootstrap, ",")
	if err := waitDevBrokers(ctx, bootstrap, len(nodes)); err != nil {
		fmt.Fprintf(out, "warning: %v\n", err)
	}
	fmt.Fprintf(out, "Cluster ready. Bootstrap servers: %s\n", list)
	fmt.Fprintf(out, "  export %s=%s\n", bootstrapEnv, list)
	fmt.Fprintln(out, "Press Ctrl-C to stop the cluster.")

	// Report brokers that die; run until interrupted or all are gone.
	dead := make(chan *devNode, len(nodes))
	for _, n := range nodes {
		go func() {
			<-n.exited
			dead <- n
		}()
	}
	for alive := len(nodes); alive > 0; {
		select {
		case <-ctx.Done():
			return nil
		case n := <-dead:
			alive--
			fmt.Fprintf(out, "broker %d exited (%v); %d of %d still running\n", n.id, exitText(n.err), alive, len(nodes))
		}
	}
	return errors.New("every broker has exited")
}

// waitDevBrokers waits (up to 30s) until every one of the n brokers lists
// all n in its Metadata. Each broker answers from its own copy of the
// metadata log, so one broker listing them all does not mean the next
// client (say `cluster status`, which may ask another) is told the same.
func waitDevBrokers(ctx context.Context, seeds []string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ClientID(cliClientID))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, seen := 0, 0
	for {
		if md, err := adm.BrokerMetadata(ctx); err == nil {
			got, seen = len(md.Brokers), 0
			for _, b := range md.Brokers {
				resp, err := cl.Broker(int(b.NodeID)).RetriableRequest(ctx, kmsg.NewPtrMetadataRequest())
				if mr, ok := resp.(*kmsg.MetadataResponse); err == nil && ok && len(mr.Brokers) >= n {
					seen++
				}
			}
			if got >= n && seen >= n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after 30s Metadata lists %d of the %d brokers; %d of them list all", got, n, seen)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *devNode) start(exe string, args []string) error {
	if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== strata cluster dev: %s %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	n.ready, n.exited = make(chan struct{}), make(chan struct{})
	w := &devLogWriter{f: f, want: n.addr, ready: n.ready}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = devProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start broker %d: %w", n.id, err)
	}
	n.cmd = cmd
	go func() {
		n.err = cmd.Wait()
		f.Close()
		close(n.exited)
	}()
	return nil
}

// stopDevNodes sends SIGTERM to every running broker at once and waits
// for them; a broker still running after a minute is killed.
func stopDevNodes(out io.Writer, nodes []*devNode) {
	var running []*devNode
	for _, n := range nodes {
		select {
		case <-n.exited:
		default:
			running = append(running, n)
		}
	}
	if len(running) == 0 {
		return
	}
	fmt.Fprintf(out, "Stopping %d brokers\n", len(running))
	var wg sync.WaitGroup
	for _, n := range running {
		n.cmd.Process.Signal(syscall.SIGTERM)
		wg.Go(func() {
			select {
			case <-n.exited:
			case <-time.After(time.Minute):
				// NB: SIGQUIT first: Go writes every goroutine's stack to
				// the broker's log, which shows where its shutdown hangs.
				fmt.Fprintf(out, "broker %d did not stop within 1m of SIGTERM; sending SIGQUIT (its goroutines go to %s), then killing it\n", n.id, n.logPath)
				n.cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-n.exited:
				case <-time.After(5 * time.Second):
					n.cmd.Process.Kill()
					<-n.exited
				}
			}
		})
	}
	wg.Wait()
	for _, n := range running {
		fmt.Fprintf(out, "broker %d stopped (%v)\n", n.id, exitText(n.err))
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func logTail(path string, lines int) string {
	b, _ := os.ReadFile(path)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// devLogWriter copies a broker's output to its log file and closes ready
// at the broker's ready line naming its address.
type devLogWriter struct {
	f     *os.File
	want  string
	ready chan struct{}

	mu   sync.Mutex // exec copies stdout and stderr from two goroutines
	line []byte
	done bool
}

func (w *devLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.f.Write(p)
	if w.done {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		l := string(w.line[:i])
		w.line = w.line[i+1:]
		if isReadyLine(l, w.want) {
			w.done, w.line = true, nil
			close(w.ready)
			return len(p), nil
		}
	}
}

// isReadyLine reports the broker's ready line for addr: "ready" and the
// address as a whole token (127.0.0.1:4000 must not match :40001).
func isReadyLine(line, addr string) bool {
	if !strings.Contains(line, "ready") {
		return false
	}
	for rest := line; ; {
		i := strings.Index(rest, addr)
		if i < 0 {
			return false
		}
		rest = rest[i+len(addr):]
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return true
		}
	}
}
