package handlers_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// deleteRecords sends one DeleteRecords request for topic's partitions
// (partition → offset) straight to the broker and returns the partitions'
// responses by partition.
func (e *admEnv) deleteRecords(topic string, offsets map[int32]int64) map[int32]kmsg.DeleteRecordsResponseTopicPartition {
	e.t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	for p, o := range offsets {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = p, o
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.DeleteRecordsResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].Topic != topic {
		e.t.Fatalf("delete records: %+v", resp.Topics)
	}
	out := map[int32]kmsg.DeleteRecordsResponseTopicPartition{}
	for _, p := range resp.Topics[0].Partitions {
		out[p.Partition] = p
	}
	if len(out) != len(offsets) {
		e.t.Fatalf("delete records: %d partitions answered, want %d", len(out), len(offsets))
	}
	return out
}

func (e *admEnv) startOffset(topic string, partition int32) int64 {
	e.t.Helper()
	lo, err := e.adm.ListStartOffsets(e.ctx(), topic)
	if err != nil {
		e.t.Fatalf("list start offsets: %v", err)
	}
	o, ok := lo.Lookup(topic, partition)
	if !ok || o.Err != nil {
		e.t.Fatalf("list start offsets of %s/%d: %v", topic, partition, o.Err)
	}
	return o.Offset
}

func TestDeleteRecords(t *testing.T) {
	e := admStart(t, nil)
	const topic = "trimmed"
	e.createTopic(topic, 2, nil)
	for i := range 10 {
		e.mustProduce(topic, 0, []byte(fmt.Sprint("record ", i)))
	}

	r := e.deleteRecords(topic, map[int32]int64{0: 4, 1: 0, 7: 0})
	if r[0].ErrorCode != 0 || r[0].LowWatermark != 4 {
		t.Fatalf("delete 0 before 4: error %d low watermark %d, want 4", r[0].ErrorCode, r[0].LowWatermark)
	}
	if r[1].ErrorCode != 0 || r[1].LowWatermark != 0 {
		t.Errorf("delete empty 1 before 0: error %d low watermark %d, want 0", r[1].ErrorCode, r[1].LowWatermark)
	}
	wantCode(t, "unknown partition", r[7].ErrorCode, nil, kerr.UnknownTopicOrPartition, "")
	if r[7].LowWatermark != -1 {
		t.Errorf("unknown partition: low watermark %d, want -1", r[7].LowWatermark)
	}
	if s := e.startOffset(topic, 0); s != 4 {
		t.Fatalf("ListOffsets earliest after delete = %d, want 4", s)
	}

	// Below the new start is gone; the start itself is served.
	fp := e.fetch(topic, 0, 3)
	wantCode(t, "fetch at 3", fp.ErrorCode, nil, kerr.OffsetOutOfRange, "")
	fp = e.fetch(topic, 0, 4)
	wantCode(t, "fetch at 4", fp.ErrorCode, nil, nil, "")
	if first, last := batchOffsets(t, fp.RecordBatches); first != 4 || last != 9 || fp.LogStartOffset != 4 {
		t.Fatalf("fetch at 4: offsets %d..%d, log start %d; want 4..9 and 4", first, last, fp.LogStartOffset)
	}

	for _, c := range []struct {
		what   string
		offset int64
		want   *kerr.Error
		low    int64
	}{
		{"below the start (no-op)", 2, nil, 4},
		{"past the high watermark", 11, kerr.OffsetOutOfRange, -1},
		{"negative", -7, kerr.OffsetOutOfRange, -1},
		{"the high watermark", -1, nil, 10},
	} {
		r := e.deleteRecords(topic, map[int32]int64{0: c.offset})[0]
		wantCode(t, c.what, r.ErrorCode, nil, c.want, "")
		if r.LowWatermark != c.low {
			t.Errorf("%s: low watermark %d, want %d", c.what, r.LowWatermark, c.low)
		}
	}
	if s := e.startOffset(topic, 0); s != 10 {
		t.Fatalf("ListOffsets earliest after deleting all = %d, want 10", s)
	}
	e.mustProduce(topic, 0, []byte("after"))
	if first, _ := batchOffsets(t, e.fetch(topic, 0, 10).RecordBatches); first != 10 {
		t.Fatalf("record produced after deleting all has offset %d, want 10", first)
	}

	r = e.deleteRecords("missing", map[int32]int64{0: 0})
	wantCode(t, "unknown topic", r[0].ErrorCode, nil, kerr.UnknownTopicOrPartition, "")
}
