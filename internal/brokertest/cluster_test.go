package brokertest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStartCluster: three brokers form a quorum, a topic created through
// one is on every node's image, the cluster goes on when the active
// controller stops, and the stopped node catches up when it restarts.
func TestStartCluster(t *testing.T) {
	c := StartCluster(t, 3, map[string]string{
		"controller.quorum.fetch.timeout.ms":    "400",
		"controller.quorum.election.timeout.ms": "200",
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, "t"); err != nil {
		t.Fatal(err)
	}
	sameOffset := func() bool {
		var off int64 = -1
		for i := range 3 {
			b := c.Broker(i)
			if b == nil {
				continue
			}
			img := b.Metadata().Image()
			if img.Topic("t") == nil || (off >= 0 && img.Offset != off) {
				return false
			}
			off = img.Offset
		}
		return true
	}
	waitFor(t, "every node to have the topic", sameOffset)
	if l := c.Leader("t", 0); l < 0 {
		t.Fatalf("no leader of t/0")
	}

	ctrl := c.Controller()
	if ctrl < 0 {
		t.Fatal("no active controller")
	}
	c.Stop(ctrl)
	waitFor(t, "another controller", func() bool { i := c.Controller(); return i >= 0 && i != ctrl })
	if _, err := adm.CreateTopic(ctx, 1, 2, nil, "u"); err != nil {
		t.Fatalf("create after the controller stopped: %v", err)
	}
	c.Restart(ctrl)
	if c.Broker(ctrl).Metadata().Image().Topic("u") == nil {
		t.Fatal("a restarted node returned from Restart without the changes it missed")
	}
	waitFor(t, "the restarted node to agree", sameOffset)
}

// A node that stopped without a controlled shutdown has a log in which it
// is still live; Restart must not return before it has applied what the
// cluster did meanwhile (its image replays through states where it looks
// settled long before it is current).
func TestRestartCatchesUp(t *testing.T) {
	c := StartCluster(t, 3, map[string]string{"controlled.shutdown.enable": "false"})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	victim := (c.Controller() + 1) % 3
	c.Stop(victim)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := adm.CreateTopic(ctx, 1, 2, nil, name); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	c.Restart(victim)
	for _, name := range []string{"a", "b", "c"} {
		if c.Broker(victim).Metadata().Image().Topic(name) == nil {
			t.Fatalf("the restarted node returned from Restart without topic %s", name)
		}
	}
}
