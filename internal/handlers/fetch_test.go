package handlers_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchReq builds a Fetch v13 request for partitions of one topic, all
// from offset 0 with partition max bytes pmax.
func (e *admEnv) fetchReq(topic string, pmax int32, parts ...int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxBytes = 50 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rt.TopicID = e.topicID(topic)
	for _, p := range parts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p
		rp.PartitionMaxBytes = pmax
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func partitionBytes(resp *kmsg.FetchResponse) []int {
	var out []int
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out = append(out, len(p.RecordBatches))
		}
	}
	return out
}

// TestFetchByteLimits checks per-partition and per-request max bytes at
// batch granularity, and KIP-74: the first batch is returned even when it
// is larger than both limits, so a consumer can always make progress.
func TestFetchByteLimits(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("lim", 2, nil)
	one := len(batchOf(string(make([]byte, 1000))))
	for p := int32(0); p < 2; p++ {
		for i := 0; i < 5; i++ {
			if r := e.rawProduce("lim", p, -1, batchOf(string(make([]byte, 1000)))); r.ErrorCode != 0 {
				t.Fatalf("produce: %d", r.ErrorCode)
			}
		}
	}
	// Room for two and a half batches per partition: two are returned.
	resp := e.request(e.fetchReq("lim", int32(one*5/2), 0, 1)).(*kmsg.FetchResponse)
	if got := partitionBytes(resp); got[0] != 2*one || got[1] != 2*one {
		t.Fatalf("partition max bytes %d: got %v bytes, want two batches (%d) each", one*5/2, got, 2*one)
	}
	// A request limit of three batches: the first partition takes two,
	// the second gets what is left (one batch).
	req := e.fetchReq("lim", int32(one*5/2), 0, 1)
	req.MaxBytes = int32(3 * one)
	resp = e.request(req).(*kmsg.FetchResponse)
	if got := partitionBytes(resp); got[0] != 2*one || got[1] != one {
		t.Fatalf("request max bytes %d: got %v, want [%d %d]", 3*one, got, 2*one, one)
	}
	// Limits smaller than one batch: the first partition still gets one
	// batch; the second, nothing.
	req = e.fetchReq("lim", 10, 0, 1)
	req.MaxBytes = 10
	resp = e.request(req).(*kmsg.FetchResponse)
	if got := partitionBytes(resp); got[0] != one || got[1] != 0 {
		t.Fatalf("tiny limits: got %v, want [%d 0]", got, one)
	}
}

// TestFetchMinBytesWaits checks that a fetch waits up to max wait for min
// bytes and then answers with what it has.
func TestFetchMinBytesWaits(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("wait", 1, nil)
	req := e.fetchReq("wait", 1<<20, 0)
	req.MinBytes = 1
	req.MaxWaitMillis = 300
	start := time.Now()
	resp := e.request(req).(*kmsg.FetchResponse)
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("empty fetch returned after %v, before its max wait", waited)
	}
	if got := partitionBytes(resp); got[0] != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("empty fetch: %v bytes, code %d", got, resp.Topics[0].Partitions[0].ErrorCode)
	}
}

// TestFetchSessionsDeclined checks the KIP-227 answers of a broker without
// fetch sessions.
func TestFetchSessionsDeclined(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("s", 1, nil)
	req := e.fetchReq("s", 1<<20, 0)
	req.SessionID, req.SessionEpoch = 0, 0 // "open a session"
	resp := e.request(req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID != 0 || len(resp.Topics) != 1 {
		t.Fatalf("session open: code %d session %d topics %d; want a sessionless full answer", resp.ErrorCode, resp.SessionID, len(resp.Topics))
	}
	req.SessionID, req.SessionEpoch = 1234, 1 // incremental on a session we never gave
	resp = e.request(req).(*kmsg.FetchResponse)
	wantCode(t, "unknown session", resp.ErrorCode, nil, kerr.FetchSessionIDNotFound, "")
}

// TestFetchPartitionErrors checks out of range offsets, leader epochs
// from the future and the past, and unknown topic ids.
func TestFetchPartitionErrors(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("err", 1, nil)
	e.rawProduce("err", 0, -1, batchOf("a", "b"))
	cases := []struct {
		name  string
		tweak func(*kmsg.FetchRequest)
		want  *kerr.Error
	}{
		{"offset past the end", func(r *kmsg.FetchRequest) { r.Topics[0].Partitions[0].FetchOffset = 3 }, kerr.OffsetOutOfRange},
		{"negative offset", func(r *kmsg.FetchRequest) { r.Topics[0].Partitions[0].FetchOffset = -5 }, kerr.OffsetOutOfRange},
		{"future leader epoch", func(r *kmsg.FetchRequest) { r.Topics[0].Partitions[0].CurrentLeaderEpoch = 7 }, kerr.UnknownLeaderEpoch},
		{"unknown topic id", func(r *kmsg.FetchRequest) { r.Topics[0].TopicID = [16]byte{1, 2, 3} }, kerr.UnknownTopicID},
		{"unknown partition", func(r *kmsg.FetchRequest) { r.Topics[0].Partitions[0].Partition = 9 }, kerr.UnknownTopicOrPartition},
	}
	for _, tc := range cases {
		req := e.fetchReq("err", 1<<20, 0)
		req.MaxWaitMillis = 10000 // errors must be answered at once, not after this
		req.MinBytes = 1
		tc.tweak(req)
		start := time.Now()
		resp := e.request(req).(*kmsg.FetchResponse)
		p := resp.Topics[0].Partitions[0]
		wantCode(t, tc.name, p.ErrorCode, nil, tc.want, "")
		if time.Since(start) > 5*time.Second {
			t.Errorf("%s: answered only after the max wait", tc.name)
		}
	}
	// The current epoch (0 on a fresh single node) is accepted.
	req := e.fetchReq("err", 1<<20, 0)
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = 0
	resp := e.request(req).(*kmsg.FetchResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 2 || len(p.RecordBatches) == 0 {
		t.Fatalf("current epoch: code %d hw %d bytes %d", p.ErrorCode, p.HighWatermark, len(p.RecordBatches))
	}
}
