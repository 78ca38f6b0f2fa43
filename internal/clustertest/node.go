package clustertest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Node is one broker of a Cluster: a `strata server` process that keeps
// its node id, ports and data directory across restarts, so clients
// reconnect to the same address as they would to a real broker.
type Node struct {
	ID             int32
	Addr           string // Kafka (PLAINTEXT) listener, host:port
	ControllerAddr string // controller listener (Raft + controller RPC)
	DataDir        string
	LogPath        string // every run's stdout and stderr, appended

	c *Cluster

	// The process fields are owned by the test goroutine; exited and err
	// are written once by the goroutine that waits for the process.
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	err    error         // cmd.Wait's result, set before exited closes
	ready  chan struct{} // closed when this run logged its ready line
	runs   int
	paused bool
}

// Running reports whether the process is alive (paused counts as alive).
func (n *Node) Running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Paused reports whether the node is stopped with SIGSTOP.
func (n *Node) Paused() bool { return n.paused && n.Running() }

// Pid is the running process's id (0 when not running).
func (n *Node) Pid() int {
	if !n.Running() {
		return 0
	}
	return n.cmd.Process.Pid
}

func (n *Node) args() []string {
	c := n.c
	args := []string{"server",
		"--node-id", fmt.Sprint(n.ID),
		"--listen", n.Addr,
		"--controller-listen", n.ControllerAddr,
		"--voters", c.Voters(),
		"--data-dir", n.DataDir,
	}
	for _, k := range sortedKeys(c.opts.Overrides) {
		args = append(args, "--override", k+"="+c.opts.Overrides[k])
	}
	return append(args, c.opts.Args...)
}

// launch starts the process without waiting for it to be ready.
func (n *Node) launch(t testing.TB) {
	t.Helper()
	if n.Running() {
		t.Fatalf("clustertest: node %d is already running", n.ID)
	}
	n.runs++
	f, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("clustertest: node %d log: %v", n.ID, err)
	}
	fmt.Fprintf(f, "=== clustertest: node %d run %d at %s: strata %s\n", n.ID, n.runs, time.Now().Format(time.RFC3339Nano), strings.Join(n.args(), " "))
	cmd := exec.Command(n.c.bin, n.args()...)
	n.ready = make(chan struct{})
	w := &readyWriter{f: f, want: n.Addr, ready: n.ready}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("clustertest: start node %d: %v", n.ID, err)
	}
	n.cmd, n.exited, n.err, n.paused = cmd, make(chan struct{}), nil, false
	exited, id, run := n.exited, n.ID, n.runs
	go func() {
		err := cmd.Wait() // also waits for the output copying to finish
		fmt.Fprintf(f, "=== clustertest: node %d run %d exited: %v\n", id, run, exitText(err))
		f.Close()
		n.err = err
		close(exited)
	}()
}

// waitReady waits for the current run's ready line.
func (n *Node) waitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-n.ready:
	case <-n.exited:
		t.Fatalf("clustertest: node %d (run %d) exited before it was ready: %v\n%s", n.ID, n.runs, exitText(n.err), n.LogTail(30))
	case <-time.After(timeout):
		t.Fatalf("clustertest: node %d (run %d) logged no ready line with %s within %v\n%s", n.ID, n.runs, n.Addr, timeout, n.LogTail(30))
	}
}

// signal sends sig to the running process.
func (n *Node) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if !n.Running() {
		t.Fatalf("clustertest: node %d is not running (signal %v)", n.ID, sig)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("clustertest: signal %v to node %d: %v", sig, n.ID, err)
	}
}

// kill sends SIGKILL (which also ends a stopped process) and waits.
func (n *Node) kill(t testing.TB) {
	t.Helper()
	n.signal(t, syscall.SIGKILL)
	<-n.exited
	n.paused = false
}

// stop sends SIGTERM and waits up to timeout for a clean exit (status 0);
// a process that does not exit in time is killed and the test fails.
func (n *Node) stop(t testing.TB, timeout time.Duration) {
	t.Helper()
	if n.paused {
		n.signal(t, syscall.SIGCONT)
		n.paused = false
	}
	n.signal(t, syscall.SIGTERM)
	select {
	case <-n.exited:
		if n.err != nil {
			t.Errorf("clustertest: node %d after SIGTERM: %v, want exit status 0", n.ID, exitText(n.err))
		}
	case <-time.After(timeout):
		n.cmd.Process.Kill()
		<-n.exited
		t.Fatalf("clustertest: node %d did not exit within %v of SIGTERM\n%s", n.ID, timeout, n.LogTail(30))
	}
}

// Log returns everything the node has logged so far, all runs.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.LogPath)
	return string(b)
}

// LogTail returns the last lines of the node's log.
func (n *Node) LogTail(lines int) string {
	s := strings.TrimRight(n.Log(), "\n")
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// readyWriter copies a process's output to its log file and closes ready
// at the first line that says the broker is ready on want (the line
// server.New logs once it serves: "strata broker ready" addr=...).
type readyWriter struct {
	f     *os.File
	want  string
	ready chan struct{}

	mu   sync.Mutex // exec copies stdout and stderr from two goroutines
	line []byte     // the unfinished last line
	done bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
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
			break
		}
		l := string(w.line[:i])
		w.line = w.line[i+1:]
		if isReadyLine(l, w.want) {
			w.done = true
			w.line = nil
			close(w.ready)
			break
		}
	}
	return len(p), nil
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
