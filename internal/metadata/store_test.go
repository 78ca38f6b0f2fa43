package metadata

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/config"
)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func createTopic(t *testing.T, s *Store, name string, parts int32) {
	t.Helper()
	bc, _ := config.NewBroker(nil)
	err := s.Update(func(img *Image) ([]Record, error) {
		return CreateTopicRecords(img, bc, TopicSpec{Name: name, NumPartitions: parts, ReplicationFactor: 1})
	})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

func registerNode(t *testing.T, s *Store, id int32) {
	t.Helper()
	if err := s.Update(func(*Image) ([]Record, error) {
		return []Record{{Type: TypeRegisterBroker, Broker: &Broker{NodeID: id, Host: "h", Port: 1}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestStoreSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	if s.Image().ControllerID != 1 || !s.IsLeader() || s.LeaderID() != 1 {
		t.Fatalf("a single node is not its own controller: image %d, leader %v/%d", s.Image().ControllerID, s.IsLeader(), s.LeaderID())
	}
	registerNode(t, s, 1)
	createTopic(t, s, "a", 3)
	createTopic(t, s, "b", 1)
	id := s.Image().Topic("b").ID
	if err := s.Update(func(*Image) ([]Record, error) {
		return []Record{{Type: TypeDeleteTopic, TopicID: id}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	want := s.Image()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(*Image) ([]Record, error) { return []Record{{Type: TypeCluster, ClusterID: "x"}}, nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("update after close: %v", err)
	}

	s = openTestStore(t, dir)
	got := s.Image()
	if got.Offset != want.Offset || got.Topic("a") == nil || got.Topic("b") != nil || len(got.Topic("a").Partitions) != 3 {
		t.Fatalf("reopened image differs: offset %d/%d topics %v", got.Offset, want.Offset, got.TopicNames())
	}
	if got.TopicByID(got.Topic("a").ID) == nil {
		t.Fatal("id index not rebuilt")
	}
	createTopic(t, s, "c", 1)
	s.Close()
	s = openTestStore(t, dir)
	if s.Image().Topic("c") == nil {
		t.Fatal("update after reopen lost")
	}
}

func TestCreateTopicRules(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	registerNode(t, s, 1)
	createTopic(t, s, "orders.v1", 1)
	bc, _ := config.NewBroker(nil)
	cases := []struct {
		spec TopicSpec
		want error
	}{
		{TopicSpec{Name: "orders.v1", NumPartitions: 1, ReplicationFactor: 1}, ErrTopicExists},
		{TopicSpec{Name: "orders_v1", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{TopicSpec{Name: "bad name", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{TopicSpec{Name: "..", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{TopicSpec{Name: string(make([]byte, 250)), NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic},
		{TopicSpec{Name: "x", NumPartitions: 0, ReplicationFactor: 1}, ErrInvalidPartitions},
		{TopicSpec{Name: "x", NumPartitions: MaxPartitionsPerTopic + 1, ReplicationFactor: 1}, ErrInvalidPartitions},
		{TopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 2}, ErrInvalidReplicationFactor},
		{TopicSpec{Name: "x", NumPartitions: -1, ReplicationFactor: -1, Assignment: [][]int32{{1}, {2}}}, ErrInvalidReplicaAssignment},
		{TopicSpec{Name: "x", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "x"}}, config.ErrInvalid},
	}
	for _, tc := range cases {
		_, err := CreateTopicRecords(s.Image(), bc, tc.spec)
		if !errors.Is(err, tc.want) {
			t.Errorf("%+v: got %v, want %v", tc.spec.Name, err, tc.want)
		}
	}
	recs, err := CreateTopicRecords(s.Image(), bc, TopicSpec{Name: "d", NumPartitions: -1, ReplicationFactor: -1})
	if err != nil || len(recs[0].Topic.Partitions) != 1 || recs[0].Topic.Partitions[0].Leader != 1 {
		t.Fatalf("defaults: %v %+v", err, recs)
	}
}

func TestCreatePartitions(t *testing.T) {
	s := openTestStore(t, t.TempDir())
	defer s.Close()
	registerNode(t, s, 1)
	createTopic(t, s, "a", 2)
	if _, err := CreatePartitionsRecords(s.Image(), "a", 2, nil); !errors.Is(err, ErrInvalidPartitions) {
		t.Fatalf("shrink/equal accepted: %v", err)
	}
	if _, err := CreatePartitionsRecords(s.Image(), "nope", 3, nil); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
	if err := s.Update(func(img *Image) ([]Record, error) { return CreatePartitionsRecords(img, "a", 5, nil) }); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Image().Topic("a").Partitions); n != 5 {
		t.Fatalf("partitions %d", n)
	}
}

// BenchmarkOpenSingleNode is the start of a lone node's metadata quorum
// (it elects itself before Open returns), fresh or with a log to replay.
func BenchmarkOpenSingleNode(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		s, err := Open(Options{Dir: dir, NodeID: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Update(func(img *Image) ([]Record, error) {
			return []Record{{Type: TypeCluster, ClusterID: "c"}}, nil
		}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// A single node that ran on the in-memory transport and restarts with a
// controller listener takes it as its address in the quorum, so brokers
// that join later can reach it.
func TestLoneNodeGainsControllerListener(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir)
	registerNode(t, s, 1)
	s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, NodeID: 1, ControllerListen: ln.Addr().String(), ControllerListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, 5*time.Second, "the quorum to name the listener's address", func() bool {
		q := s.Quorum()
		return len(q.Voters) == 1 && q.Voters[0].Addr == ln.Addr().String()
	})
	if s.Image().Brokers[1].NodeID != 1 {
		t.Fatal("image lost across the restart")
	}
}
