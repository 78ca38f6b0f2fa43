package clienttest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzCompaction produces keyed records (overwrites and tombstones)
// to a cleanup.policy=compact topic with small segments and waits for the
// log cleaner: a consumer reading from the beginning then gets exactly the
// last record of every key at its original offset, tombstones included;
// after delete.retention.ms the tombstones are gone too. A record without
// a key is refused with INVALID_RECORD.
func TestFranzCompaction(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, map[string]string{"log.cleaner.backoff.ms": "50"})
	const topic = "compacted"
	createTopic(t, addr, topic, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr("4096"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
		"delete.retention.ms":       kadm.StringPtr("5000"),
	})
	// An idempotent producer whose only batch is superseded: the cleaner
	// keeps that batch, emptied, as the producer's last (Kafka's rule), so
	// the consumers below meet an empty batch at offset 0.
	early := newKgo(t, addr, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	var batch []*kgo.Record
	for k := range 20 {
		batch = append(batch, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%02d", k)), Value: []byte("early")})
	}
	all := produceFranz(t, early, batch...)
	early.Close()

	cl := newKgo(t, addr, kgo.ProducerBatchCompression(kgo.ZstdCompression()))

	for round := range 30 {
		var batch []*kgo.Record
		for k := range 20 {
			r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%02d", k)), Value: []byte(fmt.Sprintf("round-%02d-%x", round, incompressible(40)))}
			if round == 29 && k < 3 {
				r.Value = nil // tombstones: the last word on keys 0-2
			}
			batch = append(batch, r)
		}
		all = append(all, produceFranz(t, cl, batch...)...)
	}
	// Unique keys push the data above out of the active segment, which
	// the cleaner never touches.
	for i := range 40 {
		all = append(all, produceFranz(t, cl, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("filler-%02d", i)), Value: incompressible(100)})...)
	}
	end := endOffsets(t, addr, topic)[0]

	res := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: topic, Value: []byte("no key")})
	requireKerr(t, "a record without a key on a compacted topic", res.FirstErr(), kerr.InvalidRecord)

	withTombstones := lastPerKey(all)
	var withoutTombstones []rec
	for _, r := range withTombstones {
		if r.Value != "" {
			withoutTombstones = append(withoutTombstones, r)
		}
	}
	if len(all) != 20+600+40 || len(withTombstones) != 60 || len(withoutTombstones) != 57 {
		t.Fatalf("model: %d and %d records", len(withTombstones), len(withoutTombstones))
	}

	readAll := func() []rec { return consumeTo(t, addr, topic, end) }
	var got []rec
	waitFor(t, "the cleaner to leave one record per key", func() bool {
		got = readAll()
		return len(got) <= len(withTombstones)
	})
	if !slices.Equal(got, withTombstones) && !slices.Equal(got, withoutTombstones) {
		requireRecs(t, "compacted topic read from the beginning", got, withTombstones)
	}
	waitFor(t, "tombstones to go after delete.retention.ms", func() bool {
		got = readAll()
		return len(got) == len(withoutTombstones)
	})
	requireRecs(t, "compacted topic after the delete horizon", got, withoutTombstones)
	batches := batchesOf(t, rawFetch(t, cl, topic, 0, 0, 0).RecordBatches)
	if len(batches) == 0 || batches[0].FirstOffset != 0 || batches[0].NumRecords != 0 || batches[0].LastOffsetDelta != 19 || batches[0].ProducerID < 0 {
		t.Fatalf("the early producer's batch is not kept empty: %+v", batches[0])
	}
	// Other clients read the gaps and the empty batch the same way.
	requireRecs(t, "sarama reading the compacted topic", consumeSarama(t, addr, topic, 0, sarama.OffsetOldest, len(withoutTombstones)), withoutTombstones)
	requireRecs(t, "kafka-go reading the compacted topic", consumeKafkaGo(t, addr, topic, 0, kafka.FirstOffset, len(withoutTombstones)), withoutTombstones)
	if end2 := endOffsets(t, addr, topic)[0]; end2 != end {
		t.Fatalf("end offset moved from %d to %d", end, end2)
	}
}

// lastPerKey keeps the last record of every key, in offset order; a
// tombstone is a record with an empty value here (rec holds strings).
func lastPerKey(recs []rec) []rec {
	last := map[string]int64{}
	for _, r := range recs {
		last[r.Key] = r.Offset
	}
	var out []rec
	for _, r := range recs {
		if last[r.Key] == r.Offset {
			out = append(out, r)
		}
	}
	return out
}

// consumeTo reads partition 0 of topic from the start until end with a
// fresh client and returns every record.
func consumeTo(t *testing.T, addr, topic string, end int64) []rec {
	t.Helper()
	ctx := testCtx(t)
	cl := newKgo(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	defer cl.Close()
	var out []rec
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: deadline with %d records", topic, len(out))
		}
		for _, e := range fs.Errors() {
			t.Fatalf("consume %s: %v", topic, e.Err)
		}
		done := false
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			for _, r := range p.Records {
				out = append(out, recOf(r))
			}
			// NB: the high watermark, not the last record: compaction may
			// have removed the records just below the end.
			done = done || p.HighWatermark >= end && len(p.Records) > 0 && p.Records[len(p.Records)-1].Offset == end-1
		})
		if done {
			return out
		}
	}
}
