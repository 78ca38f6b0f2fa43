package crashtest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStats is what /proc says about a broker process.
type procStats struct {
	rssKiB, hwmKiB int64 // VmRSS, VmHWM
	fds            int   // entries of /proc/<pid>/fd
	fdLimit        int64 // soft "Max open files" of /proc/<pid>/limits
}

func (s procStats) String() string {
	return fmt.Sprintf("RSS %d MiB (peak %d MiB), %d open fds (limit %d)", s.rssKiB>>10, s.hwmKiB>>10, s.fds, s.fdLimit)
}

// stats reads the running broker's memory and descriptor counts.
func (b *broker) stats() procStats {
	b.t.Helper()
	pid := b.cmd.Process.Pid
	var st procStats
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.t.Fatalf("reading the broker's /proc status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			st.rssKiB = n
		case "VmHWM":
			st.hwmKiB = n
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		b.t.Fatalf("listing the broker's fds: %v", err)
	}
	st.fds = len(ents)
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		b.t.Fatalf("reading the broker's limits: %v", err)
	}
	for _, line := range strings.Split(string(limits), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); len(f) >= 2 && len(f) < len(strings.Fields(line)) {
			st.fdLimit, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return st
}
