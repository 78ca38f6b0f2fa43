package controller

import (
	"context"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// loopEnv is one node's store with its controller, fast timeouts.
type loopEnv struct {
	t     *testing.T
	store Store
	ctrl  *Controller
	bc    config.Broker
}

func startLoop(t *testing.T) *loopEnv {
	t.Helper()
	ms, err := metadata.Open(metadata.Options{Dir: t.TempDir(), NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	e := &loopEnv{t: t, store: ms}
	e.bc = brokerConfig(t, map[string]string{
		config.BrokerHeartbeatIntervalMs:        "50",
		config.BrokerSessionTimeoutMs:           "400",
		config.ControlledShutdownRetryBackoffMs: "10",
	})
	e.ctrl = New(Options{NodeID: 1, Store: e.store, Config: func() config.Broker { return e.bc }})
	t.Cleanup(e.ctrl.Close)
	return e
}

func (e *loopEnv) member(id int32) *Member {
	m := NewMember(MemberOptions{Store: e.store, Self: metadata.Broker{NodeID: id, Host: "127.0.0.1", Port: 9000 + id}, Config: func() config.Broker { return e.bc }})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Register(ctx); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// waitFor polls the image until cond holds.
func (e *loopEnv) waitFor(what string, cond func(*metadata.Image) bool) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(e.store.Image()) {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *loopEnv) createTopic(name string, replicas []int32) {
	e.t.Helper()
	err := e.store.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(img, e.bc, metadata.TopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{replicas}})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// A broker that stops heartbeating is fenced after its session and loses
// its leadership; when it registers again it comes back unfenced; a
// controlled shutdown moves its leadership at once and fences it.
func TestLoopFencesSilentBrokers(t *testing.T) {
	e := startLoop(t)
	m1 := e.member(1)
	defer m1.Shutdown()
	m2 := e.member(2)
	e.createTopic("t", []int32{2, 1})
	if p := e.store.Image().Topic("t").Partitions[0]; p.Leader != 2 {
		t.Fatalf("leader %d, want 2", p.Leader)
	}

	// Broker 2 stops heartbeating (without a controlled shutdown).
	m2.cancel()
	m2.wg.Wait()
	start := time.Now()
	e.waitFor("broker 2 fenced", func(img *metadata.Image) bool { return img.Brokers[2].Fenced })
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("fenced after %v, before its session of 400ms", d)
	}
	p := e.store.Image().Topic("t").Partitions[0]
	if p.Leader != 1 || len(p.ISR) != 1 || p.ISR[0] != 1 || p.LeaderEpoch != 1 {
		t.Fatalf("after fencing: %s", describe(p))
	}
	if e.store.Image().Brokers[1].Fenced {
		t.Fatal("the heartbeating broker was fenced")
	}

	// It comes back: registered again, unfenced, with a new epoch; it is
	// not in the ISR (it must catch up first), so it does not lead.
	old := m2.Epoch()
	m2 = e.member(2)
	if m2.Epoch() <= old || e.store.Image().Brokers[2].Fenced {
		t.Fatalf("re-registration: epoch %d after %d, %+v", m2.Epoch(), old, e.store.Image().Brokers[2])
	}
	time.Sleep(600 * time.Millisecond) // longer than a session: heartbeats keep it
	if e.store.Image().Brokers[2].Fenced {
		t.Fatal("a heartbeating broker was fenced")
	}

	// Broker 1, the leader, shuts down in a controlled way: no ISR member
	// is left to lead (2 is not in the ISR), so the partition has no
	// leader, and 1 is fenced at once, long before its session would end.
	start = time.Now()
	m1.Shutdown()
	if !e.store.Image().Brokers[1].Fenced || time.Since(start) > 300*time.Millisecond {
		t.Fatalf("controlled shutdown: broker 1 %+v after %v", e.store.Image().Brokers[1], time.Since(start))
	}
	if p := e.store.Image().Topic("t").Partitions[0]; p.Leader != -1 || p.ISR[0] != 1 {
		t.Fatalf("after controlled shutdown: %s", describe(p))
	}
	m2.Shutdown()
}

// A broker told it is fenced registers again by itself.
func TestMemberRegistersAgainWhenFenced(t *testing.T) {
	e := startLoop(t)
	m := e.member(3)
	defer m.Shutdown()
	first := m.Epoch()
	if err := e.store.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		return Fence(img, e.bc, 3), nil
	}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("broker 3 back", func(img *metadata.Image) bool { return !img.Brokers[3].Fenced })
	if m.Epoch() <= first || e.store.Image().Brokers[3].Epoch != m.Epoch() {
		t.Fatalf("epoch %d after %d, image %+v", m.Epoch(), first, e.store.Image().Brokers[3])
	}
}
