package clienttest

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzProduceConsume produces keyed records with franz-go and reads them
// back without a group: from the start, from an offset, and from the end.
func TestFranzProduceConsume(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "events"
	createTopic(t, addr, topic, 3, nil)
	cl := newKgo(t, addr)

	acked := produceFranz(t, cl, keyed(topic, "a", 30)...)
	parts := byPartition(acked)
	for p, rs := range parts {
		for i, r := range rs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: record %d acknowledged at offset %d, want dense offsets from 0: %v", p, i, r.Offset, rs)
			}
		}
	}

	// The same keys again go to the same partitions, after the first copies.
	again := produceFranz(t, cl, keyed(topic, "a", 30)...)
	for i := range again {
		if again[i].Partition != acked[i].Partition {
			t.Fatalf("key %q: first to partition %d, then to %d", again[i].Key, acked[i].Partition, again[i].Partition)
		}
	}
	all := byPartition(append(slices.Clone(acked), again...))

	for p := range int32(3) {
		want := all[p]
		got := consumeFranz(t, addr, topic, p, kgo.NewOffset().AtStart(), len(want))
		requireRecs(t, "consume from start", got, want)

		if len(want) > 3 {
			got = consumeFranz(t, addr, topic, p, kgo.NewOffset().At(3), len(want)-3)
			requireRecs(t, "consume from offset 3", got, want[3:])
		}
	}
	if ends := endOffsets(t, addr, topic); ends[0]+ends[1]+ends[2] != 60 {
		t.Fatalf("end offsets %v sum to %d, want 60", ends, ends[0]+ends[1]+ends[2])
	}
}

// TestFranzRecordFieldsRoundTrip checks that headers, a nil key, an empty
// value and the producer's timestamp come back unchanged.
func TestFranzRecordFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "fields"
	createTopic(t, addr, topic, 1, nil)
	ts := time.UnixMilli(1_700_000_000_123)
	in := []*kgo.Record{
		{Topic: topic, Key: []byte("k"), Value: []byte("v"), Timestamp: ts, Headers: []kgo.RecordHeader{
			{Key: "h1", Value: []byte("one")}, {Key: "h2", Value: nil}, {Key: "h1", Value: []byte("again")},
		}},
		{Topic: topic, Key: nil, Value: []byte("no key"), Timestamp: ts.Add(time.Second)},
		{Topic: topic, Key: []byte("empty value"), Value: []byte{}, Timestamp: ts.Add(2 * time.Second)},
	}
	produceFranz(t, newKgo(t, addr), in...)

	cl := newKgo(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	var got []*kgo.Record
	ctx := testCtx(t)
	for len(got) < len(in) {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v (got %d records)", err, len(got))
		}
		got = append(got, fs.Records()...)
	}
	for i, r := range got {
		w := in[i]
		if r.Offset != int64(i) || !slices.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) ||
			string(r.Value) != string(w.Value) || !r.Timestamp.Equal(w.Timestamp) {
			t.Errorf("record %d: got offset %d key %q (nil %v) value %q ts %v; want offset %d key %q (nil %v) value %q ts %v",
				i, r.Offset, r.Key, r.Key == nil, r.Value, r.Timestamp.UnixMilli(), i, w.Key, w.Key == nil, w.Value, w.Timestamp.UnixMilli())
		}
		if r.Attrs.TimestampType() != 0 {
			t.Errorf("record %d: timestamp type %d, want 0 (CreateTime)", i, r.Attrs.TimestampType())
		}
		if len(r.Headers) != len(w.Headers) {
			t.Errorf("record %d: %d headers, want %d", i, len(r.Headers), len(w.Headers))
			continue
		}
		for j, h := range r.Headers {
			if h.Key != w.Headers[j].Key || string(h.Value) != string(w.Headers[j].Value) {
				t.Errorf("record %d header %d: got %q=%q, want %q=%q", i, j, h.Key, h.Value, w.Headers[j].Key, w.Headers[j].Value)
			}
		}
	}
}
