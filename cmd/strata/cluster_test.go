package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestWriteClusterStatus(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	st := clusterStatus{
		clusterID:    "abc",
		controllerID: 2,
		fencedKnown:  true,
		now:          now,
		brokers: []clusterBroker{
			{id: 1, addr: "127.0.0.1:9092"},
			{id: 2, addr: "127.0.0.1:9093", rack: "r2"},
			{id: 3, addr: "127.0.0.1:9094", fenced: true},
		},
		quorum: &kmsg.DescribeQuorumResponseTopicPartition{
			LeaderID: 2, LeaderEpoch: 7, HighWatermark: 120,
			CurrentVoters: []kmsg.DescribeQuorumResponseTopicPartitionReplicaState{
				{ReplicaID: 1, LogEndOffset: 120, LastFetchTimestamp: 1_000_000 - 15, LastCaughtUpTimestamp: 1_000_000 - 15},
				{ReplicaID: 2, LogEndOffset: 120, LastFetchTimestamp: -1, LastCaughtUpTimestamp: -1},
				{ReplicaID: 3, LogEndOffset: 100, LastFetchTimestamp: 1_000_000 - 9000, LastCaughtUpTimestamp: 1_000_000 - 9500},
			},
		},
	}
	var buf bytes.Buffer
	if err := writeClusterStatus(&buf, st); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{
		"ClusterId:\tabc\n",
		"Controller:\t2\n",
		"1       127.0.0.1:9092  -     alive\n",
		"2       127.0.0.1:9093  r2    alive (active controller)\n",
		"3       127.0.0.1:9094  -     fenced\n",
		"3 brokers, 2 alive\n",
		"Quorum LeaderId:\t2\n", "Quorum LeaderEpoch:\t7\n", "Quorum HighWatermark:\t120\n",
		"1     Follower  120             0    15ms ago    15ms ago\n",
		"2     Leader    120             0    -           -\n",
		"3     Follower  100             20   9s ago      9.5s ago\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}

	buf.Reset()
	st.quorum, st.quorumErr, st.fencedKnown = nil, errors.New("the cluster does not support DescribeQuorum"), false
	writeClusterStatus(&buf, st)
	if got := buf.String(); !strings.Contains(got, "Quorum:\tunavailable (the cluster does not support DescribeQuorum)") ||
		!strings.Contains(got, "does not list fenced brokers") {
		t.Errorf("output:\n%s", got)
	}
}

func TestPlanDevCluster(t *testing.T) {
	dir := t.TempDir()
	nodes, err := planDevCluster(3, 0, "127.0.0.1", dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, n := range nodes {
		if n.id != int32(i+1) || !strings.HasSuffix(n.dataDir, "node-"+string(rune('1'+i))) {
			t.Errorf("node %d: %+v", i, n)
		}
		for _, a := range []string{n.addr, n.controllerAddr} {
			if seen[a] || strings.HasSuffix(a, ":0") {
				t.Errorf("address %s reused or unresolved", a)
			}
			seen[a] = true
		}
	}
	if v := devVoters(nodes); strings.Count(v, "@") != 3 || !strings.HasPrefix(v, "1@127.0.0.1:") {
		t.Errorf("voters %q", v)
	}
}
