package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzDeleteRecords moves the log start offset with DeleteRecords and
// checks every way a client can observe it: the response's low watermark,
// ListOffsets earliest, a raw fetch below it (OFFSET_OUT_OF_RANGE), and a
// consumer asked for offset 0 (reset to the new start).
func TestFranzDeleteRecords(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "trimmed"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)
	acked := produceFranz(t, cl, keyed(topic, "d", 10)...)
	adm := kadm.NewClient(cl)

	deleteTo := func(offset int64) kadm.DeleteRecordsResponse {
		t.Helper()
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: topic, Partition: 0, At: offset})
		resp, err := adm.DeleteRecords(testCtx(t), os)
		if err != nil {
			t.Fatalf("delete records to %d: %v", offset, err)
		}
		r, ok := resp.Lookup(topic, 0)
		if !ok {
			t.Fatalf("delete records to %d: no response for partition 0: %+v", offset, resp)
		}
		return r
	}

	if r := deleteTo(4); r.Err != nil || r.LowWatermark != 4 {
		t.Fatalf("delete records to 4: got low watermark %d err %v, want 4 and no error", r.LowWatermark, r.Err)
	}
	if s := startOffsets(t, addr, topic)[0]; s != 4 {
		t.Fatalf("start offset after delete = %d, want 4", s)
	}
	if e := endOffsets(t, addr, topic)[0]; e != 10 {
		t.Fatalf("end offset after delete = %d, want 10 (deleting records must not move the end)", e)
	}

	fp := rawFetch(t, cl, topic, 0, 2, 0)
	requireKerr(t, "fetch below the log start", kerr.ErrorForCode(fp.ErrorCode), kerr.OffsetOutOfRange)
	if fp.LogStartOffset != 4 {
		t.Errorf("fetch below the log start: log start offset in response = %d, want 4", fp.LogStartOffset)
	}

	// Fetching at the new start serves from exactly there.
	fp = rawFetch(t, cl, topic, 0, 4, 0)
	if err := kerr.ErrorForCode(fp.ErrorCode); err != nil {
		t.Fatalf("fetch at the log start: %v", err)
	}
	if fp.LogStartOffset != 4 || fp.HighWatermark != 10 {
		t.Errorf("fetch at the log start: log start %d, high watermark %d, want 4 and 10", fp.LogStartOffset, fp.HighWatermark)
	}

	// A consumer asking for offset 0 is reset to the start: offset 4.
	got := consumeFranz(t, addr, topic, 0, kgo.NewOffset().At(0), 6)
	requireRecs(t, "consume from 0 after delete", got, acked[4:])

	// Deleting below the start is a no-op, past the end is an error, and -1
	// means "up to the high watermark".
	if r := deleteTo(2); r.Err != nil || r.LowWatermark != 4 {
		t.Errorf("delete records to 2 (below start 4): low watermark %d err %v, want 4 and no error", r.LowWatermark, r.Err)
	}
	if r := deleteTo(11); !errorsIs(r.Err, kerr.OffsetOutOfRange) {
		t.Errorf("delete records to 11 (end is 10): err %v, want OFFSET_OUT_OF_RANGE", r.Err)
	}
	if r := deleteTo(-1); r.Err != nil || r.LowWatermark != 10 {
		t.Errorf("delete records to -1 (high watermark): low watermark %d err %v, want 10 and no error", r.LowWatermark, r.Err)
	}
	if s, e := startOffsets(t, addr, topic)[0], endOffsets(t, addr, topic)[0]; s != 10 || e != 10 {
		t.Errorf("after deleting everything: start %d end %d, want 10 and 10", s, e)
	}

	// The next record still gets offset 10.
	next := produceFranz(t, cl, &kgo.Record{Topic: topic, Value: []byte("after")})
	requireRecs(t, "produce after deleting all", next, []rec{{0, 10, "", "after"}})
}
