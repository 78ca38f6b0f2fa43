package clienttest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchLongPoll sends a Fetch with a 5 s max wait for a partition with
// nothing to read. The broker must hold it (not answer empty at once) and
// answer as soon as a record arrives, well before the max wait, with that
// record. The produce goes over another client's connection while the fetch
// is parked, so it also shows a parked fetch does not block producers.
func TestFetchLongPoll(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "poll"
	createTopic(t, addr, topic, 1, nil)
	fetcher := newKgo(t, addr)
	req := fetchRequest(topic, topicID(t, fetcher, topic), 0, 0, 5*time.Second)

	type result struct {
		p   kmsg.FetchResponseTopicPartition
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	ctx := testCtx(t)
	sent := time.Now()
	go func() {
		p, err := doFetch(ctx, fetcher, req)
		done <- result{p, err, time.Now()}
	}()

	// Nothing can signal that the broker has parked the fetch, so give it a
	// moment; an answer in that moment is itself a failure, as there is
	// nothing to return yet.
	select {
	case r := <-done:
		t.Fatalf("fetch with max wait 5s on an empty partition answered after %v, before any record was produced (err %v, %d bytes)",
			r.at.Sub(sent), r.err, len(r.p.RecordBatches))
	case <-time.After(300 * time.Millisecond):
	}

	produced := produceFranz(t, newKgo(t, addr), &kgo.Record{Topic: topic, Value: []byte("wake up")})
	ackedAt := time.Now()
	requireRecs(t, "produce", produced, []rec{{0, 0, "", "wake up"}})

	r := <-done
	if r.err != nil {
		t.Fatalf("long-poll fetch: %v", r.err)
	}
	if err := kerr.ErrorForCode(r.p.ErrorCode); err != nil {
		t.Fatalf("long-poll fetch: %v", err)
	}
	if waited := r.at.Sub(sent); waited >= 4*time.Second {
		t.Fatalf("long-poll fetch answered after %v (the produce was acknowledged after %v): it waited out its max wait instead of waking on the new record",
			waited, ackedAt.Sub(sent))
	}
	bs := batchesOf(t, r.p.RecordBatches)
	if len(bs) != 1 || bs[0].FirstOffset != 0 || bs[0].NumRecords != 1 || r.p.HighWatermark != 1 {
		t.Fatalf("long-poll fetch: got %d batches (%+v), high watermark %d; want the one record at offset 0, high watermark 1", len(bs), bs, r.p.HighWatermark)
	}
}
