package main

// cluster_integration_test.go drives `strata cluster`, `strata partition`
// and `strata topic describe` against a real 3-broker cluster of strata
// processes (internal/clustertest), and `strata cluster dev` as a process
// of its own.

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// describedPartitions parses `topic describe` partition lines into
// partition -> {leader, replicas, isr}.
func describedPartitions(t *testing.T, out string) map[int32][3]string {
	t.Helper()
	re := regexp.MustCompile(`Partition: (\d+)\tLeader: (\S+)\tReplicas: (\S*)\tIsr: (\S*)`)
	got := make(map[int32][3]string)
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		p, _ := strconv.Atoi(m[1])
		got[int32(p)] = [3]string{m[2], m[3], m[4]}
	}
	return got
}

func TestClusterCommands(t *testing.T) {
	c := clustertest.Start(t, clustertest.Options{Brokers: 3})
	cl := cli{t: t, addr: c.Bootstrap()}

	// cluster status: every broker alive, a controller, a quorum of 3
	// whose followers have reported their log ends.
	var status string
	eventually(t, "cluster status shows 3 alive brokers and the quorum's 3 voters", func() error {
		status = cl.must("", "cluster", "status")
		if !strings.Contains(status, "3 brokers, 3 alive") || strings.Contains(status, "Quorum:\tunavailable") {
			return fmt.Errorf("status:\n%s", status)
		}
		for _, id := range c.IDs() {
			if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+(Leader|Follower)\s+\d+\s+\d+`, id)).MatchString(status) {
				return fmt.Errorf("no voter row with a log end offset for node %d:\n%s", id, status)
			}
		}
		return nil
	})
	ctrl := c.ControllerID()
	for _, want := range []string{
		fmt.Sprintf("Controller:\t%d\n", ctrl),
		fmt.Sprintf("Quorum LeaderId:\t%d\n", ctrl),
		"(active controller)",
	} {
		if !strings.Contains(status, want) {
			t.Errorf("cluster status lacks %q:\n%s", want, status)
		}
	}

	// topic describe: leader, 3 replicas and a full ISR per partition.
	topic := uniqueTopic(t)
	cl.must("", "topic", "create", topic, "--partitions", "3", "--replication-factor", "3")
	c.WaitFullISR(topic, 30*time.Second)
	// Every broker applies the metadata log on its own: the one that
	// answers may learn of the topic a moment after the one that made it.
	var parts map[int32][3]string
	eventually(t, "topic describe shows 3 partitions with full ISRs", func() error {
		out, err := cl.run("", "topic", "describe", topic)
		if err != nil {
			return err
		}
		parts = describedPartitions(t, out)
		for _, d := range parts {
			if len(strings.Split(d[2], ",")) != 3 {
				return fmt.Errorf("describe:\n%s", out)
			}
		}
		if len(parts) != 3 {
			return fmt.Errorf("describe:\n%s", out)
		}
		return nil
	})
	leaders := map[string]int{}
	for p, d := range parts {
		if len(strings.Split(d[1], ",")) != 3 || len(strings.Split(d[2], ",")) != 3 || !strings.Contains(","+d[1]+",", ","+d[0]+",") {
			t.Errorf("partition %d: leader %s replicas %s isr %s", p, d[0], d[1], d[2])
		}
		leaders[d[0]]++
	}
	if len(leaders) != 3 {
		t.Errorf("leaders of the 3 partitions are %v; want one per broker", leaders)
	}
	if out := cl.must("", "topic", "describe", topic, "--under-replicated-partitions"); out != "" {
		t.Errorf("under-replicated partitions of a healthy topic:\n%s", out)
	}

	// partition reassign: rotate partition 0's replicas, wait, verify.
	old := parts[0][1]
	ids := strings.Split(old, ",")
	target := strings.Join(append(ids[1:], ids[0]), ",")
	out := cl.must("", "partition", "reassign", "--topic", topic, "--partition", "0", "--replicas", target, "--wait", "--wait-interval", "200ms")
	for _, want := range []string{`"replicas":[` + old + `]`, "Successfully started partition reassignment for " + topic + "-0", "Reassignment complete."} {
		if !strings.Contains(out, want) {
			t.Errorf("reassign output lacks %q:\n%s", want, out)
		}
	}
	// (eventually: each broker answers from its own copy of the log.)
	eventually(t, "reassign --verify says completed", func() error {
		out, err := cl.run("", "partition", "reassign", "--topic", topic, "--partition", "0", "--replicas", target, "--verify")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "Reassignment of partition "+topic+"-0 is completed.") {
			return fmt.Errorf("verify:\n%s", out)
		}
		return nil
	})
	eventually(t, "describe shows the new replicas", func() error {
		if got := describedPartitions(t, cl.must("", "topic", "describe", topic))[0][1]; got != target {
			return fmt.Errorf("after the reassignment partition 0 has replicas %s, want %s", got, target)
		}
		return nil
	})
	if out := cl.must("", "partition", "reassign", "--list"); !strings.Contains(out, "No partition reassignments found.") {
		t.Errorf("reassign --list:\n%s", out)
	}
	cl.mustFail("not on their target replicas", "partition", "reassign", "--topic", topic, "--partition", "0", "--replicas", old, "--verify")
	cl.mustFail("does not exist", "partition", "reassign", "--topic", "no-such-topic", "--partition", "0", "--replicas", "1,2,3")

	// elect-leaders: every partition ends up led by its preferred replica.
	eventually(t, "elect-leaders moves every leader to the preferred replica", func() error {
		if _, err := cl.run("", "partition", "elect-leaders", "--topic", topic); err != nil {
			return err
		}
		for p, d := range describedPartitions(t, cl.must("", "topic", "describe", topic)) {
			if pref := strings.Split(d[1], ",")[0]; d[0] != pref {
				return fmt.Errorf("partition %d: leader %s, preferred %s", p, d[0], pref)
			}
		}
		return nil
	})
	out = cl.must("", "partition", "elect-leaders", "--topic", topic, "--partition", "1")
	if !strings.Contains(out, "Valid replica already elected for partitions "+topic+"-1") {
		t.Errorf("elect-leaders of a partition led by its preferred replica:\n%s", out)
	}
	cl.mustFail("does not exist", "partition", "elect-leaders", "--topic", "no-such-topic")

	// A dead broker: fenced in cluster status; its partitions show it
	// offline and out of the ISR.
	victim := c.IDs()[0]
	if victim == ctrl {
		victim = c.IDs()[1]
	}
	c.Kill(victim)
	eventually(t, "cluster status shows the killed broker fenced", func() error {
		status = cl.must("", "cluster", "status")
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+\S+\s+\S+\s+fenced`, victim)).MatchString(status) &&
			!strings.Contains(status, "2 brokers, 2 alive") {
			return fmt.Errorf("status:\n%s", status)
		}
		return nil
	})
	eventually(t, "describe --under-replicated-partitions lists every partition", func() error {
		out := cl.must("", "topic", "describe", topic, "--under-replicated-partitions")
		if n := len(describedPartitions(t, out)); n != 3 {
			return fmt.Errorf("%d partitions listed:\n%s", n, out)
		}
		if !strings.Contains(out, fmt.Sprintf("Offline: %d", victim)) {
			return fmt.Errorf("no Offline: %d:\n%s", victim, out)
		}
		return nil
	})
	if out := cl.must("", "topic", "describe", topic, "--unavailable-partitions"); out != "" {
		t.Errorf("unavailable partitions with 2 of 3 replicas alive:\n%s", out)
	}
}

