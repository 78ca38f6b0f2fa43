package controller

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

func TestFence(t *testing.T) {
	cases := []struct {
		name    string
		c       cluster
		fence   []int32
		want    []string
		unclean bool
	}{
		{
			name:  "leader moves to the next ISR member in replica order",
			c:     cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {"r=3,1,2 isr=1,2,3 l=3 le=4 pe=9"}}},
			fence: []int32{3},
			want:  []string{"r=3,1,2 isr=1,2 l=1 le=5 pe=10"},
		},
		{
			name:  "a follower leaves the ISR; the leader epoch stays",
			c:     cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {"r=1,2,3 isr=1,2,3 l=1"}}},
			fence: []int32{2},
			want:  []string{"r=1,2,3 isr=1,3 l=1 le=0 pe=1"},
		},
		{
			name:  "the last ISR member stays in the ISR, leaderless",
			c:     cluster{brokers: []int32{1, 2}, topics: map[string][]string{"t": {"r=1,2 isr=1 l=1"}}},
			fence: []int32{1},
			want:  []string{"r=1,2 isr=1 l=-1 le=1 pe=1"},
		},
		{
			name:    "unclean election takes a live replica outside the ISR",
			c:       cluster{brokers: []int32{1, 2}, topics: map[string][]string{"t": {"r=1,2 isr=1 l=1"}}},
			fence:   []int32{1},
			unclean: true,
			want:    []string{"r=1,2 isr=2 l=2 le=1 pe=1"},
		},
		{
			name:  "an out-of-ISR live replica is not elected cleanly",
			c:     cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {"r=1,2,3 isr=1,2 l=1"}}},
			fence: []int32{1, 2},
			want:  []string{"r=1,2,3 isr=2 l=-1 le=1 pe=1"},
		},
		{
			name:  "partitions without the broker do not change",
			c:     cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {"r=1,2 isr=1,2 l=1", "r=3 isr=3 l=3"}}},
			fence: []int32{3},
			want:  []string{"r=1,2 isr=1,2 l=1 le=0 pe=0", "r=3 isr=3 l=-1 le=1 pe=1"},
		},
		{
			name:  "an already fenced or unknown broker changes nothing",
			c:     cluster{brokers: []int32{1, -2}, topics: map[string][]string{"t": {"r=1,2 isr=1 l=1"}}},
			fence: []int32{2, 9},
			want:  []string{"r=1,2 isr=1 l=1 le=0 pe=0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unclean {
				tc.c.configs = map[string]map[string]string{"t": {config.UncleanLeaderElect: "true"}}
			}
			img := tc.c.image(t)
			next := applyChecked(t, img, Fence(img, brokerConfig(t, nil), tc.fence...))
			wantPartitions(t, "after fencing", next, "t", tc.want...)
			for _, id := range tc.fence {
				if b, ok := next.Brokers[id]; ok && !b.Fenced {
					t.Errorf("broker %d not fenced", id)
				}
			}
		})
	}
}

func TestFenceHonoursBrokerUncleanDefault(t *testing.T) {
	img := cluster{brokers: []int32{1, 2}, topics: map[string][]string{"t": {"r=1,2 isr=1 l=1"}}}.image(t)
	bc := brokerConfig(t, map[string]string{config.UncleanLeaderElect: "true"})
	wantPartitions(t, "unclean by broker default", applyChecked(t, img, Fence(img, bc, 1)), "t", "r=1,2 isr=2 l=2 le=1 pe=1")
}

