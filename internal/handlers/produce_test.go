package handlers_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/record"
)

// rawProduce sends one Produce v9 request carrying records for
// topic/partition and returns the partition's response.
func (e *admEnv) rawProduce(topic string, partition int32, acks int16, records []byte) kmsg.ProduceResponseTopicPartition {
	e.t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		e.t.Fatalf("produce: %d topics in response", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

func batchOf(values ...string) []byte {
	spec := record.BatchSpec{LeaderEpoch: -1, BaseTimestamp: 1_700_000_000_000}
	for _, v := range values {
		spec.Records = append(spec.Records, record.RecordSpec{Value: []byte(v)})
	}
	return record.Build(spec)
}

// endOffset is the partition's log end offset, by ListOffsets latest.
func (e *admEnv) endOffset(topic string, partition int32) int64 {
	e.t.Helper()
	offs, err := e.adm.ListEndOffsets(e.ctx(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	o, ok := offs.Lookup(topic, partition)
	if !ok || o.Err != nil {
		e.t.Fatalf("end offset of %s/%d: %v", topic, partition, o.Err)
	}
	return o.Offset
}

// TestProduceRejectsBadBatches sends batches a broker must refuse and
// checks the error code, that nothing was written (the end offset does not
// move, not even for the good batch sharing a request with a bad one), and
// that the partition still takes good writes afterwards.
func TestProduceRejectsBadBatches(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("bad", 1, nil)

	corrupt := batchOf("a", "b")
	corrupt[len(corrupt)-1] ^= 0xff // flip a record byte: the CRC no longer matches

	magic1 := batchOf("old")
	magic1[16] = 1 // message format v1

	transactional := record.Build(record.BatchSpec{
		Attributes: record.AttrTransactional, ProducerID: 1, ProducerEpoch: 0, BaseSequence: 0,
		Records: []record.RecordSpec{{Value: []byte("t")}},
	})

	good := batchOf("ok")
	cases := []struct {
		name    string
		records []byte
		want    *kerr.Error
	}{
		{"bad CRC", corrupt, kerr.CorruptMessage},
		{"good batch followed by a bad CRC", append(append([]byte{}, good...), corrupt...), kerr.CorruptMessage},
		{"truncated batch", good[:len(good)-3], kerr.CorruptMessage},
		{"trailing garbage", append(append([]byte{}, good...), 1, 2, 3), kerr.CorruptMessage},
		{"message format v1", magic1, kerr.InvalidRecord},
		{"empty record set", []byte{}, kerr.CorruptMessage},
		{"transactional batch without a transaction", transactional, kerr.InvalidTxnState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.rawProduce("bad", 0, -1, tc.records)
			wantCode(t, tc.name, p.ErrorCode, p.ErrorMessage, tc.want, "")
			if p.BaseOffset != -1 {
				t.Errorf("base offset %d for a refused batch, want -1", p.BaseOffset)
			}
			if end := e.endOffset("bad", 0); end != 0 {
				t.Fatalf("end offset %d after a refused batch: something was written", end)
			}
		})
	}
	p := e.rawProduce("bad", 0, -1, batchOf("x", "y"))
	if p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("good batch after refused ones: code %d base offset %d", p.ErrorCode, p.BaseOffset)
	}
	if end := e.endOffset("bad", 0); end != 2 {
		t.Fatalf("end offset %d, want 2", end)
	}
}

// TestProduceAcksZero checks that acks=0 gets no response (the next
// request's response arrives instead, in order) and that the batch is
// stored.
func TestProduceAcksZero(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("fire", 1, nil)
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = 0
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "fire"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batchOf("1", "2", "3")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// kgo knows acks=0 produce has no response and returns at once.
	if _, err := e.cl.Broker(admNodeID).Request(e.ctx(), req); err != nil {
		t.Fatal(err)
	}
	p := e.rawProduce("fire", 0, 1, batchOf("4"))
	if p.ErrorCode != 0 || p.BaseOffset != 3 {
		t.Fatalf("acks=1 after acks=0: code %d base offset %d, want 0 and 3", p.ErrorCode, p.BaseOffset)
	}
}

// TestProduceUnknownPartition checks UNKNOWN_TOPIC_OR_PARTITION for a
// missing topic (auto-creation never happens on produce) and a partition
// past the topic's count.
func TestProduceUnknownPartition(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("one", 1, nil)
	for _, tc := range []struct {
		topic string
		part  int32
	}{{"one", 1}, {"one", -1}, {"missing", 0}} {
		p := e.rawProduce(tc.topic, tc.part, -1, batchOf("x"))
		wantCode(t, tc.topic, p.ErrorCode, p.ErrorMessage, kerr.UnknownTopicOrPartition, "")
	}
	md, err := e.adm.ListTopics(e.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if md.Has("missing") {
		t.Fatal("produce created a topic")
	}
}

// TestProduceAcksZeroErrorClosesConnection: an acks=0 produce that fails
// gets no response, so the broker closes the connection, as Kafka does.
func TestProduceAcksZeroErrorClosesConnection(t *testing.T) {
	e := admStart(t, nil)
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = 0
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "missing"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batchOf("x")
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("t")).AppendRequest(nil, req, 1)
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %d bytes, err %v: want the connection closed (EOF)", n, err)
	}
}