// TestClusterDev runs `strata cluster dev` as a process: it must print a
// bootstrap list of 3 brokers that `cluster status` sees, and stop them
// all cleanly on SIGINT (Ctrl-C).
func TestClusterDev(t *testing.T) {
	bin := clustertest.Binary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "cluster", "dev", "--brokers", "3", "--base-port", "0", "--data-dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	var all strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var boot string
	timeout := time.After(2 * time.Minute)
	for boot == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("cluster dev exited before printing the bootstrap list:\n%s", all.String())
			}
			all.WriteString(l + "\n")
			if _, rest, ok := strings.Cut(l, "Bootstrap servers: "); ok {
				boot = rest
			}
		case <-timeout:
			t.Fatalf("cluster dev printed no bootstrap list within 2m:\n%s", all.String())
		}
	}
	if n := len(strings.Split(boot, ",")); n != 3 {
		t.Fatalf("bootstrap list %q has %d addresses, want 3", boot, n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	status, _, err := runCLI(ctx, "", "cluster", "status", "--bootstrap-server", boot)
	if err != nil || !strings.Contains(status, "3 brokers, 3 alive") {
		t.Errorf("cluster status of the dev cluster: %v\n%s", err, status)
	}

	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() {
		for l := range lines {
			all.WriteString(l + "\n")
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("cluster dev after SIGINT: %v\n%s", err, all.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("cluster dev still running 90s after SIGINT:\n%s", all.String())
	}
	for i := 1; i <= 3; i++ {
		if want := fmt.Sprintf("broker %d stopped (exit status 0)", i); !strings.Contains(all.String(), want) {
			t.Errorf("cluster dev output lacks %q:\n%s\nits log ends:\n%s", want, all.String(),
				logTail(filepath.Join(dir, fmt.Sprintf("node-%d.log", i)), 400))
		}
	}
}
