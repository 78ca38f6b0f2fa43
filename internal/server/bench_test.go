package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/record"
)

// benchBroker starts a broker with one single-partition topic and returns
// a conn whose responses go to io.Discard, so a benchmark drives the whole
// request path (decode, handler, partition, storage, encode) without the
// network.
func benchBroker(b *testing.B, topic string) (*Broker, *conn) {
	cfg, err := config.NewBroker(map[string]string{"listeners": "127.0.0.1:0", "log.dirs": b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	br, err := New(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	err = br.meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		return metadata.CreateTopicRecords(img, cfg, metadata.TopicSpec{Name: topic, NumPartitions: 1, ReplicationFactor: 1})
	})
	if err != nil {
		b.Fatal(err)
	}
	// A real loopback connection, drained by a goroutine, so fetches go
	// out through sendfile as they do in service.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, client); close(done) }()
	b.Cleanup(func() { srv.Close(); client.Close(); <-done })
	c := &conn{b: br, nc: srv, log: slog.New(slog.DiscardHandler), w: bufio.NewWriterSize(srv, 64<<10)}
	return br, c
}

func recordsBatch(n, size int) []byte {
	spec := record.BatchSpec{LeaderEpoch: -1, BaseTimestamp: 1}
	for i := 0; i < n; i++ {
		spec.Records = append(spec.Records, record.RecordSpec{Value: make([]byte, size)})
	}
	return record.Build(spec)
}

// replayReader returns frame (with its size prefix) n times, then EOF: a
// client that pipelines the same request.
type replayReader struct {
	frame []byte
	n     int
	off   int
}

func (r *replayReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.frame[r.off:])
	r.off += k
	if r.off == len(r.frame) {
		r.off = 0
		r.n--
	}
	return k, nil
}

// serveReplay runs c's read-handle-write loop over n copies of the
// (size-prefixed) request frame.
func serveReplay(b *testing.B, c *conn, frame []byte, n int) {
	c.r = bufio.NewReaderSize(&replayReader{frame: frame, n: n}, 64<<10)
	if err := c.serve(context.Background()); err != io.EOF {
		b.Fatal(err)
	}
	if err := c.w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkProduceRequest measures one Produce request of a ~16 KiB batch
// through the broker's whole request loop: frame read (from memory, not a
// socket), decode, handler, log append, response. allocs/op is per
// request; it must not grow with the number of records in the batch.
func BenchmarkProduceRequest(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			_, c := benchBroker(b, "t")
			batch := recordsBatch(16384/(size+10), size)
			req := kmsg.NewPtrProduceRequest()
			req.Version = 9
			req.Acks = 1
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = "t"
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Records = batch
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			serveReplay(b, c, frame, b.N)
		})
	}
}

// BenchmarkFetchRequest measures Fetch requests reading ~1 MiB each from
// the start of a log.
func BenchmarkFetchRequest(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			br, c := benchBroker(b, "t")
			batch := recordsBatch(16384/(size+10), size)
			p := br.parts.Get("t", 0)
			for i := 0; i < 128; i++ {
				if _, err := p.Append(append([]byte(nil), batch...), 1); err != nil {
					b.Fatal(err)
				}
			}
			req := kmsg.NewPtrFetchRequest()
			req.Version = 11
			req.ReplicaID = -1
			req.MaxBytes = 1 << 20
			req.SessionEpoch = -1
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = "t"
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.PartitionMaxBytes = 1 << 20
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)
			b.SetBytes(1 << 20)
			b.ReportAllocs()
			b.ResetTimer()
			serveReplay(b, c, frame, b.N)
		})
	}
}
