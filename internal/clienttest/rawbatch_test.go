package clienttest

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batchSpec describes a magic v2 record batch built by hand, for requests no
// client would send on its own (replays, sequence gaps, corrupt CRCs).
type batchSpec struct {
	producerID    int64 // -1 for a non-idempotent batch
	producerEpoch int16
	firstSequence int32
	values        []string
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode returns the batch's wire bytes with a correct length and CRC-32C.
func (s batchSpec) encode() []byte {
	now := time.Now().UnixMilli()
	var records []byte
	for i, v := range s.values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		body := r.AppendTo(nil)[1:] // Length 0 encodes as the single varint byte 0
		r.Length = int32(len(body))
		records = r.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(s.values) - 1),
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           s.producerID,
		ProducerEpoch:        s.producerEpoch,
		FirstSequence:        s.firstSequence,
		NumRecords:           int32(len(s.values)),
		Records:              records,
	}
	if s.producerID < 0 {
		b.ProducerEpoch, b.FirstSequence = -1, -1
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:12], uint32(len(raw)-12))                   // length: everything after itself
	binary.BigEndian.PutUint32(raw[17:21], crc32.Checksum(raw[21:], castagnoli)) // CRC: attributes to end
	return raw
}

// rawProduce sends one batch to topic/partition with acks=all and returns
// the partition's response. cl must use the default acks (all): kgo rewrites
// a raw produce request's acks to the client's setting.
func rawProduce(t *testing.T, cl *kgo.Client, topic string, partition int32, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rt.TopicID = topicID(t, cl, topic)
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("produce request to %s/%d: %v", topic, partition, err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce to %s/%d: want 1 topic with 1 partition, got %+v", topic, partition, resp.Topics)
	}
	return resp.Topics[0].Partitions[0]
}

// initProducerID asks the broker for a new idempotent producer ID and epoch.
func initProducerID(t *testing.T, cl *kgo.Client) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionTimeoutMillis = -1
	req.ProducerID = -1
	req.ProducerEpoch = -1
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("init producer id: %v", err)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("init producer id: error code %d", resp.ErrorCode)
	}
	if resp.ProducerID < 0 || resp.ProducerEpoch < 0 {
		t.Fatalf("init producer id: got id %d epoch %d, want both >= 0", resp.ProducerID, resp.ProducerEpoch)
	}
	return resp.ProducerID, resp.ProducerEpoch
}
