package clienttest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestLogAppendTime checks message.timestamp.type=LogAppendTime: consumers
// see the broker's append time, flagged as such, instead of the producer's
// timestamp. The broker rewrites the batch's max timestamp and so must
// recompute its CRC (DESIGN §4); franz-go verifies CRCs, so a stale one
// fails the consume.
func TestLogAppendTime(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "appended"
	createTopic(t, addr, topic, 1, map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")})
	old := time.UnixMilli(1_000_000_000_000) // 2001, far from now
	before := time.Now().Add(-time.Second)
	for _, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.ZstdCompression()} {
		cl := newKgo(t, addr, kgo.ProducerBatchCompression(codec))
		produceFranz(t, cl, &kgo.Record{Topic: topic, Value: []byte("a"), Timestamp: old}, &kgo.Record{Topic: topic, Value: []byte("b"), Timestamp: old})
	}
	after := time.Now().Add(time.Second)

	consumer := newKgo(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	ctx := testCtx(t)
	var got []*kgo.Record
	for len(got) < 4 {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume: %v (after %d records)", err, len(got))
		}
		got = append(got, fs.Records()...)
	}
	for _, r := range got {
		if r.Attrs.TimestampType() != 1 {
			t.Errorf("record %d: timestamp type %d, want 1 (LogAppendTime)", r.Offset, r.Attrs.TimestampType())
		}
		if r.Timestamp.Before(before) || r.Timestamp.After(after) {
			t.Errorf("record %d: timestamp %v, want the append time, between %v and %v", r.Offset, r.Timestamp, before, after)
		}
	}
}
