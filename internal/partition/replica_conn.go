package partition

// A replica fetcher's connection to the leader's Kafka listener: plain
// Kafka framing with kmsg doing the encoding, one request at a time. A
// client library would route requests by its own metadata; a fetcher must
// talk to one broker, the one the metadata image names as leader.

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxReplicaResponse bounds a response frame (replica.fetch.response.max.bytes
// plus room for the first batch larger than it, KIP-74, and the framing).
const maxReplicaResponse = 256 << 20

type replicaConn struct {
	addr    string
	nc      net.Conn
	br      *bufio.Reader
	fmt     *kmsg.RequestFormatter
	corr    int32
	timeout time.Duration
	buf     []byte
}

// dialReplica connects to a leader; ending ctx (the fetcher stopping)
// abandons the attempt.
func dialReplica(ctx context.Context, addr string, clientID string, timeout time.Duration) (*replicaConn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return &replicaConn{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 64<<10),
		fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)), timeout: timeout}, nil
}

func (c *replicaConn) close() { _ = c.nc.Close() }

// roundTrip sends req and decodes its response into resp. wait is how
// long the broker may hold the request (a fetch's max wait) on top of the
// socket timeout.
// Ending ctx interrupts it (the connection is then unusable).
func (c *replicaConn) roundTrip(ctx context.Context, req kmsg.Request, resp kmsg.Response, wait time.Duration) error {
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	defer stop()
	c.corr++
	c.buf = c.fmt.AppendRequest(c.buf[:0], req, c.corr)
	_ = c.nc.SetDeadline(time.Now().Add(c.timeout + wait))
	if _, err := c.nc.Write(c.buf); err != nil {
		return err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return err
	}
	size := int32(binary.BigEndian.Uint32(hdr[:4]))
	if size < 4 || size > maxReplicaResponse {
		return fmt.Errorf("replica fetcher: response of %d bytes from %s", size, c.addr)
	}
	if corr := int32(binary.BigEndian.Uint32(hdr[4:])); corr != c.corr {
		return fmt.Errorf("replica fetcher: correlation id %d, want %d", corr, c.corr)
	}
	body := make([]byte, size-4)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return err
	}
	if req.IsFlexible() && req.Key() != 18 { // ApiVersions keeps header v0
		r := kbin.Reader{Src: body}
		for n := r.Uvarint(); n > 0; n-- {
			r.Uvarint()
			r.Span(int(r.Uvarint()))
		}
		if !r.Ok() {
			return fmt.Errorf("replica fetcher: bad response header from %s", c.addr)
		}
		body = r.Src
	}
	resp.SetVersion(req.GetVersion())
	return resp.ReadFrom(body)
}
