package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestUnknownTopic checks that with auto.create.topics.enable=false a
// missing topic or partition is UNKNOWN_TOPIC_OR_PARTITION everywhere, and
// that asking about it (even with the request's allow-auto-creation flag
// set) does not create it.
func TestUnknownTopic(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, map[string]string{"auto.create.topics.enable": "false"})
	cl := newKgo(t, addr, kgo.UnknownTopicRetries(1), kgo.AllowAutoTopicCreation())
	ctx := testCtx(t)

	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("missing")
	md.Topics = append(md.Topics, mt)
	md.AllowAutoTopicCreation = true
	for range 2 { // the second look must not find a topic the first created
		resp, err := md.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("metadata: %v", err)
		}
		if len(resp.Topics) != 1 {
			t.Fatalf("metadata for one missing topic: got %d topics", len(resp.Topics))
		}
		requireKerr(t, "metadata for a missing topic", kerr.ErrorForCode(resp.Topics[0].ErrorCode), kerr.UnknownTopicOrPartition)
	}

	res := cl.ProduceSync(ctx, &kgo.Record{Topic: "missing", Value: []byte("x")})
	requireKerr(t, "produce to a missing topic", res.FirstErr(), kerr.UnknownTopicOrPartition)

	_, err := listOffsetErr(t, cl, "missing", 0, -1)
	requireKerr(t, "list offsets of a missing topic", err, kerr.UnknownTopicOrPartition)

	// A partition past the topic's count is unknown too.
	createTopic(t, addr, "one", 1, nil)
	p := rawProduce(t, newKgo(t, addr), "one", 5, batchSpec{producerID: -1, values: []string{"x"}}.encode())
	requireKerr(t, "produce to partition 5 of a 1-partition topic", kerr.ErrorForCode(p.ErrorCode), kerr.UnknownTopicOrPartition)
	_, err = listOffsetErr(t, cl, "one", 5, -1)
	requireKerr(t, "list offsets of partition 5 of a 1-partition topic", err, kerr.UnknownTopicOrPartition)
	fp, err := doFetch(ctx, cl, fetchRequest("one", topicID(t, cl, "one"), 5, 0, 0))
	if err != nil {
		t.Fatalf("fetch partition 5: %v", err)
	}
	requireKerr(t, "fetch partition 5 of a 1-partition topic", kerr.ErrorForCode(fp.ErrorCode), kerr.UnknownTopicOrPartition)
}
