package handlers_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeQuorumOneNode(t *testing.T) {
	e := admStart(t, nil)
	req := kmsg.NewPtrDescribeQuorumRequest()
	rt := kmsg.NewDescribeQuorumRequestTopic()
	rt.Topic = "__cluster_metadata"
	for _, p := range []int32{0, 1} {
		rp := kmsg.NewDescribeQuorumRequestTopicPartition()
		rp.Partition = p
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.DescribeQuorumResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("response %+v", resp)
	}
	p := resp.Topics[0].Partitions[0]
	wantCode(t, "quorum", p.ErrorCode, p.ErrorMessage, nil, "")
	if p.LeaderID != admNodeID || len(p.CurrentVoters) != 1 || p.CurrentVoters[0].ReplicaID != admNodeID || p.HighWatermark <= 0 {
		t.Errorf("quorum %+v, want node %d leading itself with a high watermark", p, admNodeID)
	}
	wantCode(t, "partition 1", resp.Topics[0].Partitions[1].ErrorCode, nil, kerr.UnknownTopicOrPartition, "")
}
