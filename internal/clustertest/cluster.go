package clustertest

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Options configure a Cluster.
type Options struct {
	// Brokers is the number of brokers, node ids 1..Brokers. Default 3.
	Brokers int
	// Voters is how many of them (ids 1..Voters) are voters of the
	// metadata quorum; the others join it as non-voting brokers. Default:
	// all of them.
	Voters int
	// Overrides are broker configs (Kafka names) given to every broker
	// as --override key=value, e.g. test timings such as
	// replica.lag.time.max.ms or broker.session.timeout.ms.
	Overrides map[string]string
	// Args are extra `strata server` flags for every broker.
	Args []string
	// ReadyTimeout bounds a broker's start (ready line, then the cluster
	// listing it). Default 60s.
	ReadyTimeout time.Duration
}

// KeepEnv, when set, keeps the cluster's directory (data and logs) after
// the test instead of removing it.
const KeepEnv = "STRATA_CLUSTERTEST_KEEP"

// Cluster is a set of strata brokers running as child processes of the
// test. Methods take node ids (1..N), the ids Metadata reports, not
// indexes. Everything still running is killed when the test ends; if the
// test failed, the tail of every broker's log is printed.
type Cluster struct {
	t     testing.TB
	bin   string
	opts  Options
	dir   string
	nodes []*Node // nodes[i].ID == i+1

	cl  *kgo.Client  // shared client over every broker's address
	adm *kadm.Client // admin client on cl
}

// Start builds strata (once per process), starts opts.Brokers brokers and
// waits until every one of them is listed in Metadata.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Brokers == 0 {
		opts.Brokers = 3
	}
	if opts.Voters == 0 || opts.Voters > opts.Brokers {
		opts.Voters = opts.Brokers
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	c := &Cluster{t: t, bin: Binary(t), opts: opts}
	if os.Getenv(KeepEnv) != "" {
		dir, err := os.MkdirTemp("", "strata-cluster-")
		if err != nil {
			t.Fatal(err)
		}
		c.dir = dir
		t.Logf("clustertest: cluster directory %s (kept: %s is set)", dir, KeepEnv)
	} else {
		c.dir = t.TempDir()
	}
	addrs := freeAddrs(t, 2*opts.Brokers)
	for i := range opts.Brokers {
		id := int32(i + 1)
		c.nodes = append(c.nodes, &Node{
			ID:             id,
			Addr:           addrs[2*i],
			ControllerAddr: addrs[2*i+1],
			DataDir:        filepath.Join(c.dir, fmt.Sprintf("node-%d", id)),
			LogPath:        filepath.Join(c.dir, fmt.Sprintf("node-%d.log", id)),
			c:              c,
		})
	}
	t.Cleanup(c.cleanup)

	// All processes first: a broker registers through the quorum, which
	// needs a majority of the voters up before anyone is ready.
	for _, n := range c.nodes {
		n.launch(t)
	}
	for _, n := range c.nodes {
		n.waitReady(t, opts.ReadyTimeout)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c.cl, c.adm = cl, kadm.NewClient(cl)
	c.WaitBrokers(opts.ReadyTimeout)
	return c
}

// cleanup kills what still runs, fails the test on a panic or race in
// any broker's log, and prints the logs' tails if the test failed.
func (c *Cluster) cleanup() {
	if c.adm != nil {
		c.adm.Close()
	}
	for _, n := range c.nodes {
		if n.Running() {
			n.cmd.Process.Signal(syscall.SIGKILL)
			<-n.exited
		}
	}
	for _, n := range c.nodes {
		log := n.Log()
		for _, bad := range []string{"panic:", "fatal error:", "DATA RACE"} {
			if strings.Contains(log, bad) {
				c.t.Errorf("clustertest: node %d's log (%s) contains %q", n.ID, n.LogPath, bad)
			}
		}
	}
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Logf("clustertest: node %d (%s, log %s), last 60 lines:\n%s", n.ID, n.Addr, n.LogPath, n.LogTail(60))
		}
	}
}

// freeAddrs returns n distinct loopback addresses whose ports were free a
// moment ago. Every port stays bound until all are chosen: a port closed
// at once can be handed out again by the next bind, and two nodes given
// one port would leave the cluster a broker short.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	out := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("clustertest: find a free port: %v", err)
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// Node returns the broker with node id id.
func (c *Cluster) Node(id int32) *Node {
	c.t.Helper()
	if id < 1 || int(id) > len(c.nodes) {
		c.t.Fatalf("clustertest: no node %d (the cluster has 1..%d)", id, len(c.nodes))
	}
	return c.nodes[id-1]
}

