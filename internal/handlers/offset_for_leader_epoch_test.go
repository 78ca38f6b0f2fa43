package handlers_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOffsetForLeaderEpoch(t *testing.T) {
	e := admStart(t, nil)
	const topic = "epochs"
	e.createTopic(topic, 1, nil)
	e.mustProduce(topic, 0, []byte("a"), []byte("b"), []byte("c"))
	e.mustProduce(topic, 0, []byte("d"), []byte("e"))

	md, err := e.adm.Metadata(e.ctx(), topic)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	epoch := md.Topics[topic].Partitions[0].LeaderEpoch
	if epoch != 0 {
		t.Fatalf("a new topic's leader epoch is %d, want 0", epoch)
	}

	type ask struct {
		topic          string
		partition      int32
		current, epoch int32
	}
	type want struct {
		err   *kerr.Error
		epoch int32
		end   int64
	}
	for _, c := range []struct {
		what string
		ask  ask
		want want
	}{
		{"current epoch", ask{topic, 0, epoch, epoch}, want{nil, epoch, 5}},
		{"no current-epoch check", ask{topic, 0, -1, epoch}, want{nil, epoch, 5}},
		{"epoch newer than any", ask{topic, 0, -1, epoch + 3}, want{nil, -1, -1}},
		{"client ahead of the leader", ask{topic, 0, epoch + 1, epoch}, want{kerr.UnknownLeaderEpoch, -1, -1}},
		{"unknown partition", ask{topic, 4, -1, epoch}, want{kerr.UnknownTopicOrPartition, -1, -1}},
		{"unknown topic", ask{"missing", 0, -1, epoch}, want{kerr.UnknownTopicOrPartition, -1, -1}},
	} {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = c.ask.topic
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = c.ask.partition, c.ask.current, c.ask.epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := e.request(req).(*kmsg.OffsetForLeaderEpochResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("%s: %+v", c.what, resp.Topics)
		}
		p := resp.Topics[0].Partitions[0]
		wantCode(t, c.what, p.ErrorCode, nil, c.want.err, "")
		if p.Partition != c.ask.partition || p.LeaderEpoch != c.want.epoch || p.EndOffset != c.want.end {
			t.Errorf("%s: partition %d epoch %d end %d, want %d, %d, %d", c.what, p.Partition, p.LeaderEpoch, p.EndOffset, c.ask.partition, c.want.epoch, c.want.end)
		}
	}

	// Through kadm (which shards by leader), as a client would.
	var req kadm.OffsetForLeaderEpochRequest
	req.Add(topic, 0, epoch)
	res, err := e.adm.OffsetForLeaderEpoch(e.ctx(), req)
	if err != nil {
		t.Fatalf("kadm offset for leader epoch: %v", err)
	}
	got, ok := res[topic][0]
	if !ok || got.Err != nil || got.EndOffset != 5 || got.LeaderEpoch != epoch {
		t.Fatalf("kadm offset for leader epoch: %+v (found %v), want end 5 epoch %d", got, ok, epoch)
	}
}
