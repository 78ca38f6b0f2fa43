package clienttest

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMessageTooLarge checks that a batch larger than the topic's
// max.message.bytes, or the broker's message.max.bytes for a topic without
// its own limit, is refused with MESSAGE_TOO_LARGE and takes no offset. The
// limit applies to the batch as sent, so a compressed batch that fits is
// accepted even though its records would not.
func TestMessageTooLarge(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, map[string]string{"message.max.bytes": "2000"})
	createTopic(t, addr, "topic-limit", 1, map[string]*string{"max.message.bytes": kadm.StringPtr("1000")})
	createTopic(t, addr, "broker-limit", 1, nil)
	plain := newKgo(t, addr, kgo.DisableIdempotentWrite(), kgo.RecordRetries(1), kgo.ProducerBatchCompression(kgo.NoCompression()))
	gzip := newKgo(t, addr, kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.GzipCompression()))
	ctx := testCtx(t)

	for _, c := range []struct {
		topic string
		size  int
	}{
		{"topic-limit", 1500},  // over the topic's 1000, under the broker's 2000
		{"broker-limit", 3000}, // over the broker's 2000
	} {
		res := plain.ProduceSync(ctx, &kgo.Record{Topic: c.topic, Value: incompressible(c.size)})
		requireKerr(t, c.topic+": uncompressed record too large", res.FirstErr(), kerr.MessageTooLarge)

		small := produceFranz(t, plain, &kgo.Record{Topic: c.topic, Value: []byte("small")})
		requireRecs(t, c.topic+": small record after the refused one", small, []rec{{0, 0, "", "small"}})

		// 20 KB of one byte gzips to well under the limit.
		big := strings.Repeat("y", 20_000)
		requireRecs(t, c.topic+": compressed batch under the limit",
			produceFranz(t, gzip, &kgo.Record{Topic: c.topic, Value: []byte(big)}), []rec{{0, 1, "", big}})
	}
}
