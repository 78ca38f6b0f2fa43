package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// freePorts returns n ports that were free a moment ago (the flags need
// them before the servers start).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

var readyClusterID = regexp.MustCompile(`strata broker ready".* cluster_id=(\S+)`)

// TestServerThreeVoters starts three `strata server` commands with the
// issue's flags, all at once and with no format step: they form a
// quorum, agree on one generated cluster id, and serve a topic with
// replication factor 3.
func TestServerThreeVoters(t *testing.T) {
	ports := freePorts(t, 6)
	var voters []string
	for i := range 3 {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, ports[3+i]))
	}
	logs := make([]*syncBuffer, 3)
	done := make(chan error, 3)
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 3 {
		logs[i] = &syncBuffer{}
		cmd := newRootCmd()
		cmd.SetArgs([]string{"server",
			"--node-id", fmt.Sprint(i + 1),
			"--listen", fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"--controller-listen", fmt.Sprintf("127.0.0.1:%d", ports[3+i]),
			"--voters", strings.Join(voters, ","),
			"--data-dir", filepath.Join(t.TempDir(), "data"),
			// Stopping all three at once, the last one has no quorum to
			// move its leaderships to: it would retry for ~11 s.
			"--override", "controlled.shutdown.enable=false",
		})
		cmd.SetErr(logs[i])
		cmd.SetOut(logs[i])
		go func() { done <- cmd.ExecuteContext(ctx) }()
	}
	defer func() {
		cancel()
		start := time.Now()
		for range 3 {
			if err := <-done; err != nil {
				t.Errorf("server exited with %v", err)
			}
		}
		t.Logf("the three servers stopped in %v", time.Since(start))
		if os.Getenv("STRATA_TEST_LOG") != "" {
			for i, l := range logs {
				t.Logf("node %d:\n%s", i+1, l.String())
			}
		}
	}()
	ids := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for i := range 3 {
		for {
			if m := readyClusterID.FindStringSubmatch(logs[i].String()); m != nil {
				ids[m[1]] = true
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d not ready:\n%s", i+1, logs[i].String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("cluster ids %v: want one shared id", ids)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(fmt.Sprintf("127.0.0.1:%d", ports[2])))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	// Ready means registered; a broker becomes a placement target once
	// the controller has unfenced it (its first heartbeat).
	// NB: a raw request: kadm's BrokerMetadata answers from kgo's cache.
	for {
		md, err := kmsg.NewPtrMetadataRequest().RequestWith(rctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(md.Brokers) == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if _, err := adm.CreateTopic(rctx, 3, 3, nil, "t"); err != nil {
		t.Fatal(err)
	}
	t.Logf("CreateTopics took %v", time.Since(start))
	// Another broker may answer Metadata before the topic reaches its
	// image (as in Kafka, clients retry).
	var md kadm.Metadata
	for {
		md, err = adm.Metadata(rctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		if md.Topics["t"].Err == nil || rctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(md.Brokers) != 3 || len(md.Topics["t"].Partitions) != 3 || md.Controller < 1 {
		t.Fatalf("metadata: brokers %v, controller %d, topic %+v", md.Brokers.NodeIDs(), md.Controller, md.Topics["t"])
	}
	for _, p := range md.Topics["t"].Partitions {
		if len(p.Replicas) != 3 {
			t.Fatalf("partition %d replicas %v", p.Partition, p.Replicas)
		}
	}
}
