package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/clustertest"
)

// TestMain gives the strata binary built for this run (the same build as
// the cluster harness's, race-enabled under -race) a directory of its own.
func TestMain(m *testing.M) { clustertest.Main(m) }

// freeAddr returns a loopback address with a port that was free a moment
// ago. The broker keeps it across restarts, so clients reconnect to the
// same address, as they would to a real broker that restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// broker is one `strata server` child process, restartable on the same
// address and data directory.
type broker struct {
	t       *testing.T
	bin     string
	addr    string
	dataDir string
	args    []string // extra server flags, e.g. --override
	nofile  int      // if > 0, the RLIMIT_NOFILE (soft and hard) the server runs with

	logMu sync.Mutex
	log   bytes.Buffer // every run's stdout and stderr, for failure reports

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	err    error         // cmd.Wait's result, set before exited closes
	runs   int
}

func newBroker(t *testing.T, extraArgs ...string) *broker {
	b := &broker{t: t, bin: clustertest.Binary(t), addr: freeAddr(t), dataDir: t.TempDir(), args: extraArgs}
	t.Cleanup(func() {
		if b.running() {
			b.cmd.Process.Kill()
			<-b.exited
		}
		if t.Failed() {
			t.Logf("broker output (all runs, last 60 lines):\n%s", b.logTail(60))
		}
	})
	return b
}

func (b *broker) running() bool {
	if b.cmd == nil {
		return false
	}
	select {
	case <-b.exited:
		return false
	default:
		return true
	}
}

// command is the `strata server` command line, under a shell that lowers
// the descriptor limit first if b.nofile is set. (Go programs raise their
// soft limit to the hard one at start, so both are lowered.)
func (b *broker) command() *exec.Cmd {
	args := append([]string{"server", "--listen", b.addr, "--data-dir", b.dataDir}, b.args...)
	if b.nofile <= 0 {
		return exec.Command(b.bin, args...)
	}
	script := fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, b.nofile)
	return exec.Command("/bin/sh", append([]string{"-c", script, b.bin}, args...)...)
}

// start runs the server and waits for its ready line.
func (b *broker) start() {
	b.t.Helper()
	b.runs++
	cmd := b.command()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	cmd.Stdout = &logWriter{b: b, prefix: fmt.Sprintf("[run %d stdout] ", b.runs)}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start strata: %v", err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})

	ready := make(chan struct{})
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			b.appendLog(fmt.Sprintf("[run %d] %s\n", b.runs, line))
			if !signalled && strings.Contains(line, "ready") && strings.Contains(line, b.addr) {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanDone // Wait must not run before the pipe is drained
		b.err = cmd.Wait()
		close(b.exited)
	}()

	select {
	case <-ready:
	case <-b.exited:
		b.t.Fatalf("strata server (run %d) exited before it was ready: %v", b.runs, b.err)
	case <-time.After(2 * time.Minute):
		b.t.Fatalf("strata server (run %d) logged no ready line with %s within 2m", b.runs, b.addr)
	}
}

// startAndKill starts the server and kills it after d, ready or not.
func (b *broker) startAndKill(d time.Duration) {
	b.t.Helper()
	b.runs++
	cmd := b.command()
	w := &logWriter{b: b, prefix: fmt.Sprintf("[run %d, killed after %v] ", b.runs, d)}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("start strata: %v", err)
	}
	time.Sleep(d)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// kill sends SIGKILL and waits for the process to be gone.
func (b *broker) kill() {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		b.t.Fatalf("kill -9 strata: %v", err)
	}
	<-b.exited
}

// stop sends SIGTERM and requires a clean exit (status 0) within timeout.
func (b *broker) stop(timeout time.Duration) {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.t.Fatalf("SIGTERM strata: %v", err)
	}
	select {
	case <-b.exited:
		if b.err != nil {
			b.t.Fatalf("strata server after SIGTERM: %v, want exit status 0", b.err)
		}
	case <-time.After(timeout):
		b.cmd.Process.Kill()
		<-b.exited
		b.t.Fatalf("strata server did not exit within %v of SIGTERM", timeout)
	}
}

// requireNoPanic fails if any run's output shows a panic or a data race.
func (b *broker) requireNoPanic() {
	b.t.Helper()
	b.logMu.Lock()
	s := b.log.String()
	b.logMu.Unlock()
	for _, bad := range []string{"panic:", "fatal error:", "DATA RACE"} {
		if strings.Contains(s, bad) {
			b.t.Errorf("broker output contains %q", bad)
		}
	}
}

func (b *broker) appendLog(s string) {
	b.logMu.Lock()
	b.log.WriteString(s)
	b.logMu.Unlock()
}

func (b *broker) logTail(n int) string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	lines := strings.Split(strings.TrimRight(b.log.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type logWriter struct {
	b      *broker
	prefix string
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.b.appendLog(w.prefix + string(p))
	return len(p), nil
}

// waitCtx is a context for one bounded step of a test.
func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