// Nodes returns every broker, by node id.
func (c *Cluster) Nodes() []*Node { return slices.Clone(c.nodes) }

// IDs returns every node id.
func (c *Cluster) IDs() []int32 {
	ids := make([]int32, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.ID
	}
	return ids
}

// Live returns the ids of the brokers that are running and not paused.
func (c *Cluster) Live() []int32 {
	var ids []int32
	for _, n := range c.nodes {
		if n.Running() && !n.paused {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// Addrs returns every broker's Kafka address, by node id.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr
	}
	return out
}

// Bootstrap is the comma-separated bootstrap list of all brokers.
func (c *Cluster) Bootstrap() string { return strings.Join(c.Addrs(), ",") }

// Voters is the --voters value: id@controller-address for every voter.
func (c *Cluster) Voters() string {
	parts := make([]string, c.opts.Voters)
	for i, n := range c.nodes[:c.opts.Voters] {
		parts[i] = fmt.Sprintf("%d@%s", n.ID, n.ControllerAddr)
	}
	return strings.Join(parts, ",")
}

// Dir is the directory holding every broker's data and log.
func (c *Cluster) Dir() string { return c.dir }

// Kill sends SIGKILL to broker id and waits until it is gone.
func (c *Cluster) Kill(id int32) {
	c.t.Helper()
	c.t.Logf("clustertest: kill -9 node %d", id)
	c.Node(id).kill(c.t)
}

// Stop sends SIGTERM to broker id (a controlled shutdown) and waits up to
// a minute for it to exit with status 0.
func (c *Cluster) Stop(id int32) {
	c.t.Helper()
	c.t.Logf("clustertest: SIGTERM node %d", id)
	start := time.Now()
	c.Node(id).stop(c.t, time.Minute)
	c.t.Logf("clustertest: node %d exited %v after SIGTERM", id, time.Since(start).Round(time.Millisecond))
}

// Restart starts a stopped or killed broker again on the same ports and
// data directory and waits for its ready line and for Metadata to list
// it. A running broker is stopped with SIGTERM first.
func (c *Cluster) Restart(id int32) {
	c.t.Helper()
	n := c.Node(id)
	if n.Running() {
		c.Stop(id)
	}
	c.t.Logf("clustertest: start node %d (run %d)", id, n.runs+1)
	n.launch(c.t)
	n.waitReady(c.t, c.opts.ReadyTimeout)
	c.WaitBrokers(c.opts.ReadyTimeout)
}

// RestartAll starts every broker that is not running, all at once (a
// cluster that lost its quorum needs a majority up before any of them is
// ready), and waits until Metadata lists them all.
func (c *Cluster) RestartAll() {
	c.t.Helper()
	var started []*Node
	for _, n := range c.nodes {
		if !n.Running() {
			c.t.Logf("clustertest: start node %d (run %d)", n.ID, n.runs+1)
			n.launch(c.t)
			started = append(started, n)
		}
	}
	for _, n := range started {
		n.waitReady(c.t, c.opts.ReadyTimeout)
	}
	c.WaitBrokers(c.opts.ReadyTimeout)
}

// Pause stops broker id with SIGSTOP: it holds its connections and ports
// but answers nothing, like a broker in a long GC pause or a hung disk.
func (c *Cluster) Pause(id int32) {
	c.t.Helper()
	c.t.Logf("clustertest: SIGSTOP node %d", id)
	n := c.Node(id)
	n.signal(c.t, syscall.SIGSTOP)
	n.paused = true
}

// Resume continues a paused broker with SIGCONT.
func (c *Cluster) Resume(id int32) {
	c.t.Helper()
	c.t.Logf("clustertest: SIGCONT node %d", id)
	n := c.Node(id)
	n.signal(c.t, syscall.SIGCONT)
	n.paused = false
}

// Client returns a franz-go client seeded with every broker, closed when
// the test ends.
func (c *Cluster) Client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Addrs()...)}, opts...)...)
	if err != nil {
		c.t.Fatalf("clustertest: kgo.NewClient: %v", err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// Admin is the cluster's shared admin client.
func (c *Cluster) Admin() *kadm.Client { return c.adm }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}
