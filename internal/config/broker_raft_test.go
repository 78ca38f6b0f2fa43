package config

import (
	"errors"
	"maps"
	"testing"
)

func TestParseVoters(t *testing.T) {
	cases := []struct {
		in   string
		want map[int32]string
		bad  bool
	}{
		{in: "", want: map[int32]string{}},
		{in: "1@h1:9093,2@h2:9093, 3@10.0.0.3:9093", want: map[int32]string{1: "h1:9093", 2: "h2:9093", 3: "10.0.0.3:9093"}},
		{in: "1@[::1]:9093", want: map[int32]string{1: "[::1]:9093"}},
		{in: "1@h1", bad: true},
		{in: "h1:9093", bad: true},
		{in: "x@h1:9093", bad: true},
		{in: "-1@h1:9093", bad: true},
		{in: "1@:9093", bad: true},
		{in: "1@h1:0", bad: true},
		{in: "1@h1:70000", bad: true},
		{in: "1@h1:9093,1@h2:9093", bad: true},
		{in: "1@h1:9093,2@h1:9093", bad: true},
	}
	for _, tc := range cases {
		got, err := ParseVoters(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && !maps.Equal(got, tc.want)) {
			t.Errorf("%q: got %v, %v", tc.in, got, err)
		}
	}
}

func TestListenersAndQuorumConfigs(t *testing.T) {
	b, err := NewBroker(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093", ControllerQuorumVoters: "1@127.0.0.1:9093"})
	if err != nil {
		t.Fatal(err)
	}
	if b.ListenAddr() != "127.0.0.1:9092" || b.ControllerListenAddr() != "127.0.0.1:9093" || b.AdvertisedAddr() != "127.0.0.1:9092" {
		t.Fatalf("listen %q controller %q advertised %q", b.ListenAddr(), b.ControllerListenAddr(), b.AdvertisedAddr())
	}
	if b.Int(ControllerQuorumElectionTimeout) != 1000 || b.Int(ControllerQuorumFetchTimeout) != 2000 {
		t.Fatal("Kafka's quorum timeouts are not the defaults")
	}
	// The controller listener may come first; the client one is found.
	b, err = NewBroker(map[string]string{"listeners": "CONTROLLER://h:2,h:1"})
	if err != nil || b.ListenAddr() != "h:1" || b.ControllerListenAddr() != "h:2" {
		t.Fatalf("%v %q %q", err, b.ListenAddr(), b.ControllerListenAddr())
	}
	for _, set := range []map[string]string{
		{"listeners": "CONTROLLER://h:2"},                                  // no client listener
		{"listeners": "PLAINTEXT://h:1,PLAINTEXT://h:2"},                   // twice
		{ControllerQuorumVoters: "1@h:9093"},                               // a voter with no CONTROLLER listener
		{"node.id": "4", ControllerQuorumVoters: "1@h:9093"},               // a non-voter with none
		{ControllerQuorumVoters: "1@h:9093", "listeners": "CONTROLLER://"}, // bad address
	} {
		if _, err := NewBroker(set); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: got %v, want an invalid config", set, err)
		}
	}
	client, ctrl, err := SplitListeners(JoinListeners("a:1", "b:2"))
	if err != nil || client != "a:1" || ctrl != "b:2" {
		t.Fatalf("split/join: %q %q %v", client, ctrl, err)
	}
}

func TestAdvertisedControllerAddr(t *testing.T) {
	b, err := NewBroker(map[string]string{
		"node.id": "4", "listeners": "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
		"advertised.listeners": "PLAINTEXT://b4.example:9092,CONTROLLER://b4.example:9093",
		ControllerQuorumVoters: "1@h1:9093",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.AdvertisedAddr() != "b4.example:9092" || b.AdvertisedControllerAddr() != "b4.example:9093" {
		t.Fatalf("advertised %q controller %q", b.AdvertisedAddr(), b.AdvertisedControllerAddr())
	}
}
