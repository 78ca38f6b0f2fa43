package clienttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestOffsetOutOfRange checks Fetch against the log's bounds: past the end
// is OFFSET_OUT_OF_RANGE, exactly at the end is an empty success, and a
// consumer with no reset policy surfaces the error instead of resetting.
func TestOffsetOutOfRange(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "bounded"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)
	produceFranz(t, cl, keyed(topic, "o", 5)...)

	for _, off := range []int64{6, 1000, -5} {
		fp := rawFetch(t, cl, topic, 0, off, 0)
		requireKerr(t, "fetch at offset "+itoa(off)+" of a 5-record log", kerr.ErrorForCode(fp.ErrorCode), kerr.OffsetOutOfRange)
		if len(fp.RecordBatches) != 0 {
			t.Errorf("fetch at %d: %d bytes of records with OFFSET_OUT_OF_RANGE", off, len(fp.RecordBatches))
		}
	}

	fp := rawFetch(t, cl, topic, 0, 5, 0)
	if err := kerr.ErrorForCode(fp.ErrorCode); err != nil {
		t.Fatalf("fetch at the end offset: %v, want no error", err)
	}
	if len(fp.RecordBatches) != 0 || fp.HighWatermark != 5 || fp.LogStartOffset != 0 {
		t.Errorf("fetch at the end offset: %d bytes, high watermark %d, log start %d; want 0 bytes, 5, 0", len(fp.RecordBatches), fp.HighWatermark, fp.LogStartOffset)
	}

	// A consumer told not to reset sees the error.
	consumer := newKgo(t, addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(50)}}),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.FetchMaxWait(100*time.Millisecond))
	ctx := testCtx(t)
	for {
		fs := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("consumer at offset 50 of a 5-record log saw no error before the deadline")
		}
		if len(fs.Records()) > 0 {
			t.Fatalf("consumer at offset 50 of a 5-record log got records: %v", fs.Records())
		}
		if err := fs.Err0(); err != nil {
			requireKerr(t, "consume at offset 50 with no reset policy", err, kerr.OffsetOutOfRange)
			return
		}
	}
}

func itoa(i int64) string { return fmt.Sprint(i) }