func TestRegister(t *testing.T) {
	bc := brokerConfig(t, nil)
	me := func(id int32) metadata.Broker { return metadata.Broker{NodeID: id, Host: "127.0.0.1", Port: 9100 + id} }

	t.Run("first registration writes the cluster id", func(t *testing.T) {
		recs, epoch, err := Register(metadata.NewImage(), bc, me(1))
		if err != nil {
			t.Fatal(err)
		}
		img := applyChecked(t, metadata.NewImage(), recs)
		if img.ClusterID == "" || img.Brokers[1].Epoch != epoch || epoch <= 0 || img.Brokers[1].Fenced {
			t.Fatalf("cluster %q, broker %+v, epoch %d", img.ClusterID, img.Brokers[1], epoch)
		}
		recs, epoch2, _ := Register(img, bc, me(1))
		img2 := applyChecked(t, img, recs)
		if epoch2 <= epoch || img2.ClusterID != img.ClusterID {
			t.Fatalf("re-registration: epoch %d after %d, cluster %q after %q", epoch2, epoch, img2.ClusterID, img.ClusterID)
		}
	})

	cases := []struct {
		name string
		c    cluster
		id   int32
		want []string
	}{
		{
			name: "a fenced ISR member comes back and leads its leaderless partitions",
			c:    cluster{brokers: []int32{-1, 2}, topics: map[string][]string{"t": {"r=1,2 isr=1 l=-1 le=3 pe=4", "r=2,1 isr=2 l=2"}}},
			id:   1,
			want: []string{"r=1,2 isr=1 l=1 le=4 pe=5", "r=2,1 isr=2 l=2 le=0 pe=0"},
		},
		{
			name: "a restart within the session gives up the old incarnation's place",
			c:    cluster{brokers: []int32{1, 2}, topics: map[string][]string{"t": {"r=1,2 isr=1,2 l=1", "r=2,1 isr=2,1 l=2"}}},
			id:   1,
			want: []string{"r=1,2 isr=2 l=2 le=1 pe=1", "r=2,1 isr=2 l=2 le=0 pe=1"},
		},
		{
			name: "a lone replica restarting leads again, one epoch on",
			c:    cluster{brokers: []int32{1}, topics: map[string][]string{"t": {"r=1 isr=1 l=1 le=2 pe=2"}}},
			id:   1,
			want: []string{"r=1 isr=1 l=1 le=3 pe=3"},
		},
		{
			name: "a broker not in the ISR does not lead",
			c:    cluster{brokers: []int32{-1, -2}, topics: map[string][]string{"t": {"r=1,2 isr=2 l=-1"}}},
			id:   1,
			want: []string{"r=1,2 isr=2 l=-1 le=0 pe=0"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.c.image(t)
			recs, epoch, err := Register(img, bc, me(tc.id))
			if err != nil {
				t.Fatal(err)
			}
			next := applyChecked(t, img, recs)
			wantPartitions(t, "after registration", next, "t", tc.want...)
			b := next.Brokers[tc.id]
			if b.Fenced || b.Epoch != epoch || epoch <= epochOf || b.Port != 9100+tc.id {
				t.Errorf("registration %+v, epoch %d", b, epoch)
			}
		})
	}

	for _, bad := range []metadata.Broker{{NodeID: -1, Host: "h", Port: 1}, {NodeID: 1, Port: 1}, {NodeID: 1, Host: "h"}, {NodeID: 1, Host: "h", Port: 70000}} {
		if _, _, err := Register(metadata.NewImage(), bc, bad); !errors.Is(err, ErrInvalidRegistration) {
			t.Errorf("registration %+v: %v", bad, err)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	img := cluster{brokers: []int32{1, -2}}.image(t)
	cases := []struct {
		req    metadata.BrokerHeartbeatRequest
		code   int16
		fenced bool
		ok     bool
	}{
		{metadata.BrokerHeartbeatRequest{NodeID: 1, BrokerEpoch: epochOf}, 0, false, true},
		{metadata.BrokerHeartbeatRequest{NodeID: 1, BrokerEpoch: epochOf - 1}, kerr.StaleBrokerEpoch.Code, false, false},
		{metadata.BrokerHeartbeatRequest{NodeID: 1, BrokerEpoch: epochOf + 1}, 0, false, true}, // the image is behind
		{metadata.BrokerHeartbeatRequest{NodeID: 3, BrokerEpoch: epochOf}, kerr.StaleBrokerEpoch.Code, false, false},
		{metadata.BrokerHeartbeatRequest{NodeID: 2, BrokerEpoch: epochOf}, 0, true, false},
	}
	for _, tc := range cases {
		resp, ok := Heartbeat(img, tc.req)
		if resp.ErrorCode != tc.code || resp.Fenced != tc.fenced || ok != tc.ok {
			t.Errorf("%+v: %+v ok=%v", tc.req, resp, ok)
		}
	}
}

func TestControlledShutdown(t *testing.T) {
	img := cluster{brokers: []int32{1, 2, 3}, topics: map[string][]string{"t": {
		"r=1,2,3 isr=1,2,3 l=1",
		"r=2,1,3 isr=2,1 l=2",
		"r=1,3 isr=1 l=1",
		"r=3,2 isr=3,2 l=3",
	}}}.image(t)
	bc := brokerConfig(t, nil)
	recs, resp := ControlledShutdown(img, bc, metadata.ControlledShutdownRequest{NodeID: 1, BrokerEpoch: epochOf})
	if resp.ErrorCode != 0 || resp.Remaining != 0 {
		t.Fatalf("response %+v", resp)
	}
	next := applyChecked(t, img, recs)
	wantPartitions(t, "after controlled shutdown", next, "t",
		"r=1,2,3 isr=2,3 l=2 le=1 pe=1",
		"r=2,1,3 isr=2 l=2 le=0 pe=1",
		"r=1,3 isr=1 l=-1 le=1 pe=1",
		"r=3,2 isr=3,2 l=3 le=0 pe=0",
	)
	if !next.Brokers[1].Fenced {
		t.Error("broker 1 not fenced after its controlled shutdown")
	}
	if _, resp := ControlledShutdown(img, bc, metadata.ControlledShutdownRequest{NodeID: 1, BrokerEpoch: 3}); resp.ErrorCode != kerr.StaleBrokerEpoch.Code {
		t.Errorf("stale epoch: %+v", resp)
	}
	if recs, resp := ControlledShutdown(next, bc, metadata.ControlledShutdownRequest{NodeID: 1, BrokerEpoch: epochOf}); len(recs) != 0 || resp.ErrorCode != 0 {
		t.Errorf("repeated shutdown: %d records, %+v", len(recs), resp)
	}
}
