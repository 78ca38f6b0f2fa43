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
}

func (s procStats) String() string {
	return fmt.Sprintf("RSS %d MiB (peak %d MiB), %d open fds", s.rssKiB>>10, s.hwmKiB>>10, s.fds)
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
	return st
}
