package brokertest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/server"
)

// Cluster is n in-process brokers, each a voter of the metadata quorum,
// on 127.0.0.1 ports chosen by the OS. Node i (0-based) has node.id i+1.
// A stopped node restarts on the same data directory and ports.
type Cluster struct {
	t         testing.TB
	overrides map[string]string
	voters    string

	mu    sync.Mutex
	nodes []*clusterNode
}

type clusterNode struct {
	id        int32
	dir       string
	ctrlAddr  string
	kafkaAddr string // "127.0.0.1:0" until the first start binds a port
	b         *server.Broker
}

// StartCluster starts n brokers at once (each waits for a quorum of the
// others) with the given config overrides on every node, and stops them
// when the test ends. It returns once every node sees every other as a
// live broker.
func StartCluster(t testing.TB, n int, overrides map[string]string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, overrides: overrides}
	lns := make([]net.Listener, n)
	var voters []string
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("brokertest: controller listener: %v", err)
		}
		lns[i] = ln
		c.nodes = append(c.nodes, &clusterNode{id: int32(i + 1), dir: t.TempDir(), ctrlAddr: ln.Addr().String(), kafkaAddr: "127.0.0.1:0"})
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, ln.Addr()))
	}
	c.voters = strings.Join(voters, ",")
	t.Cleanup(func() {
		for i := range c.nodes {
			if b := c.Broker(i); b != nil {
				c.Stop(i)
			}
		}
	})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(i, lns[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		t.Fatalf("brokertest: starting the cluster: %v", err)
	}
	c.waitSettled()
	return c
}

// settleTimeout bounds the wait for every node to see every other.
const settleTimeout = 30 * time.Second

// waitSettled waits until every running node's image lists every running
// node as a live (registered, unfenced) broker, so a test's first request
// sees the whole cluster wherever it lands, and then until every node has
// applied the log as far as the furthest one had. A restarted node replays
// its log: part way through, its image can show it unfenced (from before
// it stopped) with leaderships and ISRs long since changed, so seeing
// itself live does not mean it has caught up.
func (c *Cluster) waitSettled() {
	c.t.Helper()
	deadline := time.Now().Add(settleTimeout)
	target := int64(-1) // the offset every node must reach, once live
	for {
		c.mu.Lock()
		var running []*clusterNode
		for _, n := range c.nodes {
			if n.b != nil {
				running = append(running, n)
			}
		}
		c.mu.Unlock()
		settled, furthest := true, int64(0)
		for _, n := range running {
			img := n.b.Metadata().Image()
			furthest = max(furthest, img.Offset)
			if target >= 0 {
				settled = settled && img.Offset >= target
				continue
			}
			for _, other := range running {
				if b, ok := img.Brokers[other.id]; !ok || b.Fenced {
					settled = false
				}
			}
		}
		switch {
		case settled && target >= 0:
			return
		case settled:
			target = furthest
			continue
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("brokertest: the nodes did not all see each other registered and catch up (offset %d) within %v", target, settleTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start starts node i with ln as its controller listener.
func (c *Cluster) start(i int, ln net.Listener) error {
	c.mu.Lock()
	n := c.nodes[i]
	c.mu.Unlock()
	set := map[string]string{
		"node.id":                     fmt.Sprint(n.id),
		"listeners":                   config.JoinListeners(n.kafkaAddr, n.ctrlAddr),
		"log.dirs":                    n.dir,
		config.ControllerQuorumVoters: c.voters,
	}
	for k, v := range c.overrides {
		set[k] = v
	}
	cfg, err := config.NewBroker(set)
	if err != nil {
		ln.Close()
		return fmt.Errorf("node %d config: %w", n.id, err)
	}
	b, err := server.New(cfg, server.Options{Logger: testLogger().With("test_node", n.id), ControllerListener: ln})
	if err != nil {
		ln.Close() // (closed already if the metadata store had opened)
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	c.mu.Lock()
	n.b, n.kafkaAddr = b, b.Addr().String()
	c.mu.Unlock()
	return nil
}

// Broker is node i's broker, nil while it is stopped.
func (c *Cluster) Broker(i int) *server.Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].b
}

// Addrs are the nodes' Kafka addresses (a stopped node's too: it comes
// back on the same one), for a client's seed brokers.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.kafkaAddr
	}
	return out
}

// NodeID is node i's node.id.
func (c *Cluster) NodeID(i int) int32 { return int32(i + 1) }

// Stop closes node i's broker (a clean shutdown).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.mu.Lock()
	b := c.nodes[i].b
	c.nodes[i].b = nil
	c.mu.Unlock()
	if b == nil {
		c.t.Fatalf("brokertest: node %d is not running", i+1)
	}
	if err := b.Close(); err != nil {
		c.t.Errorf("brokertest: closing node %d: %v", i+1, err)
	}
}

// Restart starts a stopped node i again on its data and ports. It returns
// once the node has caught up with the quorum and every running node sees
// it registered and unfenced.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	n := c.nodes[i]
	c.mu.Unlock()
	var err error
	// The ports were free when the node stopped; another process may hold
	// one for a moment (or the OS, until it lets go of it).
	for try := 0; try < 50; try++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", n.ctrlAddr); err == nil {
			if err = c.start(i, ln); err == nil {
				c.waitSettled()
				return
			}
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("brokertest: restarting node %d: %v", n.id, err)
}

// image is the metadata image of the first running node.
func (c *Cluster) image() *metadata.Image {
	for i := range c.nodes {
		if b := c.Broker(i); b != nil {
			return b.Metadata().Image()
		}
	}
	return nil
}

// Leader is the index of the node that leads topic's partition p in a
// running node's image, -1 if none does (or the topic is unknown).
func (c *Cluster) Leader(topic string, p int32) int {
	img := c.image()
	if img == nil {
		return -1
	}
	t := img.Topic(topic)
	if t == nil || int(p) >= len(t.Partitions) || t.Partitions[p].Leader < 1 || int(t.Partitions[p].Leader) > len(c.nodes) {
		return -1
	}
	return int(t.Partitions[p].Leader) - 1
}

// Controller is the index of the active controller as a running node
// sees it, -1 if there is none.
func (c *Cluster) Controller() int {
	img := c.image()
	if img == nil || img.ControllerID < 1 || int(img.ControllerID) > len(c.nodes) {
		return -1
	}
	return int(img.ControllerID) - 1
}
