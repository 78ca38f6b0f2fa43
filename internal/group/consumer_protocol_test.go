package group

import (
	"testing"
	"time"

	"github.com/strata-io/strata/internal/config"
)

func TestConsumerConfigFrom(t *testing.T) {
	b, err := config.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConsumerConfigFrom(b)
	if cfg.SessionTimeout != 45*time.Second || cfg.HeartbeatInterval != 5*time.Second || cfg.MaxSize != 1<<31-1 ||
		len(cfg.Assignors) != 2 || cfg.Assignors[0].Name() != "uniform" || cfg.Assignors[1].Name() != "range" {
		t.Fatalf("defaults: %+v", cfg)
	}
	b, err = config.NewBroker(map[string]string{
		config.GroupConsumerAssignors:              " range ",
		config.GroupConsumerSessionTimeoutMs:       "50000",
		config.GroupConsumerHeartbeatIntervalMs:    "6000",
		config.GroupConsumerMaxSize:                "7",
		config.GroupConsumerMaxSessionTimeoutMs:    "60000",
		config.GroupConsumerMaxHeartbeatIntervalMs: "15000",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg = ConsumerConfigFrom(b)
	if cfg.SessionTimeout != 50*time.Second || cfg.HeartbeatInterval != 6*time.Second || cfg.MaxSize != 7 ||
		len(cfg.Assignors) != 1 || cfg.Assignors[0].Name() != "range" {
		t.Fatalf("set: %+v", cfg)
	}
	// The first configured assignor is the default of a group whose
	// members name none.
	g := NewConsumerGroup("g", cfg)
	if g.PreferredAssignor().Name() != "range" {
		t.Fatalf("default assignor %s", g.PreferredAssignor().Name())
	}
}

func TestPreferredAssignorVotes(t *testing.T) {
	g := NewConsumerGroup("g", DefaultConsumerConfig())
	if g.PreferredAssignor().Name() != "uniform" {
		t.Fatal("default is not uniform")
	}
	for id, a := range map[string]string{"a": "range", "b": "range", "c": "uniform", "d": ""} {
		g.Members[id] = &ConsumerMember{ID: id, ServerAssignor: a}
	}
	if got := g.PreferredAssignor().Name(); got != "range" {
		t.Fatalf("most members ask for range, got %s", got)
	}
	g.Members["e"] = &ConsumerMember{ID: "e", ServerAssignor: "uniform"}
	if got := g.PreferredAssignor().Name(); got != "range" {
		t.Fatalf("a tie goes to the lower name (range), got %s", got)
	}
}
