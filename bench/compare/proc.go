package main

// proc.go starts the brokers under test and reads CPU times from /proc.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// broker is one broker process under test.
type broker struct {
	name string // strata, strata-fsync, kfake-mem, kfake-disk, kfake-sync
	addr string
	cmd  *exec.Cmd
	log  *os.File
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startBroker runs argv (with the address appended by mkArgs) and waits
// until it accepts connections.
func startBroker(name, dir string, mkArgs func(addr string) []string) (*broker, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	argv := mkArgs(addr)
	logf, err := os.Create(dir + "/" + name + ".log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	b := &broker{name: name, addr: addr, cmd: cmd, log: logf}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return b, nil
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("%s did not start listening on %s (see %s)", name, addr, logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop asks the broker to shut down cleanly, then kills it after 30s.
func (b *broker) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.log.Close()
}

// clockTick is USER_HZ: the unit of utime and stime in /proc (100 on
// every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// procCPU returns the user+system CPU time the process pid has used,
// over all its threads, from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after ")" are
	// numbered from 3.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unparseable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// machineCPU returns the busy CPU time of the whole machine (all CPUs,
// everything but idle and iowait) from /proc/stat.
func machineCPU() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 8 || fs[0] != "cpu" {
			continue
		}
		var busy int64
		for i, v := range fs[1:] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, err
			}
			if i == 3 || i == 4 || i >= 7 { // idle, iowait; steal/guest are not ours
				continue
			}
			busy += n
		}
		return time.Duration(busy) * clockTick, nil
	}
	return 0, errors.New("no cpu line in /proc/stat")
}

// loadAvg1 is the 1-minute load average.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

// waitQuiet waits until the 1-minute load is below limit, at most maxWait.
func waitQuiet(ctx context.Context, limit float64, maxWait time.Duration) float64 {
	deadline := time.Now().Add(maxWait)
	for {
		l := loadAvg1()
		if l < limit || time.Now().After(deadline) || ctx.Err() != nil {
			return l
		}
		fmt.Fprintf(os.Stderr, "load %.2f >= %.2f, waiting...\n", l, limit)
		time.Sleep(10 * time.Second)
	}
}

// ddFdatasync measures the disk's sequential write speed the way the
// issue asks: dd of 1 GiB in 1 MiB blocks with one fdatasync at the end.
// It returns MB/s as dd reports it.
func ddFdatasync(dir string, mib int) (string, error) {
	out, err := exec.Command("dd", "if=/dev/zero", "of="+dir+"/dd.tmp", "bs=1M",
		"count="+strconv.Itoa(mib), "conv=fdatasync").CombinedOutput()
	os.Remove(dir + "/dd.tmp")
	if err != nil {
		return "", fmt.Errorf("dd: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if i := strings.LastIndex(last, ", "); i >= 0 {
		return last[i+2:], nil
	}
	return last, nil
}
